"""The demo tenant loads (once), and the README's SQL examples run on it and say what the README
says they say."""

import re
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from huntsman import demo

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def demo_url(make_database: Callable[..., str]) -> str:
    url = make_database()
    assert demo.load(url) is True
    return url


def readme_statements() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    statements = [s.strip() for block in blocks for s in block.split(";") if s.strip()]
    return [s for s in statements if not all(line.startswith("--") for line in s.splitlines())]


def test_demo_loads_only_into_an_empty_database(demo_url: str) -> None:
    assert demo.load(demo_url) is False  # not empty any more: nothing changes
    with psycopg.connect(demo_url) as conn:
        counts = conn.execute(
            """SELECT (SELECT count(*) FROM cfg.device), (SELECT count(*) FROM cfg.hunt_group),
                      (SELECT count(DISTINCT strategy) FROM cfg.hunt_group),
                      (SELECT count(DISTINCT time_zone) FROM cfg.schedule),
                      (SELECT count(*) FROM cfg.schedule_exception WHERE closed),
                      (SELECT count(*) FROM cfg.implicit_set_device),
                      (SELECT count(*) FROM cfg.routing_rule WHERE caller_match <> 'any')"""
        ).fetchone()
    devices, groups, strategies, zones, holidays, shared, caller_rules = counts  # type: ignore[misc]
    assert devices >= 300 and groups == 20 and strategies == 7
    assert zones == 2 and holidays >= 1 and shared >= 2 and caller_rules >= 1
    with psycopg.connect(demo_url) as conn:
        (status,) = conn.execute(
            "SELECT queue.status(q.id, now()) FROM queue.queue q WHERE q.extension = '500'"
        ).fetchone()  # type: ignore[misc]
        (plan,) = conn.execute(
            """SELECT routing.plan_call('{"uuid": "00000000-0000-4000-8000-0000000000aa",
                   "domain": "demo.huntsman.test", "destination": "500",
                   "caller_number": "+4930555123"}', now())"""
        ).fetchone()  # type: ignore[misc]
    assert status["agents"]["available"] == 30
    assert plan["steps"] == [{"type": "queue", "queue_id": status["queue"]["id"]}]


def test_forced_reload_replaces_the_demo_domain(make_database: Callable[..., str]) -> None:
    url = make_database()
    assert demo.load(url) is True
    assert demo.load(url, force=True) is True
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM cfg.domain").fetchone() == (1,)


def test_readme_sql_examples_run_on_the_demo(demo_url: str) -> None:
    statements = readme_statements()
    assert len(statements) >= 6
    with psycopg.connect(demo_url) as conn:
        results = [conn.execute(s).fetchall() for s in statements]
    assert all(results), "every README example returns rows"
    explain, christmas, vip, shared, outbound, skipped = results[:6]
    assert explain[0][0].count('"kind"') > 5
    assert christmas[0][0]["name"] == "Berlin main line" and christmas[0][0]["rule_id"]
    assert [r[0] for r in vip] == ["VIP desk (simultaneous)", "Management (enterprise)"]
    assert len(shared[0][0]) == 3
    assert outbound[0][0]["number"] == demo.MAIN_BERLIN
    assert {r[0] for r in skipped} >= {"excluded_by_rule"}
