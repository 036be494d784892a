"""``run_queue_step`` against scripted fakes: the commands it sends and the SQL it calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.errors import CallerGone, DatabaseUnavailable
from controller.plan import CallerId, QueueStep
from controller.queue_step import (
    QueueContext,
    handle_feature_code,
    is_feature_code,
    run_queue_step,
)

CALL = "b75234f1-689a-4787-b60b-b32eefdf1072"
SETTINGS = {
    "id": 4,
    "name": "Sales",
    "ring_seconds": 15,
    "progressive": False,
    "max_wait_seconds": 300,
    "lease_seconds": 30,
    "hold_mode": "music",
    "hold_music": "local_stream://moh",
    "announce_position": False,
    "announce_wait": False,
    "announce_interval_seconds": 60,
}


def _legs(*agents: int) -> list[dict[str, Any]]:
    return [
        {
            "agent_id": a,
            "device_id": 100 + a,
            "target": f"user/{1000 + a}@example.com",
            "delay": 0,
            "timeout": 15,
            "wave": 1,
            "label": f"agent {a}",
        }
        for a in agents
    ]


def _ring(wave: int, *agents: int) -> dict[str, Any]:
    legs = _legs(*agents)
    for leg in legs:
        leg["wave"] = wave
    return {"action": "ring", "wave": wave, "waves": [wave], "timeout": 15, "idle": 9, "legs": legs}


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class FakeDb:
    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def call(self, fn_name: str, *args: Any) -> Any:
        self.calls.append((fn_name, args))
        queue = self.answers.get(fn_name)
        if not queue:
            return {}
        value = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(value, Exception):
            raise value
        return value

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class FakeSession:
    """Answers applications from a script; a bridge answer is (completion, bridged_leg_index)."""

    def __init__(self, bridges: list[tuple[str, int | None]] | None = None) -> None:
        self.bridges = list(bridges or [])
        self.apps: list[tuple[str, str | None]] = []
        self.hangups: list[str] = []
        self.gone = False
        self.hang_up_on: str | None = None

    def execute(
        self,
        app: str,
        arg: str | None,
        event_uuid: str,
        timeout: float,
        on_bridge: Callable[[str], None] | None = None,
    ) -> Mapping[str, str]:
        self.apps.append((app, arg))
        if app == self.hang_up_on:
            self.gone = True
            raise CallerGone("hung up")
        if app != "bridge":
            return {"Application-Response": "_none_"}
        kind, winner = self.bridges.pop(0)
        uuids = [part.split(",")[0] for part in (arg or "").split("origination_uuid=")[1:]]
        if kind == "answered":
            assert winner is not None and on_bridge is not None
            on_bridge(uuids[winner])
            causes = "|:".join(
                f"{u};{'NONE' if i == winner else 'LOSE_RACE'}" for i, u in enumerate(uuids)
            )
            return {
                "variable_originate_disposition": "SUCCESS",
                "variable_DIALSTATUS": "SUCCESS",
                "Other-Leg-Unique-ID": uuids[winner],
                "variable_originate_causes": "ARRAY::" + causes,
            }
        causes = "|:".join(
            f"{u};{'USER_BUSY' if i == 0 and kind == 'busy_first' else 'NO_ANSWER'}"
            for i, u in enumerate(uuids)
        )
        return {
            "variable_originate_disposition": "NO_ANSWER",
            "variable_DIALSTATUS": "NOANSWER",
            "variable_originate_causes": "ARRAY::" + causes,
        }

    def hangup(self, cause: str) -> None:
        self.hangups.append(cause)


def _ctx() -> QueueContext:
    return QueueContext(
        call_uuid=CALL, caller_id=CallerId("Alice", "+4917012345"), controller_id="c1"
    )


def _enter(**settings: Any) -> dict[str, Any]:
    return {
        "action": "wait",
        "position": 3,
        "estimated_wait": 130,
        "overflow": {"type": "hangup", "cause": "NO_ANSWER"},
        "queue": {**SETTINGS, **settings},
    }


def test_answer_reported_at_bridge_time_then_call_ended() -> None:
    db = FakeDb({"enter": [_enter()], "next_wave": [_ring(1, 1, 2, 3)], "wave_result": [{}]})
    session = FakeSession([("answered", 1)])
    outcome = run_queue_step(session, QueueStep(4), _ctx(), db, FakeClock())
    assert (outcome.kind, outcome.agent_id, outcome.answered_target) == (
        "answered",
        2,
        "user/1002@example.com",
    )
    assert db.names() == ["enter", "next_wave", "wave_result", "call_ended"]
    assert db.calls[2][1][:4] == (CALL, 1, 2, {})
    assert [a for a, _ in session.apps] == ["set", "set", "set", "answer", "bridge"]
    assert session.apps[1] == ("set", "ringback=local_stream://moh")
    dial = session.apps[-1][1] or ""
    assert dial.startswith("{") and "ignore_completed_elsewhere=false" in dial
    assert dial.count("leg_timeout=15") == 3 and dial.count("]user/") == 3
    assert [leg.outcome for leg in outcome.legs] == ["lose_race", "answered", "lose_race"]


def test_unanswered_wave_reports_outcomes_per_agent_then_next_wave() -> None:
    db = FakeDb(
        {
            "enter": [_enter()],
            "next_wave": [_ring(1, 1, 2), _ring(2, 3)],
            "wave_result": [{}],
        }
    )
    session = FakeSession([("busy_first", None), ("answered", 0)])
    outcome = run_queue_step(session, QueueStep(4), _ctx(), db, FakeClock())
    assert outcome.kind == "answered" and outcome.agent_id == 3 and outcome.waves == 2
    first = [args for name, args in db.calls if name == "wave_result"][0]
    assert first[:4] == (CALL, 1, None, {"1": "busy", "2": "no_answer"})


def test_waiting_plays_hold_music_in_chunks_and_announces() -> None:
    wait = {
        "action": "wait",
        "reason": "no_idle_agents",
        "position": 2,
        "waited": 5,
        "estimated_wait": 100,
        "retry_after": 2,
    }
    db = FakeDb(
        {
            "enter": [_enter(announce_position=True, announce_wait=True)],
            "next_wave": [
                wait,
                {
                    "action": "overflow",
                    "reason": "max_wait",
                    "step": {"type": "voicemail", "mailbox": "1", "domain": "x"},
                },
            ],
        }
    )
    session = FakeSession()
    outcome = run_queue_step(session, QueueStep(4), _ctx(), db, FakeClock())
    assert (outcome.kind, outcome.reason, outcome.step) == (
        "overflow",
        "max_wait",
        {"type": "voicemail", "mailbox": "1", "domain": "x"},
    )
    apps = session.apps[4:]
    assert apps[:5] == [
        ("playback", "ivr/ivr-you_are_number.wav"),
        ("say", "en number pronounced 3"),
        ("playback", "ivr/ivr-estimated_wait_time.wav"),
        ("say", "en number pronounced 3"),
        ("playback", "time/minutes.wav"),
    ]
    assert apps[5:] == [
        ("set", "playback_timeout_sec=2"),
        ("playback", "local_stream://moh"),
    ], "the next announcement waits for its interval"
    assert db.names()[-1] == "call_ended"


def test_ringback_mode() -> None:
    db = FakeDb({"enter": [_enter(hold_mode="ringback")], "next_wave": [_ring(1, 1)]})
    session = FakeSession([("answered", 0)])
    run_queue_step(session, QueueStep(4), _ctx(), db, FakeClock())
    assert ("set", "ringback=%(2000,4000,440,480)") in session.apps


def test_immediate_overflow_does_not_touch_the_channel() -> None:
    db = FakeDb(
        {
            "enter": [
                {
                    "action": "overflow",
                    "reason": "no_agents_logged_in",
                    "step": {"type": "hangup", "cause": "NO_ANSWER"},
                }
            ]
        }
    )
    session = FakeSession()
    outcome = run_queue_step(session, QueueStep(4), _ctx(), db, FakeClock())
    assert (outcome.kind, outcome.reason) == ("overflow", "no_agents_logged_in")
    assert session.apps == []
    assert db.names() == ["enter", "call_ended"]


def test_caller_hanging_up_while_waiting() -> None:
    wait = {
        "action": "wait",
        "reason": "no_idle_agents",
        "position": 1,
        "waited": 5,
        "retry_after": 2,
    }
    db = FakeDb({"enter": [_enter()], "next_wave": [wait]})
    session = FakeSession()
    session.hang_up_on = "playback"
    outcome = run_queue_step(session, QueueStep(4), _ctx(), db, FakeClock())
    assert outcome.kind == "caller_gone"
    assert db.names()[-1] == "call_ended"


def test_database_failure_still_leaves_the_queue() -> None:
    db = FakeDb({"enter": [_enter()], "next_wave": [DatabaseUnavailable("down")]})
    with pytest.raises(DatabaseUnavailable):
        run_queue_step(FakeSession(), QueueStep(4), _ctx(), db, FakeClock())
    assert db.names() == ["enter", "next_wave", "call_ended"]


CODES = [
    pytest.param(
        {"ok": True, "action": "login"}, "tone_stream://%(200,100,1400);loops=2", id="ok-tone"
    ),
    pytest.param(
        {"ok": False, "reason": "not_an_agent"},
        "tone_stream://%(500,500,480,620);loops=2",
        id="error-tone",
    ),
]


@pytest.mark.parametrize(("answer", "tone"), CODES)
def test_feature_code_plays_a_tone_and_hangs_up(answer: dict[str, Any], tone: str) -> None:
    db = FakeDb({"feature_code": [answer]})
    session = FakeSession()
    assert is_feature_code("*71") and not is_feature_code("*70")
    result = handle_feature_code(session, "example.com", "1001", "*71", db, FakeClock())
    assert result == answer
    assert db.calls[0][1][:3] == ("example.com", "1001", "*71")
    assert session.apps == [("answer", None), ("playback", tone)]
    assert session.hangups == ["NORMAL_CLEARING"]


def test_a_wave_failing_at_once_is_followed_by_hold_music_not_a_spin() -> None:
    db = FakeDb({"enter": [_enter()], "next_wave": [_ring(1, 1), _ring(2, 2)], "wave_result": [{}]})
    session = FakeSession([("busy_first", None), ("answered", 0)])
    run_queue_step(session, QueueStep(4), _ctx(), db, FakeClock())
    apps = [a for a, _ in session.apps]
    assert apps[4:] == ["bridge", "set", "playback", "bridge"]


def test_queue_sql_casts_every_argument_and_refuses_other_names() -> None:
    from controller.errors import PlanError
    from controller.queue_step import queue_sql

    assert queue_sql("next_wave") == "SELECT queue.next_wave(%s::uuid, %s::timestamptz)"
    with pytest.raises(PlanError):
        queue_sql("login_agent")  # the console's, not the controller's
