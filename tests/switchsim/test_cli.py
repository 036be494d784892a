"""The command line: one call and a bounded load run against a scripted controller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from switchsim.cli import main
from tests.switchsim.esl_stub import Session, StubController, standard_start


def bridge_destination(s: Session) -> None:
    data = standard_start(s)
    s.execute("bridge", f"user/{data['Caller-Destination-Number']}@example.com")
    while True:
        ev = s.wait_event_any(("CHANNEL_BRIDGE", "CHANNEL_EXECUTE_COMPLETE"), timeout=10)
        if ev["Event-Name"] == "CHANNEL_EXECUTE_COMPLETE":
            break
    if "Hangup-Cause" not in ev:
        s.execute("hangup")
    s.wait_event("CHANNEL_HANGUP_COMPLETE", timeout=10)


@pytest.fixture
def controller() -> Iterator[StubController]:
    stub = StubController(bridge_destination)
    yield stub
    stub.stop()


def test_call_prints_what_rang(
    controller: StubController, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "call",
            "--controller",
            controller.address,
            "--from",
            "1000",
            "--to",
            "1001",
            "--answer",
            "user/1001@example.com=2",
            "--talk",
            "1",
            "--time-scale",
            "0.01",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "bridge 1: user/1001@example.com -> SUCCESS" in out
    assert "leg user/1001@example.com: answered, cause NORMAL_CLEARING" in out
    assert "hangup cause: NORMAL_CLEARING" in out


def test_call_to_busy_target(
    controller: StubController, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        [
            "call",
            "--controller",
            controller.address,
            "--from",
            "1000",
            "--to",
            "1002",
            "--busy",
            "user/1002@example.com",
            "--time-scale",
            "0.01",
        ]
    )
    out = capsys.readouterr().out
    assert "leg user/1002@example.com: not answered, cause USER_BUSY" in out
    assert "hangup cause: USER_BUSY" in out


def test_load_is_bounded_and_reports_latency(
    controller: StubController, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "load",
            "--controller",
            controller.address,
            "--cps",
            "20",
            "--duration",
            "0.5",
            "--answer-ratio",
            "1",
            "--answer-after",
            "1",
            "--talk",
            "1",
            "--time-scale",
            "0.01",
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "calls placed: 10, completed: 10, failures: 0" in out
    assert "calls that reached a bridge: 10" in out
    assert "p50" in out and "n/a" not in out
