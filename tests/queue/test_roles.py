"""Who may call what: the controller runs the queue, the console logs agents in and out."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

Conn = psycopg.Connection[Any]

CONTROLLER = "huntsman_controller"
CONSOLE = "huntsman_console"
REPORT = "huntsman_report"

FUNCTIONS = {
    "queue.enter(uuid,bigint,integer,timestamp with time zone,text)": {CONTROLLER},
    "queue.next_wave(uuid,timestamp with time zone)": {CONTROLLER},
    "queue.wave_result(uuid,integer,bigint,jsonb,timestamp with time zone)": {CONTROLLER},
    "queue.call_ended(uuid,timestamp with time zone)": {CONTROLLER},
    "queue.tick(timestamp with time zone)": {CONTROLLER},
    "queue.feature_code(text,text,text,timestamp with time zone)": {CONTROLLER},
    "queue.login_agent(bigint,timestamp with time zone)": {CONSOLE},
    "queue.logout_agent(bigint,timestamp with time zone)": {CONSOLE},
    "queue.set_break(bigint,boolean,text,timestamp with time zone)": {CONSOLE},
    "queue.status(bigint,timestamp with time zone)": {CONSOLE, REPORT},
    "queue.caller_position(uuid)": set(),
    "queue.overflow_step(bigint)": set(),
    "queue.tg_check_extension()": set(),
}


@pytest.mark.parametrize(("signature", "allowed"), FUNCTIONS.items(), ids=list(FUNCTIONS))
def test_execute_granted_only_where_needed(db: Conn, signature: str, allowed: set[str]) -> None:
    for role in (CONTROLLER, CONSOLE, REPORT):
        row = db.execute(
            "SELECT has_function_privilege(%s, %s::regprocedure, 'EXECUTE') AS ok",
            (role, signature),
        ).fetchone()
        assert row is not None
        assert row["ok"] is (role in allowed), f"{role} on {signature}"
    public = db.execute(
        "SELECT coalesce(bool_or(a.grantee = 0), false) AS granted "
        "FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
        "WHERE p.oid = %s::regprocedure",
        (signature,),
    ).fetchone()
    assert public == {"granted": False}, "EXECUTE must be revoked from PUBLIC"


def test_every_queue_function_pins_its_search_path(db: Conn) -> None:
    rows = db.execute(
        """SELECT p.oid::regprocedure::text AS fn, p.prosecdef, p.proconfig
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'queue'"""
    ).fetchall()
    assert len(rows) >= len(FUNCTIONS)
    for row in rows:
        assert "search_path=queue, pg_temp" in row["proconfig"], row["fn"]
        if row["fn"] in FUNCTIONS and FUNCTIONS[row["fn"]]:
            assert row["prosecdef"], f"{row['fn']} crosses a role boundary: SECURITY DEFINER"


def test_every_queue_function_has_a_comment(db: Conn) -> None:
    missing = db.execute(
        """SELECT p.oid::regprocedure::text AS fn FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'queue' AND obj_description(p.oid, 'pg_proc') IS NULL"""
    ).fetchall()
    assert missing == []


TABLE_RIGHTS = [
    pytest.param(CONTROLLER, "queue.agent", "SELECT", False, id="controller-no-table-access"),
    pytest.param(CONTROLLER, "queue.caller", "UPDATE", False, id="controller-no-caller-dml"),
    pytest.param(CONSOLE, "queue.queue", "UPDATE", True, id="console-edits-queues"),
    pytest.param(CONSOLE, "queue.member", "INSERT", True, id="console-edits-members"),
    pytest.param(CONSOLE, "queue.caller", "DELETE", False, id="console-no-live-state-dml"),
    pytest.param(REPORT, "queue.wave_leg", "SELECT", True, id="report-reads-waves"),
    pytest.param(REPORT, "queue.wave", "INSERT", False, id="report-read-only"),
]


@pytest.mark.parametrize(("role", "table", "right", "expected"), TABLE_RIGHTS)
def test_table_rights(db: Conn, role: str, table: str, right: str, expected: bool) -> None:
    row = db.execute(
        "SELECT has_table_privilege(%s, %s, %s) AS ok", (role, table, right)
    ).fetchone()
    assert row is not None
    assert row["ok"] is expected


def test_console_cannot_set_agent_state_directly(db: Conn) -> None:
    row = db.execute(
        "SELECT has_column_privilege(%s, 'queue.agent', 'state', 'UPDATE') AS state, "
        "has_column_privilege(%s, 'queue.agent', 'name', 'UPDATE') AS name",
        (CONSOLE, CONSOLE),
    ).fetchone()
    assert row == {"state": False, "name": True}


def test_controller_role_runs_a_wave_through_the_functions(db: Conn) -> None:
    from tests.queue.builders import at, call, make_agents, make_domain, make_queue, new_call

    domain = make_domain(db)
    queue = make_queue(db, domain)
    make_agents(db, domain, queue, 3)
    caller = new_call()
    db.execute(f"SET LOCAL ROLE {CONTROLLER}")
    assert call(db, "queue.enter(%s, %s, NULL, %s)", caller, queue, at(0))["action"] == "wait"
    assert call(db, "queue.next_wave(%s, %s)", caller, at(1))["action"] == "ring"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        call(db, "queue.login_agent(%s, %s)", 1, at(2))


def test_every_function_the_executor_calls_exists_and_is_granted_to_the_controller(
    db: Conn,
) -> None:
    from controller.queue_step import QUEUE_FUNCTIONS

    for name, types in QUEUE_FUNCTIONS.items():
        signature = f"queue.{name}({','.join(types)})"
        row = db.execute(
            "SELECT has_function_privilege(%s, %s::regprocedure, 'EXECUTE') AS ok",
            (CONTROLLER, signature),
        ).fetchone()
        assert row == {"ok": True}, signature
