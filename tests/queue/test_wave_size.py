"""Wave sizing: ceil(idle * fraction) bounded by min..max, never above idle or 128 legs."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.queue.builders import at, call, make_agents, make_domain, make_queue, new_call

IDLE_COUNTS = [0, 1, 2, 10, 127, 128, 129, 5000]

# (fraction, min, max) -> expected size for each entry of IDLE_COUNTS
POLICIES = {
    "default-tenth-1-10": ((0.1, 1, 10), [0, 1, 1, 1, 10, 10, 10, 10]),
    "half-2-128": ((0.5, 2, 128), [0, 1, 2, 5, 64, 64, 65, 128]),
    "all-1-128": ((1.0, 1, 128), [0, 1, 2, 10, 127, 128, 128, 128]),
    "min-5-bound": ((0.01, 5, 20), [0, 1, 2, 5, 5, 5, 5, 20]),
    "max-3-bound": ((0.9, 1, 3), [0, 1, 2, 3, 3, 3, 3, 3]),
}

CASES = [
    pytest.param(idle, fraction, lo, hi, expected[i], id=f"{name}-idle-{idle}")
    for name, ((fraction, lo, hi), expected) in POLICIES.items()
    for i, idle in enumerate(IDLE_COUNTS)
]


@pytest.mark.parametrize(("idle", "fraction", "lo", "hi", "expected"), CASES)
def test_wave_size_table(
    db: psycopg.Connection[Any], idle: int, fraction: float, lo: int, hi: int, expected: int
) -> None:
    assert (
        call(db, "queue.wave_size(%s::int, %s::numeric, %s::int, %s::int)", idle, fraction, lo, hi)
        == expected
    )


REAL_QUEUE_CASES = [
    pytest.param(idle, (fraction, lo, hi), expected[i], id=f"{name}-idle-{idle}")
    for name, ((fraction, lo, hi), expected) in POLICIES.items()
    if name in ("default-tenth-1-10", "all-1-128")
    for i, idle in enumerate(IDLE_COUNTS)
]


@pytest.mark.parametrize(("idle", "policy", "expected"), REAL_QUEUE_CASES)
def test_next_wave_rings_that_many_longest_idle_agents(
    db: psycopg.Connection[Any], idle: int, policy: tuple[float, int, int], expected: int
) -> None:
    fraction, lo, hi = policy
    domain = make_domain(db)
    queue = make_queue(
        db, domain, wave_fraction=fraction, wave_min=lo, wave_max=hi, no_agent_action="wait"
    )
    agents = make_agents(db, domain, queue, idle)
    caller = new_call()
    call(db, "queue.enter(%s, %s, NULL, %s)", caller, queue, at(0))
    wave = call(db, "queue.next_wave(%s, %s)", caller, at(1))
    if expected == 0:
        assert wave["action"] == "wait"
        assert wave["reason"] in ("no_idle_agents", "no_agents_logged_in")
        return
    assert wave["action"] == "ring"
    rung = [leg["agent_id"] for leg in wave["legs"]]
    assert len(rung) == expected <= 128
    assert rung == agents[:expected], "the longest idle agents, in idle order"
    reserved = call(
        db,
        "(SELECT count(*) FROM queue.agent WHERE state = 'reserved' AND reserved_for = %s)",
        caller,
    )
    assert reserved == expected
