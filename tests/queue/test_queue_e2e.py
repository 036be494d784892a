"""End to end: the emulator dials a queue controller (run_queue_step) over real ESL sockets.

The controller's call handler does not delegate queue steps yet, so these tests drive
``controller.queue_step.run_queue_step`` through the minimal adapters of ``queue_harness``
(the controller's own ``CallChannel`` for ESL, a psycopg pool per "controller").
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from switchsim import Behaviour, Switch
from tests.queue.builders import domain_name, make_agents, make_domain, make_queue, set_device
from tests.queue.queue_harness import QueueServer, wait_for

SCALE = 0.02  # 1 simulated second = 20 ms


@pytest.fixture
def sw() -> Iterator[Switch]:
    switch = Switch(time_scale=SCALE)
    try:
        yield switch
    finally:
        switch.close()


def _setup(url: str, agents: int, **settings: Any) -> tuple[int, int, str, list[int]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        domain = make_domain(conn)
        queue = make_queue(conn, domain, extension="5000", **settings)
        ids = make_agents(conn, domain, queue, agents)
        return domain, queue, domain_name(conn, domain), ids


def _target(dom: str, i: int) -> str:
    return f"user/{1000 + i}@{dom}"


def _overlaps(sw: Switch) -> list[tuple[str, str, str]]:
    """Legs to one target from two different calls that were alive at the same time."""
    by_target: dict[str, list[Any]] = defaultdict(list)
    for leg in sw.legs:
        by_target[leg.target].append(leg)
    bad = []
    for target, legs in by_target.items():
        legs.sort(key=lambda r: r.started_at or 0)
        for a, b in zip(legs, legs[1:], strict=False):
            if a.a_leg != b.a_leg and a.overlaps(b):
                bad.append((target, str(a.a_leg), str(b.a_leg)))
    return bad


def _agent_rows(url: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT id, state::text, no_answer_count, break_reason FROM queue.agent WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
    return {r["id"]: r for r in rows}


def test_first_wave_answered(make_database: Callable[..., str], sw: Switch) -> None:
    url = make_database()
    _, queue, dom, agents = _setup(
        url, 6, wave_fraction=0.5, wave_min=1, wave_max=3, wave_ring_seconds=10, wrap_up_seconds=60
    )
    for i in range(6):
        sw.endpoints.set(_target(dom, i), Behaviour.no_answer())
    sw.endpoints.set(_target(dom, 1), Behaviour.answer(after=2, hangup_after=5))
    ctl = QueueServer(sw, url, queue)
    address = ctl.start()
    try:
        result = sw.place_call(controllers=address, destination="5000", domain=dom).wait(timeout=20)
    finally:
        ctl.stop()
    assert ctl.errors == []
    assert result.answered_by == _target(dom, 1)
    assert len(result.bridges) == 1
    dial = result.bridges[0].dial_string
    assert "ignore_completed_elsewhere=false" in dial and "ignore_early_media=true" in dial
    assert [leg.target for leg in result.bridges[0].legs] == [_target(dom, i) for i in range(3)]
    assert all("leg_timeout=10" in part for part in dial.split("]")[:-1] if "[" in part)
    apps = [name for name, _ in result.apps]
    assert apps[:5] == ["set", "set", "set", "answer", "bridge"]
    outcome = ctl.outcomes[result.uuid]
    assert (outcome.kind, outcome.agent_id, outcome.waves) == ("answered", agents[1], 1)
    states = _agent_rows(url, agents)
    assert states[agents[1]]["state"] == "wrap_up"
    assert {states[a]["state"] for a in (agents[0], agents[2])} == {"available"}
    assert [states[a]["no_answer_count"] for a in (agents[0], agents[2])] == [0, 0], "lost the race"


def test_200_agents_20_callers_busy_unregistered_wrap_up_auto_break(
    make_database: Callable[..., str], sw: Switch
) -> None:
    url = make_database()
    _, queue, dom, agents = _setup(
        url,
        200,
        wave_fraction=0.05,
        wave_min=2,
        wave_max=6,
        wave_ring_seconds=10,
        wrap_up_seconds=5,
        max_no_answer=2,
        max_wait_seconds=600,
        lease_seconds=120,
    )
    rng = random.Random(2026)
    kinds: dict[int, str] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for i, agent in enumerate(agents):
            roll = rng.random()
            if i % 20 == 0:
                kinds[agent] = "db_unregistered"  # known unregistered: never rung
                set_device(conn, agent, registered=False)
                sw.endpoints.set(_target(dom, i), Behaviour.unregistered())
            elif i % 20 == 1:
                kinds[agent] = "db_busy"  # known busy: never rung
                set_device(conn, agent, busy=True)
                sw.endpoints.set(_target(dom, i), Behaviour.answer(after=1))
            elif i < 40 or 0.15 <= roll < 0.35:  # the longest idle ones let it ring
                kinds[agent] = "no_answer"
                sw.endpoints.set(_target(dom, i), Behaviour.no_answer())
            elif roll < 0.15:
                kinds[agent] = "busy"  # busy on the phone, unknown to the database
                sw.endpoints.set(_target(dom, i), Behaviour.busy(after=0.5))
            else:
                kinds[agent] = "answer"
                after = rng.uniform(1, 14)  # some answer after the 10 s wave is over
                talk = rng.uniform(5, 30)
                sw.endpoints.set(_target(dom, i), Behaviour.answer(after=after, hangup_after=talk))
    ctl = QueueServer(sw, url, queue, pool_size=6)
    address = ctl.start()
    try:
        # Two callers give up while they wait: they arrive first, so their first waves go to
        # the longest-idle agents (who let it ring for the whole 10 s wave), and they hang up
        # after 5 s, whatever the machine's speed.
        leaving = [
            sw.place_call(
                controllers=address, destination="5000", domain=dom, caller_hangup_after=5
            )
            for _ in range(2)
        ]
        calls = [
            sw.place_call(controllers=address, destination="5000", domain=dom) for _ in range(18)
        ]
        calls += leaving
        results = [c.wait(timeout=60) for c in calls]
        wait_for(lambda: len(ctl.outcomes) + len(ctl.errors) == 20, 10, "every queue step to end")
    finally:
        ctl.stop()
    assert ctl.errors == []
    assert _overlaps(sw) == [], "an agent rang for two calls at once"
    target_of = {agent: _target(dom, i) for i, agent in enumerate(agents)}
    never_rung = {target_of[a] for a, k in kinds.items() if k in ("db_unregistered", "db_busy")}
    assert never_rung.isdisjoint({leg.target for leg in sw.legs}), "skipped, not rung"

    answered = [r for r in results[:18]]
    assert all(r.answered_by for r in answered), [r.hangup_cause for r in answered]
    winners = [r.answered_by for r in answered]
    assert len(set(winners)) == 18, "18 different agents took the 18 calls"
    agent_of = {t: a for a, t in target_of.items()}
    assert all(kinds[agent_of[t]] == "answer" for t in winners)
    gone = [ctl.outcomes[r.uuid] for r in results[18:]]
    assert [o.kind for o in gone] == ["caller_gone", "caller_gone"]

    rows = _agent_rows(url, agents)
    assert {r["state"] for r in rows.values()} <= {"available", "wrap_up", "on_break"}
    for agent, row in rows.items():
        if row["state"] == "on_break":
            assert kinds[agent] in ("no_answer", "answer"), "only unanswered offers lead to a break"
            assert row["break_reason"] == "no_answer" and row["no_answer_count"] >= 2
        if kinds[agent] in ("busy", "db_busy", "db_unregistered"):
            assert row["no_answer_count"] == 0, "busy/unregistered agents are not blamed"
    with psycopg.connect(url, row_factory=dict_row) as conn:
        unanswered = conn.execute(
            "SELECT agent_id, count(*) AS n FROM queue.wave_leg WHERE outcome = 'no_answer' "
            "GROUP BY agent_id"
        ).fetchall()
    rung_out_twice = {r["agent_id"] for r in unanswered if r["n"] >= 2}
    assert rung_out_twice, "some agents let two waves ring out"
    assert all(rows[a]["state"] == "on_break" for a in rung_out_twice), "auto-break after 2"
    assert all(kinds[a] in ("no_answer", "answer") for a in rung_out_twice)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        assert conn.execute("SELECT count(*) AS n FROM queue.caller").fetchone() == {"n": 0}
        waves = conn.execute(
            "SELECT w.call_uuid::text AS call, l.target FROM queue.wave w "
            "JOIN queue.wave_leg l ON l.wave_id = w.id AND l.outcome = 'answered'"
        ).fetchall()
    assert {w["call"]: w["target"] for w in waves} == {r.uuid: r.answered_by for r in answered}


def test_two_controllers_500_agents_100_callers_never_double_offer(
    make_database: Callable[..., str],
) -> None:
    url = make_database()
    sw = Switch(time_scale=0.05)
    _, queue, dom, agents = _setup(
        url,
        500,
        wave_fraction=0.02,
        wave_min=2,
        wave_max=8,
        wave_ring_seconds=10,
        wrap_up_seconds=3,
        max_no_answer=3,
        max_wait_seconds=900,
        lease_seconds=120,
    )
    rng = random.Random(500)
    for i in range(500):
        if rng.random() < 0.3:
            sw.endpoints.set(_target(dom, i), Behaviour.no_answer())
        else:
            after, talk = rng.uniform(1, 15), rng.uniform(5, 40)
            sw.endpoints.set(_target(dom, i), Behaviour.answer(after=after, hangup_after=talk))
    one = QueueServer(sw, url, queue, name="ctl-a", pool_size=4)
    two = QueueServer(sw, url, queue, name="ctl-b", pool_size=4)
    addresses = [one.start(), two.start()]
    try:
        calls = [
            sw.place_call(controllers=addresses[n % 2], destination="5000", domain=dom)
            for n in range(100)
        ]
        results = [c.wait(timeout=80) for c in calls]
        wait_for(
            lambda: (
                len(one.outcomes) + len(two.outcomes) + len(one.errors) + len(two.errors) == 100
            ),
            10,
            "every queue step to end",
        )
    finally:
        one.stop()
        two.stop()
        sw.close()
    assert one.errors == [] and two.errors == []
    assert len(one.outcomes) == len(two.outcomes) == 50, "both controllers took calls"
    assert _overlaps(sw) == [], "an agent rang for two calls at once"
    assert all(r.answered_by for r in results)
    assert len({r.answered_by for r in results}) == 100
    with psycopg.connect(url, row_factory=dict_row) as conn:
        reserved = conn.execute(
            "SELECT count(*) AS n FROM queue.agent WHERE state IN ('reserved', 'on_call')"
        ).fetchone()
    assert reserved == {"n": 0}


def test_max_wait_overflow_and_feature_code(make_database: Callable[..., str], sw: Switch) -> None:
    url = make_database()
    _, queue, dom, agents = _setup(
        url,
        3,
        wave_max=3,
        wave_ring_seconds=5,
        max_wait_seconds=60,
        max_no_answer=0,
        overflow={"type": "hangup", "cause": "USER_BUSY"},
    )
    for i in range(3):
        sw.endpoints.set(_target(dom, i), Behaviour.no_answer())
    ctl = QueueServer(sw, url, queue)
    address = ctl.start()
    try:
        result = sw.place_call(controllers=address, destination="5000", domain=dom).wait(timeout=20)
        code = sw.place_call(
            controllers=address, destination="*72", domain=dom, from_user="1001"
        ).wait(timeout=20)
    finally:
        ctl.stop()
    assert ctl.errors == []
    outcome = ctl.outcomes[result.uuid]
    assert (outcome.kind, outcome.reason) == ("overflow", "max_wait")
    assert result.hangup_cause == "USER_BUSY"
    assert outcome.waves >= 3, "waves kept coming while the caller waited"
    assert ctl.feature_results[0]["action"] == "logout"
    assert _agent_rows(url, agents)[agents[1]]["state"] == "logged_out"
    assert [name for name, _ in code.apps] == ["answer", "playback"]
    assert code.hangup_cause == "NORMAL_CLEARING"
