"""Rows for queue tests: a domain, a queue and N agents (one device each), in bulk SQL.

Tests use these on a superuser connection; the functions under test go through the same
SECURITY DEFINER entry points the controller and console use.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 + seconds: the clock tests pass as p_now."""
    return T0 + timedelta(seconds=seconds)


def make_domain(
    conn: psycopg.Connection[Any], name: str | None = None, gateway: str | None = None
) -> int:
    name = name or f"q{uuid.uuid4().hex[:10]}.example.com"
    row = conn.execute(
        "INSERT INTO cfg.domain (name, gateway) VALUES (%s, %s) RETURNING id", (name, gateway)
    ).fetchone()
    assert row is not None
    return int(_first(row))


def domain_name(conn: psycopg.Connection[Any], domain_id: int) -> str:
    row = conn.execute("SELECT name FROM cfg.domain WHERE id = %s", (domain_id,)).fetchone()
    assert row is not None
    return str(_first(row))


def make_queue(conn: psycopg.Connection[Any], domain_id: int, **settings: Any) -> int:
    settings.setdefault("name", f"queue-{uuid.uuid4().hex[:8]}")
    if "overflow" in settings and settings["overflow"] is not None:
        settings["overflow"] = psycopg.types.json.Jsonb(settings["overflow"])
    cols = ", ".join(["domain_id", *settings])
    marks = ", ".join(["%s"] * (len(settings) + 1))
    row = conn.execute(
        f"INSERT INTO queue.queue ({cols}) VALUES ({marks}) RETURNING id",
        (domain_id, *settings.values()),
    ).fetchone()
    assert row is not None
    return int(_first(row))


def make_agents(
    conn: psycopg.Connection[Any],
    domain_id: int,
    queue_id: int | None,
    n: int,
    *,
    state: str = "available",
    level: int = 1,
    first_ext: int = 1000,
    idle_step: float = 1.0,
) -> list[int]:
    """N agents, each with one registered device user/<ext>@<domain>, idle since T0 + i*step.

    Agent i was idle longest for i = 0. Returns the agent ids in that order.
    """
    dom = domain_name(conn, domain_id)
    rows = conn.execute(
        """
        WITH dev AS (
            INSERT INTO cfg.device (domain_id, name, extension, endpoint, registered)
            SELECT %(d)s, 'agent ' || (%(e)s + g), (%(e)s + g)::text,
                   'user/' || (%(e)s + g) || '@' || %(dom)s, true
              FROM generate_series(0, %(n)s - 1) g
            RETURNING id, extension
        ), ag AS (
            INSERT INTO queue.agent (domain_id, device_id, name, state, idle_since, state_since)
            SELECT %(d)s, dev.id, 'agent ' || dev.extension, %(state)s::queue.agent_state,
                   %(t0)s::timestamptz
                       + make_interval(secs => (dev.extension::integer - %(e)s) * %(step)s),
                   %(t0)s::timestamptz
              FROM dev
            RETURNING id, name
        )
        SELECT id FROM ag ORDER BY substring(name from 7)::integer
        """,
        {
            "d": domain_id,
            "e": first_ext,
            "dom": dom,
            "n": n,
            "state": state,
            "t0": T0,
            "step": idle_step,
        },
    ).fetchall()
    ids = [int(_first(r)) for r in rows]
    if queue_id is not None:
        add_members(conn, queue_id, ids, level=level)
    return ids


def add_members(
    conn: psycopg.Connection[Any], queue_id: int, agent_ids: list[int], level: int = 1
) -> None:
    conn.execute(
        """INSERT INTO queue.member (domain_id, queue_id, agent_id, level)
           SELECT q.domain_id, q.id, a, %s
             FROM queue.queue q, unnest(%s::bigint[]) a WHERE q.id = %s""",
        (level, agent_ids, queue_id),
    )


def set_device(conn: psycopg.Connection[Any], agent_id: int, **state: Any) -> None:
    sets = ", ".join(f"{k} = %s" for k in state)
    conn.execute(
        f"UPDATE cfg.device SET {sets} "
        "WHERE id = (SELECT device_id FROM queue.agent WHERE id = %s)",
        (*state.values(), agent_id),
    )


def agent_states(conn: psycopg.Connection[Any], agent_ids: list[int]) -> dict[int, str]:
    rows = conn.execute(
        "SELECT id, state::text FROM queue.agent WHERE id = ANY(%s)", (agent_ids,)
    ).fetchall()
    return {int(_first(r)): str(_second(r)) for r in rows}


def call(conn: psycopg.Connection[Any], sql: str, *args: Any) -> Any:
    """Run ``SELECT <sql>`` and return the single value."""
    row = conn.execute(f"SELECT {sql}", args).fetchone()
    assert row is not None
    return _first(row)


def new_call() -> uuid.UUID:
    return uuid.uuid4()


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _second(row: Any) -> Any:
    return list(row.values())[1] if isinstance(row, dict) else row[1]


def insert(conn: psycopg.Connection[Any], sql: str, *args: Any) -> int:
    """Run an ``INSERT ... RETURNING id`` and return the id."""
    row = conn.execute(sql, args).fetchone()
    assert row is not None
    return int(_first(row))
