"""Which agents a wave takes: longest idle, levels, rotation, skips, rounds, progressive."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.queue.builders import (
    add_members,
    agent_states,
    at,
    call,
    domain_name,
    insert,
    make_agents,
    make_domain,
    make_queue,
    new_call,
    set_device,
)

Conn = psycopg.Connection[Any]


def _queue(db: Conn, n: int, **settings: Any) -> tuple[int, int, list[int]]:
    domain = make_domain(db, gateway=settings.pop("gateway", None))
    settings.setdefault("wave_fraction", 1.0)
    settings.setdefault("wave_min", 1)
    settings.setdefault("wave_max", 3)
    queue = make_queue(db, domain, **settings)
    return domain, queue, make_agents(db, domain, queue, n)


def _wave(db: Conn, queue: int, seconds: float = 1, caller: Any = None) -> dict[str, Any]:
    caller = caller or new_call()
    call(db, "queue.enter(%s, %s, NULL, %s)", caller, queue, at(seconds - 0.5))
    result: dict[str, Any] = call(db, "queue.next_wave(%s, %s)", caller, at(seconds))
    result["caller"] = caller
    return result


def _agents(wave: dict[str, Any]) -> list[int]:
    return list(dict.fromkeys(leg["agent_id"] for leg in wave["legs"]))


def test_longest_idle_first_and_dial_targets(db: Conn) -> None:
    domain, queue, agents = _queue(db, 6, wave_max=3, wave_ring_seconds=20)
    wave = _wave(db, queue)
    assert wave["action"] == "ring"
    assert _agents(wave) == agents[:3]
    dom = domain_name(db, domain)
    assert [leg["target"] for leg in wave["legs"]] == [
        f"user/{e}@{dom}" for e in (1000, 1001, 1002)
    ]
    assert {(leg["delay"], leg["timeout"]) for leg in wave["legs"]} == {(0, 20)}
    assert wave["timeout"] == 20


SKIPS = [
    pytest.param({"busy": True}, "busy", id="busy-device-skipped"),
    pytest.param({"registered": False}, "unregistered", id="unregistered-device-skipped"),
    pytest.param({"dnd": True}, "dnd", id="dnd-device-skipped"),
]


@pytest.mark.parametrize(("device_state", "reason"), SKIPS)
def test_unreachable_agents_are_skipped_not_blamed(
    db: Conn, device_state: dict[str, Any], reason: str
) -> None:
    _, queue, agents = _queue(db, 4, wave_max=2)
    set_device(db, agents[0], **device_state)
    wave = _wave(db, queue)
    assert _agents(wave) == agents[1:3]
    assert wave["skipped"] == [{"agent_id": agents[0], "reason": reason}]
    row = db.execute(
        "SELECT state::text, no_answer_count FROM queue.agent WHERE id = %s", (agents[0],)
    ).fetchone()
    assert row == {"state": "available", "no_answer_count": 0}


def test_external_number_agent_rings_through_the_domain_gateway(db: Conn) -> None:
    domain, queue, agents = _queue(db, 1, gateway="carrier1")
    db.execute(
        "UPDATE cfg.device SET endpoint = '+4930123456' "
        "WHERE id = (SELECT device_id FROM queue.agent WHERE id = %s)",
        (agents[0],),
    )
    wave = _wave(db, queue)
    assert [leg["target"] for leg in wave["legs"]] == ["sofia/gateway/carrier1/+4930123456"]


def test_external_number_without_gateway_is_skipped(db: Conn) -> None:
    _, queue, agents = _queue(db, 1)
    db.execute(
        "UPDATE cfg.device SET endpoint = '+4930123456' "
        "WHERE id = (SELECT device_id FROM queue.agent WHERE id = %s)",
        (agents[0],),
    )
    wave = _wave(db, queue)
    assert wave["action"] == "wait"
    assert wave["skipped"] == [{"agent_id": agents[0], "reason": "no_gateway"}]


def test_user_agent_rings_all_its_reachable_devices(db: Conn) -> None:
    domain, queue, _ = _queue(db, 0, no_agent_action="wait")
    dom = domain_name(db, domain)
    user = insert(
        db, "INSERT INTO cfg.app_user (domain_id, name) VALUES (%s, 'Ann') RETURNING id", domain
    )
    db.execute(
        """INSERT INTO cfg.device (domain_id, user_id, name, endpoint, registered, busy) VALUES
           (%(d)s, %(u)s, 'desk', 'user/2001@' || %(dom)s, true, false),
           (%(d)s, %(u)s, 'soft', 'user/2002@' || %(dom)s, true, false),
           (%(d)s, %(u)s, 'old', 'user/2003@' || %(dom)s, false, false)""",
        {"d": domain, "u": user, "dom": dom},
    )
    agent = insert(
        db,
        "INSERT INTO queue.agent (domain_id, user_id, state, idle_since) "
        "VALUES (%s, %s, 'available', %s) RETURNING id",
        domain,
        user,
        at(0),
    )
    add_members(db, queue, [agent])
    wave = _wave(db, queue)
    assert [leg["target"] for leg in wave["legs"]] == [f"user/2001@{dom}", f"user/2002@{dom}"]
    assert {leg["agent_id"] for leg in wave["legs"]} == {agent}


def test_level_one_agents_before_level_two(db: Conn) -> None:
    domain, queue, level2 = _queue(db, 3, wave_max=3)
    db.execute("UPDATE queue.member SET level = 2 WHERE queue_id = %s", (queue,))
    level1 = make_agents(db, domain, queue, 2, first_ext=2000)  # idle for less time
    wave = _wave(db, queue)
    assert _agents(wave) == [*level1, level2[0]]


def test_next_waves_try_other_agents_then_start_over(db: Conn) -> None:
    _, queue, agents = _queue(db, 5, wave_max=2)
    first = _wave(db, queue)
    caller = first["caller"]
    seen = [_agents(first)]
    for n in range(2):
        call(db, "queue.wave_result(%s, %s, NULL, NULL, %s)", caller, n + 1, at(20 * (n + 1)))
        seen.append(_agents(call(db, "queue.next_wave(%s, %s)", caller, at(20 * (n + 1)))))
    assert seen[0] == agents[0:2]
    assert seen[1] == agents[2:4]
    assert seen[2] == [agents[4]], "only one agent was not offered yet"
    call(db, "queue.wave_result(%s, 3, NULL, NULL, %s)", caller, at(70))
    again = call(db, "queue.next_wave(%s, %s)", caller, at(70))
    assert _agents(again) == agents[0:2], "everybody was offered: a new round starts"


ROTATION = [
    pytest.param("idle", "other", id="previous-answerer-left-out-when-others-idle"),
    pytest.param("away", "previous", id="previous-answerer-rung-when-alone"),
    pytest.param("unreachable", "previous", id="previous-answerer-rung-when-others-unreachable"),
]


@pytest.mark.parametrize(("other", "expected"), ROTATION)
def test_rotation_after_an_answered_call(db: Conn, other: str, expected: str) -> None:
    _, queue, agents = _queue(db, 2, wave_max=1, wrap_up_seconds=0)
    first = _wave(db, queue)
    assert _agents(first) == [agents[0]]
    call(db, "queue.wave_result(%s, 1, %s, NULL, %s)", first["caller"], agents[0], at(5))
    call(db, "queue.call_ended(%s, %s)", first["caller"], at(10))
    # agent 1 was away meanwhile and comes back later than agent 0 became idle
    call(db, "queue.set_break(%s, true, 'lunch', %s)", agents[1], at(11))
    if other != "away":
        call(db, "queue.set_break(%s, false, NULL, %s)", agents[1], at(12))
    if other == "unreachable":
        set_device(db, agents[1], registered=False)
    second = _wave(db, queue, seconds=30)
    assert _agents(second) == [agents[1] if expected == "other" else agents[0]]


def test_progressive_rings_two_waves_the_second_delayed(db: Conn) -> None:
    _, queue, agents = _queue(db, 10, wave_max=3, progressive=True, wave_ring_seconds=15)
    wave = _wave(db, queue)
    assert wave["waves"] == [1, 2]
    assert wave["timeout"] == 30
    legs = {leg["agent_id"]: (leg["wave"], leg["delay"], leg["timeout"]) for leg in wave["legs"]}
    assert [legs[a] for a in agents[:3]] == [(1, 0, 30)] * 3, "the first wave keeps ringing"
    assert [legs[a] for a in agents[3:6]] == [(2, 15, 15)] * 3
    rows = db.execute(
        "SELECT number, size, delay_seconds FROM queue.wave WHERE call_uuid = %s ORDER BY number",
        (wave["caller"],),
    ).fetchall()
    assert rows == [
        {"number": 1, "size": 3, "delay_seconds": 0},
        {"number": 2, "size": 3, "delay_seconds": 15},
    ]


def test_never_more_than_128_legs_even_with_multi_device_agents(db: Conn) -> None:
    domain, queue, agents = _queue(db, 100, wave_fraction=1.0, wave_max=128)
    dom = domain_name(db, domain)
    # give every agent a second registered device through a user
    db.execute(
        """WITH u AS (
               INSERT INTO cfg.app_user (domain_id, name)
               SELECT %(d)s, 'u' || g FROM generate_series(1, 100) g RETURNING id, name)
           UPDATE cfg.device d SET user_id = u.id FROM u, queue.agent a
            WHERE a.device_id = d.id AND a.id = ANY(%(agents)s)
              AND substring(u.name from 2)::int = d.extension::int - 999""",
        {"d": domain, "agents": agents},
    )
    db.execute(
        """INSERT INTO cfg.device (domain_id, user_id, name, endpoint, registered)
           SELECT %(d)s, d.user_id, 'second', 'user/9' || d.extension || '@' || %(dom)s, true
             FROM cfg.device d WHERE d.domain_id = %(d)s""",
        {"d": domain, "dom": dom},
    )
    db.execute(
        "UPDATE queue.agent SET user_id = d.user_id, device_id = NULL FROM cfg.device d "
        "WHERE d.id = queue.agent.device_id AND queue.agent.id = ANY(%s)",
        (agents,),
    )
    wave = _wave(db, queue)
    assert len(wave["legs"]) == 128
    assert len(_agents(wave)) == 64
    states = agent_states(db, agents)
    assert sum(1 for s in states.values() if s == "reserved") == 64


def test_queue_extension_cannot_take_a_device_extension(db: Conn) -> None:
    domain, _, _ = _queue(db, 1)  # the agent's device has extension 1000
    with pytest.raises(psycopg.errors.UniqueViolation, match="1000"):
        make_queue(db, domain, extension="1000")
