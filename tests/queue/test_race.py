"""Several pickers on one database never reserve the same agent (committed data, real locks)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.queue.builders import at, make_agents, make_domain, make_queue, new_call


def _setup(url: str, agents: int, **settings: Any) -> tuple[int, list[int]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        domain = make_domain(conn)
        queue = make_queue(conn, domain, **settings)
        return queue, make_agents(conn, domain, queue, agents)


def _one(conn: psycopg.Connection[Any], sql: str, *args: Any) -> Any:
    row = conn.execute(f"SELECT {sql} AS v", args).fetchone()
    assert row is not None
    return row["v"]


def _legs(wave: dict[str, Any]) -> set[int]:
    return {leg["agent_id"] for leg in wave.get("legs", [])}


POOLS = [
    pytest.param(100, 10, 10, id="plenty-of-agents"),
    pytest.param(3, 2, 1, id="second-picker-gets-what-is-left"),
    pytest.param(2, 2, 0, id="second-picker-gets-nothing-and-does-not-block"),
]


@pytest.mark.parametrize(("agents", "first", "second"), POOLS)
def test_two_transactions_picking_at_once_get_disjoint_agents(
    make_database: Callable[..., str], agents: int, first: int, second: int
) -> None:
    url = make_database()
    queue, _ = _setup(url, agents, wave_fraction=1.0, wave_min=1, wave_max=first)
    a, b = new_call(), new_call()
    with (
        psycopg.connect(url, row_factory=dict_row) as c1,
        psycopg.connect(url, row_factory=dict_row) as c2,
    ):
        for conn, caller, t in ((c1, a, 0), (c2, b, 1)):
            _one(conn, "queue.enter(%s, %s, NULL, %s)", caller, queue, at(t))
            conn.commit()
        c2.execute("SET lock_timeout = '2s'")  # a blocked picker fails the test instead of hanging
        wave_a = _one(c1, "queue.next_wave(%s, %s)", a, at(2))  # c1's transaction stays open
        wave_b = _one(c2, "queue.next_wave(%s, %s)", b, at(2))
        c2.commit()
        c1.commit()
    assert len(_legs(wave_a)) == first
    assert len(_legs(wave_b)) == second
    assert not _legs(wave_a) & _legs(wave_b)


def test_concurrent_pickers_never_offer_an_agent_twice(make_database: Callable[..., str]) -> None:
    url = make_database()
    queue, agents = _setup(
        url, 60, wave_fraction=0.1, wave_min=1, wave_max=5, wrap_up_seconds=0, max_no_answer=0
    )
    holder: dict[int, Any] = {}
    double_offers: list[tuple[int, Any, Any]] = []
    picks = 0
    rng = random.Random(7)

    def worker(n: int) -> None:
        nonlocal picks
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            for _ in range(25):
                caller = new_call()
                now = datetime.now(UTC)
                _one(conn, "queue.enter(%s, %s, NULL, %s)", caller, queue, now)
                wave = _one(conn, "queue.next_wave(%s, %s)", caller, datetime.now(UTC))
                mine = _legs(wave)
                picks += 1
                for agent in mine:
                    if holder.get(agent) is not None:
                        double_offers.append((agent, holder[agent], caller))
                    holder[agent] = caller
                gevent.sleep(rng.random() * 0.005)
                winner = rng.choice(sorted(mine)) if mine and rng.random() < 0.5 else None
                for agent in mine:  # cleared before the release commits
                    holder[agent] = None
                _one(
                    conn,
                    "queue.wave_result(%s, 1, %s, %s, %s)",
                    caller,
                    winner,
                    Jsonb({}),
                    datetime.now(UTC),
                )
                _one(conn, "queue.call_ended(%s, %s)", caller, datetime.now(UTC))

    gevent.joinall([gevent.spawn(worker, n) for n in range(8)], raise_error=True)
    assert picks == 200
    assert double_offers == []
    with psycopg.connect(url, row_factory=dict_row) as conn:
        left = conn.execute(
            "SELECT state::text, count(*) AS n FROM queue.agent WHERE id = ANY(%s) GROUP BY 1",
            (agents,),
        ).fetchall()
        assert left == [{"state": "available", "n": 60}]
        assert conn.execute("SELECT count(*) AS n FROM queue.caller").fetchone() == {"n": 0}
