"""Policy changes and private-mode switches are audited: who (huntsman.actor, else the session
user), when, what changed."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.billing import billing_factories as bf


def _log(db: psycopg.Connection[Any], phone_id: int) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT actor, change, old_row, new_row, at FROM billing.audit_log WHERE phone_id = %s ORDER BY id",
        (phone_id,),
    ).fetchall()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            "INSERT INTO billing.policy_rule (domain_id, phone_id, name, account_id)"
            " SELECT domain_id, id, 'all to employer', %(business)s FROM billing.phone WHERE id = %(phone)s",
            "policy_rule_insert",
            id="rule-added",
        ),
        pytest.param(
            "UPDATE billing.policy_rule SET account_id = %(business)s WHERE phone_id = %(phone)s",
            "policy_rule_update",
            id="rule-changed",
        ),
        pytest.param(
            "DELETE FROM billing.policy_rule WHERE phone_id = %(phone)s",
            "policy_rule_delete",
            id="rule-removed",
        ),
        pytest.param(
            "SELECT billing.set_private_mode(%(phone)s, true)", "private_mode_on", id="private-on"
        ),
        pytest.param(
            "UPDATE billing.phone SET default_account_id = %(business)s WHERE id = %(phone)s",
            "default_account_change",
            id="default-account-changed",
        ),
    ],
)
def test_change_is_audited_with_the_actor(
    db: psycopg.Connection[Any], change: str, expected: str
) -> None:
    phone = bf.make_two_number_phone(db)
    bf.add_rule(db, phone.phone_id, phone.personal_account_id, "calls", action="outgoing_call")
    seen = len(_log(db, phone.phone_id))
    db.execute("SELECT set_config('huntsman.actor', 'admin@example.com', true)")
    db.execute(change, {"phone": phone.phone_id, "business": phone.business_account_id})
    new = _log(db, phone.phone_id)[seen:]
    assert [(r["actor"], r["change"]) for r in new] == [("admin@example.com", expected)]
    assert new[0]["at"] is not None


def test_private_mode_off_and_session_user_fallback(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    db.execute("SELECT billing.set_private_mode(%s, true)", (phone.phone_id,))
    db.execute("SELECT billing.set_private_mode(%s, false)", (phone.phone_id,))
    session_user = db.execute("SELECT session_user AS u").fetchone()["u"]
    rows = _log(db, phone.phone_id)[-2:]
    assert [(r["actor"], r["change"]) for r in rows] == [
        (session_user, "private_mode_on"),
        (session_user, "private_mode_off"),
    ]
    assert (
        rows[1]["old_row"]["private_mode"] is True and rows[1]["new_row"]["private_mode"] is False
    )


def test_unrelated_phone_update_is_not_audited(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    seen = len(_log(db, phone.phone_id))
    db.execute("UPDATE billing.phone SET name = 'Renamed' WHERE id = %s", (phone.phone_id,))
    assert len(_log(db, phone.phone_id)) == seen
