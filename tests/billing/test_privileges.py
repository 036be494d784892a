"""Roles: EXECUTE revoked from PUBLIC, definer functions with a pinned search_path, the
controller only reaches billing through cdr.record_call, the reporting role only through the
view and the report functions."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.billing import billing_factories as bf


def test_no_billing_function_is_executable_by_public(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(
        """
        SELECT p.oid::regprocedure::text AS fn
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'billing'
           AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                                             WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
        """
    ).fetchall()
    assert [r["fn"] for r in rows] == []


def test_definer_functions_pin_search_path_and_helpers_are_for_nobody(
    db: psycopg.Connection[Any],
) -> None:
    rows = db.execute(
        """
        SELECT p.oid::regprocedure::text AS fn, p.prosecdef, p.proconfig,
               EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                        WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE') AS granted
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'billing'
        """
    ).fetchall()
    definers = {r["fn"] for r in rows if r["prosecdef"]}
    assert {"billing.charge_call(bigint)", "billing.record_usage(jsonb)"} <= definers
    unpinned = [
        r["fn"]
        for r in rows
        if r["prosecdef"] and not any(c.startswith("search_path=") for c in r["proconfig"] or [])
    ]
    assert unpinned == []
    # helpers run only inside the definer entry points (whose pinned path they inherit)
    granted_helpers = [r["fn"] for r in rows if not r["prosecdef"] and r["granted"]]
    assert granted_helpers == []


@pytest.mark.parametrize(
    ("role", "sql", "allowed"),
    [
        pytest.param(
            "huntsman_controller",
            "SELECT billing.charge_call(1)",
            False,
            id="controller-no-direct-charge-call",
        ),
        pytest.param(
            "huntsman_controller", "SELECT * FROM billing.charge", False, id="controller-no-charges"
        ),
        pytest.param(
            "huntsman_report", "SELECT * FROM billing.charge", False, id="report-no-base-table"
        ),
        pytest.param(
            "huntsman_report", "SELECT * FROM billing.usage", False, id="report-no-usage-table"
        ),
        pytest.param(
            "huntsman_report",
            "SELECT * FROM billing.account_webhook",
            False,
            id="report-no-webhook-secrets",
        ),
        pytest.param(
            "huntsman_report", "SELECT * FROM billing.report_charge", True, id="report-reads-view"
        ),
        pytest.param(
            "huntsman_console",
            "SELECT * FROM billing.api_token",
            False,
            id="console-no-token-hashes",
        ),
        pytest.param(
            "huntsman_console",
            "SELECT * FROM billing.policy_rule",
            True,
            id="console-edits-policies",
        ),
    ],
)
def test_role_access(db: psycopg.Connection[Any], role: str, sql: str, allowed: bool) -> None:
    db.execute(f"SET LOCAL ROLE {role}")
    if allowed:
        db.execute(sql)
    else:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(sql)


def test_controller_charges_through_record_call(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    document = bf.cdr_document(
        direction="outbound",
        destination="+4989123",
        caller_number=phone.personal_e164,
        device_id=phone.device_id,
        number_id=phone.personal_number_id,
    )
    db.execute("SET LOCAL ROLE huntsman_controller")
    call_id = bf.record_call(db, document)
    db.execute("RESET ROLE")
    assert len(bf.charges(db, call_id=call_id)) == 1
