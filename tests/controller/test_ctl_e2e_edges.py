"""Edges of the controller: overload, slow or failing planning, hostile FreeSWITCH frames."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import structlog
from gevent import socket

from controller import call_channel
from controller.errors import DatabaseUnavailable, routing_error
from switchsim import Behaviour, Switch
from tests.controller.harness import (
    StubPlanner,
    bridge,
    leg,
    make_settings,
    plan,
    start_controller,
    wait_for,
)

A = "user/1001@example.com"
# pipelined in one write: connect, myevents narrowed by nixevent, linger
HELLO = f"connect\n\nmyevents\n\nnixevent {call_channel.NIXED_EVENTS}\n\nlinger 30\n\n".encode()


@pytest.fixture
def switch() -> Iterator[Switch]:
    sw = Switch(time_scale=0.01, hostname="sim1")
    yield sw
    sw.close()


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Any]:
    started: list[Any] = []

    def make(planner: Any, **settings: Any) -> Any:
        ctl = start_controller(make_settings(tmp_path / f"s{len(started)}", **settings), planner)
        started.append(ctl)
        return ctl

    yield make
    for ctl in started:
        ctl.stop(grace=1)


def place(sw: Switch, ctl: Any, **kw: Any) -> Any:
    host, port = ctl.address
    args: dict[str, Any] = {
        "destination": "+4930123456",
        "caller_number": "+4917012345",
        "caller_name": "Alice",
        "domain": "example.com",
        "variables": {"socket_resume": "true"},
    }
    args.update(kw)
    return sw.place_call(controllers=f"{host}:{port}", **args)


def test_over_max_calls_the_dialplan_fallback_runs(switch: Switch, controller: Any) -> None:
    switch.endpoints.set(A, Behaviour.no_answer())
    ctl = controller(StubPlanner(lambda c: plan(bridge("simultaneous", [leg(A)]))), max_calls=1)
    first = place(switch, ctl)
    wait_for(lambda: switch.legs, what="the first call to ring")
    second = place(switch, ctl).wait(timeout=10)
    assert second.fallback_ran
    assert ctl.metrics.calls.labels("rejected")._value.get() == 1
    first.hangup()
    first.wait(timeout=10)


def test_slow_planning_gives_the_fallback_within_the_budget(
    switch: Switch, controller: Any
) -> None:
    def slow(call: dict[str, Any]) -> Any:
        gevent.sleep(5)
        return plan(bridge("simultaneous", [leg(A)]))

    ctl = controller(StubPlanner(slow), plan_timeout=0.2)
    t0 = time.monotonic()
    result = place(switch, ctl).wait(timeout=10)
    assert time.monotonic() - t0 < 2
    assert ("transfer", "fallback XML fallback") in result.apps
    assert result.bridges == []


def test_database_unavailable_gives_the_fallback(switch: Switch, controller: Any) -> None:
    def down(call: dict[str, Any]) -> Any:
        raise DatabaseUnavailable("connection refused")

    result = place(switch, controller(StubPlanner(down))).wait(timeout=10)
    assert ("transfer", "fallback XML fallback") in result.apps


def test_routing_error_hangs_up_with_its_cause(switch: Switch, controller: Any) -> None:
    def refuse(call: dict[str, Any]) -> Any:
        raise routing_error("HM004", "call lacks domain")

    result = place(switch, controller(StubPlanner(refuse))).wait(timeout=10)
    assert result.hangup_cause == "INVALID_NUMBER_FORMAT"
    assert not result.fallback_ran


def test_no_database_configured_every_call_gets_the_fallback(
    switch: Switch, controller: Any
) -> None:
    result = place(switch, controller(None)).wait(timeout=10)
    assert ("transfer", "fallback XML fallback") in result.apps


def fake_freeswitch(ctl: Any, first_reply: bytes | None) -> tuple[bytes, float]:
    """Connect like FreeSWITCH, answer ``connect`` with ``first_reply``; return what we got."""
    t0 = time.monotonic()
    sock = socket.create_connection(ctl.address, timeout=5)
    got = b""
    try:
        while not got.endswith(HELLO):
            got += sock.recv(4096)
        if first_reply is not None:
            sock.sendall(first_reply)
        while True:
            data = sock.recv(4096)
            if not data:
                break
            got += data
    except OSError:
        pass
    finally:
        sock.close()
    return got, time.monotonic() - t0


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"Content-Type: command/reply\nContent-Length: -1\n\n", id="negative"),
        pytest.param(b"Content-Type: api/response\nContent-Length: 2147483648\n\n", id="huge"),
        pytest.param(b"Content-Type: command/reply\nContent-Length: abc\n\n", id="garbage"),
        pytest.param(b"X: " + b"a" * (2 * 1024 * 1024), id="endless-header"),
    ],
)
def test_hostile_frames_end_the_session_cleanly(
    switch: Switch, controller: Any, reply: bytes
) -> None:
    ctl = controller(StubPlanner(lambda c: plan()))
    got, elapsed = fake_freeswitch(ctl, reply)
    assert got == HELLO  # nothing else was sent, the socket was closed
    assert elapsed < 3
    wait_for(lambda: ctl.server.active == 0, what="the session to end")
    # the server still serves calls
    result = place(switch, ctl).wait(timeout=10)
    assert result.hangup_cause == "NO_ROUTE_DESTINATION"


def test_silent_freeswitch_times_out(controller: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_channel, "COMMAND_TIMEOUT", 0.3)
    ctl = controller(StubPlanner(lambda c: plan()))
    got, elapsed = fake_freeswitch(ctl, None)
    assert got == HELLO
    assert elapsed < 3
    assert ctl.metrics.calls.labels("error")._value.get() == 1


def test_every_log_line_of_a_call_carries_its_uuid(switch: Switch, controller: Any) -> None:
    events: list[dict[str, Any]] = []

    def capture(_logger: Any, _name: str, event_dict: dict[str, Any]) -> Any:
        events.append(dict(event_dict))
        raise structlog.DropEvent

    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    try:
        switch.endpoints.set(A, Behaviour.answer(after=1, hangup_after=1))
        ctl = controller(StubPlanner(lambda c: plan(bridge("simultaneous", [leg(A)]))))
        calls = [place(switch, ctl, caller_number=f"+4917000{i}") for i in range(3)]
        results = [c.wait(timeout=10) for c in calls]
        wait_for(lambda: sum(e["event"] == "call_end" for e in events) == 3, what="3 call_end")
    finally:
        structlog.reset_defaults()
    per_call = [e for e in events if e["event"].startswith(("call_", "bridge_"))]
    assert per_call
    assert {e["call_uuid"] for e in per_call} == {r.uuid for r in results}
    for r in results:
        mine = [e["event"] for e in per_call if e["call_uuid"] == r.uuid]
        assert mine == ["call_planned", "bridge_start", "bridge_end", "call_end"]


def test_metrics_follow_calls(switch: Switch, controller: Any) -> None:
    switch.endpoints.set(A, Behaviour.busy())
    ctl = controller(StubPlanner(lambda c: plan(bridge("simultaneous", [leg(A)]))))
    place(switch, ctl).wait(timeout=10)
    m = ctl.metrics
    wait_for(lambda: m.calls.labels("busy")._value.get() == 1, what="the call counted")
    assert m.bridge_outcomes.labels("USER_BUSY")._value.get() == 1
    assert m.active_calls._value.get() == 0
    assert m.cdr_spool_depth._value.get() == 1  # no database: the CDR waits in the spool
    assert m.connect_to_bridge._sum.get() > 0
