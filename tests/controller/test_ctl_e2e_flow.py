"""The controller driven by the FreeSWITCH emulator over real sockets (planning stubbed).

These tests pin the controller's behaviour on the wire: the command transcript, the dial
strings, the legs rung and their timers, how each call ends, and the CDR spooled for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller import call_channel
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
B = "user/1002@example.com"
C = "user/1003@example.com"


@pytest.fixture
def switch() -> Iterator[Switch]:
    # 1 simulated second = 30 ms: timer assertions stay well above scheduling jitter
    sw = Switch(time_scale=0.03, hostname="sim1")
    yield sw
    sw.close()


class Rig:
    def __init__(self, switch: Switch, tmp: Path, plan_doc: Any) -> None:
        self.switch = switch
        self.planner = StubPlanner(lambda call: plan_doc)
        self.ctl = start_controller(make_settings(tmp / "spool"), self.planner)
        host, port = self.ctl.address
        self.target = f"{host}:{port}"

    def call(self, **kw: Any) -> Any:
        args: dict[str, Any] = {
            "destination": "+4930123456",
            "caller_number": "+4917012345",
            "caller_name": "Alice",
            "domain": "example.com",
            "variables": {"socket_resume": "true"},
        }
        args.update(kw)
        return self.switch.place_call(controllers=self.target, **args)

    def cdrs(self) -> list[dict[str, Any]]:
        path = Path(self.ctl.settings.cdr_spool) / "spool.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def stop(self) -> None:
        self.ctl.stop(grace=1)


@pytest.fixture
def rig(switch: Switch, tmp_path: Path) -> Iterator[Any]:
    rigs: list[Rig] = []

    def make(plan_doc: Any) -> Rig:
        r = Rig(switch, tmp_path / str(len(rigs)), plan_doc)
        rigs.append(r)
        return r

    yield make
    for r in rigs:
        r.stop()


def sendmsgs(result: Any) -> list[Any]:
    return [c for c in result.commands if c.name == "sendmsg"]


def test_simultaneous_answer_transcript_and_cdr(rig: Any, switch: Switch) -> None:
    switch.endpoints.set(A, Behaviour.answer(after=2, hangup_after=5))
    switch.endpoints.set(B, Behaviour.no_answer())
    r = rig(plan(bridge("simultaneous", [leg(A, device_id=7), leg(B, device_id=8)])))
    result = r.call().wait(timeout=10)
    names = result.command_names()
    # sched_cancel first: it disarms the dialplan's hand-over watchdog (freeswitch/dialplan).
    assert names == [
        "connect",
        "myevents",
        "nixevent",
        "linger",
        "execute sched_cancel",
        "execute set",
        "execute bridge",
        "hangup",
    ]
    assert result.answered_by == A
    # myevents narrowed by nixevent: FreeSWITCH sends only the events the handler reads
    assert set(result.events) <= call_channel.CALL_EVENTS
    assert {"CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP_COMPLETE"} <= set(result.events)
    (bridge_rec,) = result.bridges
    assert sorted(lg.target for lg in bridge_rec.legs) == [A, B]
    # the bridge went as a length-framed body, with an Event-UUID echoed back
    cmd = sendmsgs(result)[2]  # sched_cancel, set, bridge
    assert cmd.header("execute-app-name") == "bridge"
    assert cmd.header("content-type") == "text/plain"
    assert cmd.header("Event-UUID") == bridge_rec.application_uuid
    assert "execute-app-arg" not in {k.lower() for k in cmd.headers}
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert not result.fallback_ran
    (cdr,) = wait_for(r.cdrs, what="the CDR")
    assert cdr["uuid"] == result.uuid
    assert cdr["disposition"] == "answered"
    assert cdr["answered_by"] == {"target": A, "device_id": 7}
    assert [(lg["target"], lg["outcome"]) for lg in cdr["legs"]] == [
        (A, "answered"),
        (B, "lose_race"),
    ]
    assert abs(cdr["billsec"] - 5) <= 1  # simulated seconds (jitter)


def leg_vars(switch: Switch, target: str) -> dict[str, str]:
    (rec,) = [lg for lg in switch.legs if lg.target == target]
    return rec.variables


def started(switch: Switch, target: str) -> float:
    (rec,) = [lg for lg in switch.legs if lg.target == target]
    assert rec.started_at is not None
    return rec.started_at


def test_simultaneous_rings_all_with_per_leg_timers(rig: Any, switch: Switch) -> None:
    switch.endpoints.set(A, Behaviour.no_answer())
    switch.endpoints.set(B, Behaviour.answer(after=1, hangup_after=2))
    r = rig(plan(bridge("simultaneous", [leg(A, timeout=20), leg(B, timeout=15, delay=3)])))
    result = r.call().wait(timeout=10)
    assert result.answered_by == B
    assert leg_vars(switch, A)["leg_timeout"] == "20"
    assert leg_vars(switch, B)["leg_timeout"] == "15"
    assert leg_vars(switch, B)["leg_delay_start"] == "3"
    assert leg_vars(switch, A)["ignore_early_media"] == "true"
    assert leg_vars(switch, A)["origination_caller_id_name"] == "Alice"
    assert leg_vars(switch, A)["sip_h_X-Huntsman-Call"] == result.uuid
    assert started(switch, B) - started(switch, A) == pytest.approx(3, abs=0.8)


def test_sequential_rings_in_order_and_moves_on_after_leg_timeout(rig: Any, switch: Switch) -> None:
    switch.endpoints.set(A, Behaviour.no_answer())
    switch.endpoints.set(B, Behaviour.busy())
    switch.endpoints.set(C, Behaviour.answer(after=1, hangup_after=1))
    r = rig(plan(bridge("sequential", [leg(A, timeout=4), leg(B, timeout=10), leg(C)])))
    result = r.call().wait(timeout=10)
    assert [lg.target for lg in switch.legs] == [A, B, C]
    assert started(switch, B) - started(switch, A) == pytest.approx(4, abs=0.8)
    assert result.answered_by == C
    (cdr,) = wait_for(r.cdrs, what="the CDR")
    assert [(lg["target"], lg["outcome"]) for lg in cdr["legs"]] == [
        (A, "no_answer"),
        (B, "busy"),
        (C, "answered"),
    ]


def test_enterprise_uses_originate_timers(rig: Any, switch: Switch) -> None:
    switch.endpoints.set(A, Behaviour.no_answer())
    switch.endpoints.set(B, Behaviour.answer(after=1, hangup_after=1))
    r = rig(plan(bridge("enterprise", [leg(A, timeout=10), leg(B, timeout=12, delay=2)])))
    result = r.call().wait(timeout=10)
    assert result.answered_by == B
    assert ":_:" in result.bridges[0].dial_string
    b_vars = leg_vars(switch, B)
    assert (b_vars["originate_timeout"], b_vars["originate_delay_start"]) == ("12", "2")
    assert "leg_timeout" not in b_vars
    assert started(switch, B) - started(switch, A) == pytest.approx(2, abs=0.8)


@pytest.mark.parametrize(
    ("behaviour", "cause", "disposition"),
    [
        pytest.param(Behaviour.busy(), "USER_BUSY", "busy", id="busy"),
        pytest.param(Behaviour.no_answer(), "NO_ANSWER", "no_answer", id="no-answer"),
        pytest.param(Behaviour.reject(), "CALL_REJECTED", "failed", id="reject"),
        pytest.param(Behaviour.unregistered(), "USER_NOT_REGISTERED", "failed", id="unregistered"),
    ],
)
def test_failure_moves_to_next_step_then_hangs_up_with_its_cause(
    rig: Any, switch: Switch, behaviour: Any, cause: str, disposition: str
) -> None:
    switch.endpoints.set(A, behaviour)
    switch.endpoints.set(B, behaviour)
    r = rig(plan(bridge("simultaneous", [leg(A, timeout=5)]), bridge("sequential", [leg(B)])))
    result = r.call().wait(timeout=10)
    assert [lg.target for lg in switch.legs] == [A, B]
    assert result.command_names()[-3:] == ["execute bridge", "execute bridge", "hangup"]
    hangup = sendmsgs(result)[-1]
    assert hangup.header("hangup-cause") == cause
    assert result.hangup_cause == cause
    assert not result.fallback_ran
    (cdr,) = wait_for(r.cdrs, what="the CDR")
    assert cdr["disposition"] == disposition
    assert [lg["step"] for lg in cdr["legs"]] == [0, 1]


def test_overflow_to_voicemail_after_busy(rig: Any, switch: Switch) -> None:
    switch.endpoints.set(A, Behaviour.busy())
    r = rig(
        plan(
            bridge("simultaneous", [leg(A)]),
            {"type": "voicemail", "mailbox": "1001", "domain": "example.com"},
        )
    )
    result = r.call().wait(timeout=10)
    assert ("voicemail", "default example.com 1001") in result.apps
    (cdr,) = wait_for(r.cdrs, what="the CDR")
    assert cdr["disposition"] == "busy"


def test_caller_hangs_up_while_agents_ring(rig: Any, switch: Switch) -> None:
    switch.endpoints.set(A, Behaviour.no_answer())
    switch.endpoints.set(B, Behaviour.no_answer())
    r = rig(plan(bridge("simultaneous", [leg(A), leg(B)]), bridge("simultaneous", [leg(C)])))
    call = r.call()
    wait_for(lambda: len(switch.legs) == 2, what="both agents ringing")
    call.hangup()
    result = call.wait(timeout=10)
    assert result.command_names()[-1] == "execute bridge"  # no second step, no hangup
    assert [lg.target for lg in switch.legs] == [A, B]
    assert all(lg.ended_at is not None for lg in switch.legs)
    assert not result.fallback_ran
    (cdr,) = wait_for(r.cdrs, what="the CDR")
    assert cdr["disposition"] == "abandoned"
    assert {lg["outcome"] for lg in cdr["legs"]} <= {"cancelled", "not_started", "failed"}


def test_agent_hangs_up_first_controller_hangs_up_the_caller(rig: Any, switch: Switch) -> None:
    switch.endpoints.set(A, Behaviour.answer(after=1, hangup_after=3))
    r = rig(plan(bridge("simultaneous", [leg(A)]), bridge("simultaneous", [leg(B)])))
    result = r.call().wait(timeout=10)
    assert result.command_names()[-1] == "hangup"
    assert sendmsgs(result)[-1].header("hangup-cause") == "NORMAL_CLEARING"
    assert [lg.target for lg in switch.legs] == [A]  # an answered bridge ends the plan


def test_queue_step_goes_to_the_fallback(rig: Any, switch: Switch) -> None:
    r = rig(plan({"type": "queue", "queue_id": 4}))
    result = r.call().wait(timeout=10)
    assert result.command_names()[-1] == "execute transfer"
    assert ("transfer", "fallback XML fallback") in result.apps


@pytest.mark.parametrize(
    "plan_doc",
    [
        pytest.param({"plan_version": 99, "steps": []}, id="unknown-version"),
        pytest.param(plan(bridge("simultaneous", [leg("user/1001@x,user/666@evil")])), id="target"),
        pytest.param("not json", id="garbage"),
    ],
)
def test_bad_plan_goes_to_the_fallback(rig: Any, switch: Switch, plan_doc: Any) -> None:
    r = rig(plan_doc)
    result = r.call().wait(timeout=10)
    assert "execute bridge" not in result.command_names()
    assert ("transfer", "fallback XML fallback") in result.apps
    (cdr,) = wait_for(r.cdrs, what="the CDR")
    assert cdr["disposition"] == "failed"


def test_plan_hangup_step(rig: Any, switch: Switch) -> None:
    r = rig(plan({"type": "hangup", "cause": "CALL_REJECTED"}))
    result = r.call().wait(timeout=10)
    assert result.hangup_cause == "CALL_REJECTED"


def test_invalid_destination_is_hung_up(rig: Any, switch: Switch) -> None:
    r = rig(plan(bridge("simultaneous", [leg(A)])))
    result = r.call(destination="1001,user/666@evil").wait(timeout=10)
    assert result.hangup_cause == "INVALID_NUMBER_FORMAT"
    assert r.planner.calls == []
    assert switch.legs == []


NASTY_NAMES = [
    pytest.param("Alice\r\nvariable_x_trusted: true", id="crlf-header-forge"),
    pytest.param("Bob\n\napi system touch /tmp/pwned", id="newline-command"),
    pytest.param("${system(id)}", id="api-expansion"),
    pytest.param("$${hostname}", id="global-var"),
    pytest.param("Doe, John", id="comma"),
    pytest.param("a|user/666@evil.example", id="pipe"),
    pytest.param("x}[x=y]user/666@evil.example,{a=b", id="braces"),
    pytest.param("a:_:user/666@evil.example", id="enterprise"),
    pytest.param("^^:a=b:c=d", id="delimiter"),
    pytest.param("A\x00B\u00c3(\x7f\x1b[31m", id="nul-and-control"),
    pytest.param("x" * 65536, id="64k"),
    pytest.param("'; DROP TABLE cdr.call;--", id="sql"),
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_nasty_caller_names_are_inert(rig: Any, switch: Switch, name: str) -> None:
    switch.endpoints.set(A, Behaviour.answer(after=1, hangup_after=1))
    switch.endpoints.set(B, Behaviour.no_answer())
    r = rig(
        plan(
            bridge("simultaneous", [leg(A), leg(B, timeout=2)]),
            caller_id={"name": name, "number": "+4917012345"},
        )
    )
    result = r.call(caller_name=name).wait(timeout=10)
    assert result.command_names() == [
        "connect",
        "myevents",
        "nixevent",
        "linger",
        "execute sched_cancel",
        "execute set",
        "execute bridge",
        "hangup",
    ]
    assert sorted(lg.target for lg in switch.legs) == [A, B]
    got = leg_vars(switch, A)["origination_caller_id_name"]
    assert "\n" not in got and len(got) <= 256
    assert "user/666" not in "".join(lg.target for lg in switch.legs)
    assert set(leg_vars(switch, A)) == set(leg_vars(switch, B))
    (planned,) = r.planner.calls
    assert "\x00" not in planned["caller_name"] and len(planned["caller_name"]) <= 80
    (cdr,) = wait_for(r.cdrs, what="the CDR")
    assert cdr["disposition"] == "answered"


@pytest.mark.parametrize(
    ("number", "planned"),
    [
        pytest.param("+4917012345", "+4917012345", id="e164"),
        pytest.param("1001,sofia/gateway/intl/0088213000000", "anonymous", id="extra-leg"),
        pytest.param("1001|user/666@evil.example", "anonymous", id="pipe"),
        pytest.param("${system(id)}", "anonymous", id="expansion"),
        pytest.param("+1 (555) 123-4567", "anonymous", id="formatted"),
        pytest.param("\uff0b\uff11\uff12", "anonymous", id="fullwidth"),
        pytest.param("1" * 1000, "anonymous", id="1000-digits"),
        pytest.param("", "anonymous", id="empty"),
    ],
)
def test_nasty_caller_numbers_are_normalised(
    rig: Any, switch: Switch, number: str, planned: str
) -> None:
    switch.endpoints.set(A, Behaviour.answer(after=1, hangup_after=1))
    r = rig(plan(bridge("simultaneous", [leg(A)])))
    result = r.call(caller_number=number).wait(timeout=10)
    (call,) = r.planner.calls
    assert call["caller_number"] == planned
    assert [lg.target for lg in switch.legs] == [A]
    assert result.command_names().count("execute bridge") == 1
