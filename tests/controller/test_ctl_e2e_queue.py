"""Queues through the real controller: a call to a queue's extension is planned by SQL as a queue
step, rung in waves over ESL, answered by one agent; the CDR lists every leg of every wave; agents
log in and out from their phones with feature codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from controller.main import Controller
from switchsim import Behaviour, Switch
from tests.controller.harness import make_settings, wait_for
from tests.queue.builders import make_agents, make_queue
from tests.queue.queue_harness import SimClock
from tests.sql import factories as f

DOMAIN = "example.com"


def target(ext: int) -> str:
    return f"user/{ext}@{DOMAIN}"


@pytest.fixture
def switch() -> Iterator[Switch]:
    sw = Switch(time_scale=0.03, hostname="sim1")
    yield sw
    sw.close()


@pytest.fixture
def setup(make_database: Callable[..., str]) -> tuple[str, int, list[int]]:
    """A committed database: a queue on extension 500 with six agents (ext 1000-1005)."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        domain = f.make_domain(conn, DOMAIN)
        queue_id = make_queue(
            conn,
            domain,
            name="Support queue",
            extension="500",
            wave_fraction=0.5,
            wave_min=1,
            wave_max=3,
            wave_ring_seconds=5,
            wrap_up_seconds=30,
        )
        agents = make_agents(conn, domain, queue_id, 6, first_ext=1000)
    return url, queue_id, agents


@pytest.fixture
def controller(
    setup: tuple[str, int, list[int]], switch: Switch, tmp_path: Path
) -> Iterator[Controller]:
    url = setup[0]
    ctl = Controller(
        make_settings(tmp_path / "spool", url, max_call_seconds=60.0),
        queue_clock=SimClock(switch),
        time_scale=switch.clock.time_scale,
    )
    ctl.start()
    yield ctl
    ctl.stop()


def rows(url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def test_queue_call_rings_waves_until_an_agent_answers(
    setup: tuple[str, int, list[int]], switch: Switch, controller: Controller
) -> None:
    url, _queue_id, agents = setup
    for ext in (1000, 1001, 1002, 1004, 1005):
        switch.endpoints.set(target(ext), Behaviour.no_answer())
    switch.endpoints.set(target(1003), Behaviour.answer(after=1, hangup_after=3))
    host, port = controller.address
    call = switch.place_call(
        controllers=f"{host}:{port}",
        destination="500",
        caller_number="+4917012345",
        caller_name="Alice",
        domain=DOMAIN,
        variables={"socket_resume": "true"},
    )
    result = call.wait(timeout=30)
    assert result.answered_by == target(1003)
    assert not result.fallback_ran
    first, second = result.bridges[:2]
    # wave 1: the three longest-idle agents; wave 2: the next three (the first are not re-offered)
    assert sorted(lg.target for lg in first.legs) == [target(e) for e in (1000, 1001, 1002)]
    assert sorted(lg.target for lg in second.legs) == [target(e) for e in (1003, 1004, 1005)]
    assert "ignore_completed_elsewhere=false" in second.dial_string
    (cdr,) = wait_for(
        lambda: rows(url, "SELECT * FROM cdr.call WHERE call_uuid = %s", result.uuid),
        what="the cdr.call row",
    )
    assert cdr["disposition"] == "answered"
    assert cdr["answered_by_target"] == target(1003)
    assert cdr["route_kind"] == "queue"
    legs = rows(
        url,
        "SELECT target, outcome::text FROM cdr.call_leg WHERE call_id = %s ORDER BY seq",
        cdr["id"],
    )
    assert len(legs) == 6
    assert {leg["target"]: leg["outcome"] for leg in legs}[target(1003)] == "answered"
    # the winner wraps up, nobody stays reserved, the caller left the queue
    states = {
        r["id"]: r["state"]
        for r in rows(url, "SELECT id, state::text FROM queue.agent WHERE id = ANY(%s)", agents)
    }
    assert states[agents[3]] in ("wrap_up", "available")
    assert "reserved" not in states.values()
    assert rows(url, "SELECT 1 FROM queue.caller WHERE call_uuid = %s", result.uuid) == []
    waves = rows(url, "SELECT count(*) AS n FROM queue.wave WHERE call_uuid = %s", result.uuid)
    assert waves[0]["n"] == 2
    metrics = controller.metrics.registry
    assert metrics.get_sample_value("huntsman_queue_calls_total", {"outcome": "answered"}) == 1
    assert metrics.get_sample_value("huntsman_queue_waves_total") == 2


def test_feature_code_logs_the_agent_out_from_the_phone(
    setup: tuple[str, int, list[int]], switch: Switch, controller: Controller
) -> None:
    url, _queue_id, agents = setup
    host, port = controller.address
    result = switch.place_call(
        controllers=f"{host}:{port}",
        destination="*72",
        caller_number="1000",
        domain=DOMAIN,
        from_user="1000",
        variables={"socket_resume": "true"},
    ).wait(timeout=15)
    assert result.command_names()[-3:] == ["execute answer", "execute playback", "hangup"]
    assert result.bridges == []
    (agent,) = rows(url, "SELECT state::text FROM queue.agent WHERE id = %s", agents[0])
    assert agent["state"] == "logged_out"


def test_feature_code_from_an_unauthenticated_caller_is_just_a_number(
    setup: tuple[str, int, list[int]], switch: Switch, controller: Controller
) -> None:
    """A trunk caller claiming to be 1000 (From header only) cannot log agent 1000 out."""
    url, _queue_id, agents = setup
    host, port = controller.address
    result = switch.place_call(
        controllers=f"{host}:{port}",
        destination="*72",
        caller_number="1000",
        domain=DOMAIN,
        variables={"socket_resume": "true"},
    ).wait(timeout=15)
    assert "execute playback" not in result.command_names()
    (agent,) = rows(url, "SELECT state::text FROM queue.agent WHERE id = %s", agents[0])
    assert agent["state"] == "available"
