"""An agent's life through the queue functions: answers, no-answers, wrap-up, leases, order."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.queue.builders import (
    agent_states,
    at,
    call,
    domain_name,
    make_agents,
    make_domain,
    make_queue,
    new_call,
    set_device,
)

Conn = psycopg.Connection[Any]


def _setup(db: Conn, n: int, **settings: Any) -> tuple[int, int, list[int]]:
    domain = make_domain(db)
    settings.setdefault("wave_fraction", 1.0)
    settings.setdefault("wave_min", 1)
    settings.setdefault("wave_max", 1)
    queue = make_queue(db, domain, **settings)
    return domain, queue, make_agents(db, domain, queue, n)


def _enter(db: Conn, queue: int, seconds: float, priority: int | None = None) -> Any:
    caller = new_call()
    result = call(db, "queue.enter(%s, %s, %s, %s)", caller, queue, priority, at(seconds))
    assert result["action"] == "wait"
    return caller


def _ring(db: Conn, caller: Any, seconds: float) -> list[int]:
    wave = call(db, "queue.next_wave(%s, %s)", caller, at(seconds))
    assert wave["action"] == "ring", wave
    return list(dict.fromkeys(leg["agent_id"] for leg in wave["legs"]))


def _agent(db: Conn, agent: int) -> dict[str, Any]:
    row = db.execute(
        "SELECT state::text, no_answer_count, break_reason, idle_since, wrap_up_until, current_call "
        "FROM queue.agent WHERE id = %s",
        (agent,),
    ).fetchone()
    assert row is not None
    return dict(row)


def test_answered_wave_puts_the_agent_on_the_call_and_records_it(db: Conn) -> None:
    _, queue, agents = _setup(db, 3, wave_max=2)
    caller = _enter(db, queue, 0)
    assert _ring(db, caller, 1) == agents[:2]
    result = call(db, "queue.wave_result(%s, 1, %s, NULL, %s)", caller, agents[1], at(4))
    assert result["released"] == 1
    assert agent_states(db, agents) == {
        agents[0]: "available",
        agents[1]: "on_call",
        agents[2]: "available",
    }
    assert _agent(db, agents[1])["current_call"] == caller
    wave = db.execute(
        "SELECT number, size, idle_agents, outcome, answered_agent_id, started_at, ended_at "
        "FROM queue.wave WHERE call_uuid = %s",
        (caller,),
    ).fetchone()
    assert wave == {
        "number": 1,
        "size": 2,
        "idle_agents": 3,
        "outcome": "answered",
        "answered_agent_id": agents[1],
        "started_at": at(1),
        "ended_at": at(4),
    }
    legs = db.execute(
        "SELECT agent_id, outcome, answered_at FROM queue.wave_leg WHERE call_uuid = %s ORDER BY leg",
        (caller,),
    ).fetchall()
    assert legs == [
        {"agent_id": agents[0], "outcome": "lose_race", "answered_at": None},
        {"agent_id": agents[1], "outcome": "answered", "answered_at": at(4)},
    ]
    assert call(db, "queue.next_wave(%s, %s)", caller, at(5))["action"] == "bridged"


def test_wrap_up_then_available_again_lazily(db: Conn) -> None:
    _, queue, agents = _setup(db, 2, wrap_up_seconds=30)
    caller = _enter(db, queue, 0)
    assert _ring(db, caller, 1) == [agents[0]]
    call(db, "queue.wave_result(%s, 1, %s, NULL, %s)", caller, agents[0], at(3))
    ended = call(db, "queue.call_ended(%s, %s)", caller, at(60))
    assert ended == {"wrap_up": [agents[0]], "released": 0, "removed": True}
    assert _agent(db, agents[0])["wrap_up_until"] == at(90)
    assert call(db, "queue.call_ended(%s, %s)", caller, at(61))["removed"] is False, "idempotent"
    # during the wrap-up, a new caller gets the other agent; after it, agent 0 again
    second = _enter(db, queue, 70)
    assert _ring(db, second, 71) == [agents[1]]
    call(db, "queue.wave_result(%s, 1, NULL, NULL, %s)", second, at(86))
    assert _ring(db, second, 91) == [agents[0]], "wrap-up ended at 90: available, idle since then"
    assert _agent(db, agents[0])["idle_since"] == at(90)


def test_agent_wrap_up_override_and_zero_wrap_up(db: Conn) -> None:
    _, queue, agents = _setup(db, 1, wrap_up_seconds=30)
    db.execute("UPDATE queue.agent SET wrap_up_seconds = 0 WHERE id = %s", (agents[0],))
    caller = _enter(db, queue, 0)
    _ring(db, caller, 1)
    call(db, "queue.wave_result(%s, 1, %s, NULL, %s)", caller, agents[0], at(2))
    call(db, "queue.call_ended(%s, %s)", caller, at(40))
    assert _agent(db, agents[0])["state"] == "available"
    assert _agent(db, agents[0])["idle_since"] == at(40)


def test_tick_ends_wrap_up_at_its_due_time(db: Conn) -> None:
    _, queue, agents = _setup(db, 1, wrap_up_seconds=10)
    caller = _enter(db, queue, 0)
    _ring(db, caller, 1)
    call(db, "queue.wave_result(%s, 1, %s, NULL, %s)", caller, agents[0], at(2))
    call(db, "queue.call_ended(%s, %s)", caller, at(20))
    assert call(db, "queue.tick(%s)", at(29))["wrap_up_ended"] == 0
    assert call(db, "queue.tick(%s)", at(30))["wrap_up_ended"] == 1
    assert _agent(db, agents[0])["state"] == "available"


NO_ANSWERS = [
    pytest.param(3, ["no_answer", "no_answer"], "available", 2, id="two-no-answers-below-limit"),
    pytest.param(2, ["no_answer", "no_answer"], "on_break", 2, id="auto-break-after-limit"),
    pytest.param(
        2, ["no_answer", "busy", "failed"], "available", 1, id="busy-and-failed-not-blamed"
    ),
    pytest.param(0, ["no_answer"] * 4, "available", 4, id="limit-zero-never-breaks"),
    pytest.param(1, ["cancelled"], "available", 0, id="caller-gone-not-blamed"),
]


@pytest.mark.parametrize(("limit", "outcomes", "state", "count"), NO_ANSWERS)
def test_no_answers_are_counted_and_lead_to_a_break(
    db: Conn, limit: int, outcomes: list[str], state: str, count: int
) -> None:
    _, queue, agents = _setup(db, 1, max_no_answer=limit)
    for i, outcome in enumerate(outcomes):
        caller = _enter(db, queue, 100 * i)
        assert _ring(db, caller, 100 * i + 1) == [agents[0]]
        call(
            db,
            "queue.wave_result(%s, 1, NULL, %s, %s)",
            caller,
            psycopg.types.json.Jsonb({str(agents[0]): outcome}),
            at(100 * i + 16),
        )
        call(db, "queue.call_ended(%s, %s)", caller, at(100 * i + 17))
    agent = _agent(db, agents[0])
    assert (agent["state"], agent["no_answer_count"]) == (state, count)
    if state == "on_break":
        assert agent["break_reason"] == "no_answer"


def test_an_answer_resets_the_no_answer_count(db: Conn) -> None:
    _, queue, agents = _setup(db, 1, max_no_answer=2)
    caller = _enter(db, queue, 0)
    _ring(db, caller, 1)
    call(db, "queue.wave_result(%s, 1, NULL, NULL, %s)", caller, at(16))
    assert _agent(db, agents[0])["no_answer_count"] == 1
    _ring(db, caller, 17)
    call(db, "queue.wave_result(%s, 2, %s, NULL, %s)", caller, agents[0], at(20))
    assert _agent(db, agents[0])["no_answer_count"] == 0


def test_dead_controller_reservations_are_released_by_lease(db: Conn) -> None:
    _, queue, agents = _setup(db, 4, wave_max=2, lease_seconds=30, wave_ring_seconds=15)
    dead = _enter(db, queue, 0)
    assert _ring(db, dead, 1) == agents[:2]
    # the controller of `dead` crashed: nobody reports the wave; 1 + 15 + 30 = 46 s later...
    alive = _enter(db, queue, 40)
    assert _ring(db, alive, 45) == agents[2:4], "still leased at 45 s"
    call(db, 'queue.wave_result(%s, 1, NULL, \'{"default": "cancelled"}\', %s)', alive, at(50))
    assert _ring(db, alive, 60) == agents[:2], "lease over: released, not blamed"
    assert [_agent(db, a)["no_answer_count"] for a in agents[:2]] == [0, 0]
    assert call(db, "(SELECT count(*) FROM queue.caller WHERE call_uuid = %s)", dead) == 0
    outcomes = db.execute(
        "SELECT DISTINCT w.outcome, l.outcome AS leg FROM queue.wave w "
        "JOIN queue.wave_leg l ON l.wave_id = w.id WHERE w.call_uuid = %s",
        (dead,),
    ).fetchall()
    assert outcomes == [{"outcome": "expired", "leg": "expired"}]


def test_reservation_lease_alone_releases_agents(db: Conn) -> None:
    _, queue, agents = _setup(db, 1, lease_seconds=10, wave_ring_seconds=10)
    caller = _enter(db, queue, 0)
    _ring(db, caller, 1)
    db.execute("UPDATE queue.caller SET lease_until = %s WHERE call_uuid = %s", (at(1000), caller))
    assert call(db, "queue.tick(%s)", at(20))["reservations_released"] == 0
    assert call(db, "queue.tick(%s)", at(21))["reservations_released"] == 1
    assert _agent(db, agents[0])["state"] == "available"


def test_max_wait_overflows_to_the_configured_step(db: Conn) -> None:
    overflow = {"type": "voicemail", "mailbox": "sales", "domain": "example.com"}
    _, queue, agents = _setup(db, 1, max_wait_seconds=60, overflow=overflow)
    call(db, "queue.set_break(%s, true, NULL, %s)", agents[0], at(0))
    db.execute("UPDATE queue.queue SET no_agent_action = 'wait' WHERE id = %s", (queue,))
    caller = _enter(db, queue, 0)
    for t in (20, 40, 59):  # the executor polls well within the 30 s lease
        assert call(db, "queue.next_wave(%s, %s)", caller, at(t))["action"] == "wait"
    result = call(db, "queue.next_wave(%s, %s)", caller, at(60))
    assert result == {"action": "overflow", "reason": "max_wait", "step": overflow}
    assert call(db, "(SELECT count(*) FROM queue.caller WHERE call_uuid = %s)", caller) == 0


NO_AGENTS = [
    pytest.param("overflow", "overflow", id="no-agent-logged-in-overflows-at-once"),
    pytest.param("wait", "wait", id="no-agent-logged-in-waits-when-configured"),
]


@pytest.mark.parametrize(("setting", "action"), NO_AGENTS)
def test_nobody_logged_in(db: Conn, setting: str, action: str) -> None:
    domain = make_domain(db)
    queue = make_queue(db, domain, no_agent_action=setting)
    make_agents(db, domain, queue, 3, state="logged_out")
    result = call(db, "queue.enter(%s, %s, NULL, %s)", new_call(), queue, at(0))
    assert result["action"] == action
    if action == "overflow":
        assert result["reason"] == "no_agents_logged_in"
        assert result["step"] == {"type": "hangup", "cause": "NO_ANSWER"}


def test_unknown_and_disabled_queues_overflow(db: Conn) -> None:
    unknown = call(db, "queue.enter(%s, %s, NULL, %s)", new_call(), -1, at(0))
    assert unknown["reason"] == "queue_not_found"
    domain = make_domain(db)
    queue = make_queue(db, domain, enabled=False)
    assert call(db, "queue.enter(%s, %s, NULL, %s)", new_call(), queue, at(0))["reason"] == (
        "queue_disabled"
    )


def test_callers_are_served_by_priority_then_arrival(db: Conn) -> None:
    _, queue, agents = _setup(db, 1, wrap_up_seconds=0)
    early = _enter(db, queue, 0)
    vip = _enter(db, queue, 1, priority=5)
    late = _enter(db, queue, 2)
    served = []
    now = 10.0
    pending = {early: "early", vip: "vip", late: "late"}
    while pending:
        for caller in list(pending):
            wave = call(db, "queue.next_wave(%s, %s)", caller, at(now))
            if wave["action"] == "ring":
                served.append(pending.pop(caller))
                call(db, "queue.wave_result(%s, 1, %s, NULL, %s)", caller, agents[0], at(now + 1))
                call(db, "queue.call_ended(%s, %s)", caller, at(now + 2))
            else:
                assert wave["reason"] == "not_head"
            now += 5
    assert served == ["vip", "early", "late"]


def test_many_idle_agents_serve_every_caller_at_once_with_distinct_agents(db: Conn) -> None:
    _, queue, _ = _setup(db, 40, wave_fraction=0.1, wave_max=4)
    callers = [_enter(db, queue, i * 0.1) for i in range(5)]
    rung = [_ring(db, c, 1 + i * 0.1) for i, c in enumerate(reversed(callers))]
    flat = [a for wave in rung for a in wave]
    assert all(rung), "nobody waits while agents are idle"
    assert len(flat) == len(set(flat)), "no agent in two waves"
    assert [len(w) for w in rung] == [4, 4, 4, 3, 3], "each wave sized from the agents still idle"


def test_feature_codes_log_in_break_and_out(db: Conn) -> None:
    domain, queue, agents = _setup(db, 1)
    dom = domain_name(db, domain)
    call(db, "queue.logout_agent(%s, %s)", agents[0], at(0))
    steps = [
        ("*71", "login", "available"),
        ("*73", "break", "on_break"),
        ("*73", "unbreak", "available"),
        ("*72", "logout", "logged_out"),
    ]
    for i, (code, action, state) in enumerate(steps):
        result = call(db, "queue.feature_code(%s, %s, %s, %s)", dom, "1000", code, at(i))
        assert (result["ok"], result["action"], result["state"]) == (True, action, state)
        assert _agent(db, agents[0])["state"] == state
    assert call(db, "queue.feature_code(%s, %s, %s, %s)", dom, "1000", "*99", at(9)) == {
        "ok": False,
        "code": "*99",
        "reason": "unknown_code",
    }
    assert call(db, "queue.feature_code(%s, %s, %s, %s)", dom, "7777", "*71", at(9))["reason"] == (
        "unknown_device"
    )
    db.execute(
        "INSERT INTO cfg.device (domain_id, name, extension, endpoint) "
        "VALUES (%s, 'lobby', '7777', 'user/7777@' || %s)",
        (domain, dom),
    )
    assert call(db, "queue.feature_code(%s, %s, %s, %s)", dom, "7777", "*71", at(9))["reason"] == (
        "not_an_agent"
    )


def test_login_logout_break_are_idempotent(db: Conn) -> None:
    _, _, agents = _setup(db, 1)
    a = agents[0]
    assert call(db, "queue.login_agent(%s, %s)", a, at(0))["changed"] is False
    assert call(db, "queue.logout_agent(%s, %s)", a, at(1))["changed"] is True
    assert call(db, "queue.logout_agent(%s, %s)", a, at(2))["changed"] is False
    assert call(db, "queue.set_break(%s, true, NULL, %s)", a, at(3))["state"] == "logged_out"
    assert call(db, "queue.login_agent(%s, %s)", a, at(4))["changed"] is True
    assert _agent(db, a)["idle_since"] == at(4)
    with pytest.raises(psycopg.errors.NoDataFound):
        call(db, "queue.login_agent(%s, %s)", -5, at(5))


def test_break_and_logout_drop_a_reservation_and_login_resets_the_agent(db: Conn) -> None:
    _, queue, agents = _setup(db, 2)
    _ring(db, _enter(db, queue, 0), 1)  # one agent reserved for the caller
    reserved = db.execute(
        "SELECT id FROM queue.agent WHERE reserved_for IS NOT NULL AND id = ANY(%s)", (agents,)
    ).fetchone()
    assert reserved is not None
    a = reserved["id"]
    db.execute("UPDATE queue.agent SET no_answer_count = 2 WHERE id = %s", (a,))
    moved = call(db, "queue.set_break(%s, true, %s, %s)", a, "lunch\n\x07" + "x" * 100, at(2))
    assert moved == {"agent_id": a, "state": "on_break", "changed": True}
    row = db.execute(
        "SELECT reserved_for, reserved_until, reserved_by, break_reason, no_answer_count "
        "FROM queue.agent WHERE id = %s",
        (a,),
    ).fetchone()
    assert row["reserved_for"] is None and row["reserved_until"] is None
    assert row["reserved_by"] is None
    assert row["break_reason"] == ("lunch" + "x" * 100)[:80]  # no control characters, 80 at most
    assert row["no_answer_count"] == 2  # kept until the agent is back
    assert call(db, "queue.set_break(%s, false, NULL, %s)", a, at(3))["state"] == "available"
    assert _agent(db, a) | {"idle_since": None} == {
        "state": "available", "no_answer_count": 0, "break_reason": None, "idle_since": None,
        "wrap_up_until": None, "current_call": None,
    }  # fmt: skip
    assert _agent(db, a)["idle_since"] == at(3)
    other = next(x for x in agents if x != a)
    assert call(db, "queue.logout_agent(%s, %s)", other, at(4))["state"] == "logged_out"
    assert call(db, "queue.set_break(%s, false, NULL, %s)", other, at(5))["changed"] is False


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("queue.login_agent(%s, NULL)", "queue.login_agent: p_now must not be NULL"),
        ("queue.logout_agent(%s, NULL)", "queue.logout_agent: p_now must not be NULL"),
        ("queue.set_break(%s, true, NULL, NULL)", "queue.set_break: p_now must not be NULL"),
        ("queue.set_break(%s, NULL, NULL, now())", "queue.set_break: p_on_break must not be NULL"),
    ],
)
def test_agent_moves_refuse_missing_input_naming_the_function(
    db: Conn, sql: str, message: str
) -> None:
    _, _, agents = _setup(db, 1)
    with pytest.raises(psycopg.errors.NullValueNotAllowed, match=message):
        call(db, sql, agents[0])


def test_status_shows_callers_agents_and_waves(db: Conn) -> None:
    _, queue, agents = _setup(db, 3, wave_max=2)
    set_device(db, agents[2], busy=True)
    first = _enter(db, queue, 0)
    second = _enter(db, queue, 5)
    _ring(db, first, 10)
    status = call(db, "queue.status(%s, %s)", queue, at(20))
    assert [
        (c["call_uuid"], c["position"], c["state"], c["waited_seconds"]) for c in status["callers"]
    ] == [
        (str(first), 1, "ringing", 20),
        (str(second), 2, "waiting", 15),
    ]
    assert status["agents"] == {"reserved": 2, "available": 1}
    assert status["waves"][0]["agents"] == agents[:2]
    assert status["stats"]["answered_calls"] == 0


def test_an_agent_in_three_queues_is_offered_one_call_at_a_time(db: Conn) -> None:
    domain, q1, agents = _setup(db, 1)
    q2 = make_queue(db, domain, wave_fraction=1.0, wave_max=1)
    q3 = make_queue(db, domain, wave_fraction=1.0, wave_max=1)
    db.execute(
        "INSERT INTO queue.member (domain_id, queue_id, agent_id) VALUES (%s, %s, %s), (%s, %s, %s)",
        (domain, q2, agents[0], domain, q3, agents[0]),
    )
    first = _enter(db, q1, 0)
    assert _ring(db, first, 1) == agents
    for queue in (q2, q3):
        other = _enter(db, queue, 2)
        assert call(db, "queue.next_wave(%s, %s)", other, at(3))["reason"] == "no_idle_agents"


def test_agent_logging_out_while_rung_stays_logged_out(db: Conn) -> None:
    _, queue, agents = _setup(db, 1)
    caller = _enter(db, queue, 0)
    _ring(db, caller, 1)
    call(db, "queue.logout_agent(%s, %s)", agents[0], at(2))
    result = call(db, "queue.wave_result(%s, 1, NULL, NULL, %s)", caller, at(16))
    assert result["released"] == 0
    assert _agent(db, agents[0])["state"] == "logged_out"
    leg = db.execute(
        "SELECT outcome FROM queue.wave_leg WHERE call_uuid = %s", (caller,)
    ).fetchone()
    assert leg == {"outcome": "no_answer"}
