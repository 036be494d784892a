"""Private mode: everything goes to the default account, and the employer never sees it (absent
from the business account's JSON report, CSV rows, webhook payload and the reporting view; totals
computed without it) while the owner's own account shows it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.billing import billing_factories as bf

PERIOD = ("2026-06-01", "2026-07-01")


def _business_call(
    db: psycopg.Connection[Any], phone: bf.TwoNumberPhone, *, start: datetime, billsec: int = 60
) -> int:
    return bf.record_call(
        db,
        bf.cdr_document(
            direction="outbound",
            destination="+442071234567",
            caller_number=phone.business_e164,
            device_id=phone.device_id,
            number_id=phone.business_number_id,
            billsec=billsec,
            start=start,
        ),
    )


@pytest.fixture
def phone(db: psycopg.Connection[Any]) -> bf.TwoNumberPhone:
    phone = bf.make_two_number_phone(db)
    bf.add_rule(
        db,
        phone.phone_id,
        phone.business_account_id,
        "business number",
        number_id=phone.business_number_id,
    )
    return phone


def _report(db: psycopg.Connection[Any], account_id: int) -> dict[str, Any]:
    return dict(
        db.execute(
            "SELECT billing.account_report(%s, %s, %s) AS r", (account_id, *PERIOD)
        ).fetchone()["r"]
    )


def _rows(db: psycopg.Connection[Any], account_id: int) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT * FROM billing.account_report_rows(%s, %s, %s)", (account_id, *PERIOD)
    ).fetchall()


def test_private_mode_charges_default_account_and_hides_it_from_the_employer(
    db: psycopg.Connection[Any], phone: bf.TwoNumberPhone
) -> None:
    work_call = _business_call(db, phone, start=bf.WEDNESDAY_10, billsec=60)
    db.execute("SELECT billing.set_private_mode(%s, true)", (phone.phone_id,))
    private_call = _business_call(
        db, phone, start=bf.WEDNESDAY_10 + timedelta(hours=1), billsec=120
    )
    private_sms = bf.record_usage(
        db,
        {
            "event_id": "sms-private",
            "device_id": phone.device_id,
            "type": "sms",
            "at": "2026-06-10T12:00:00Z",
            "number": phone.business_e164,
            "destination": "+4917012345",
        },
    )

    (work,) = bf.charges(db, call_id=work_call)
    assert (work["account_id"], work["decided_by"], work["private"]) == (
        phone.business_account_id,
        "rule",
        False,
    )
    for row in bf.charges(db, call_id=private_call) + bf.charges(db, usage_id=private_sms):
        assert (row["account_id"], row["decided_by"], row["private"]) == (
            phone.personal_account_id,
            "private_mode",
            True,
        )
        assert row["explanation"]["decision"]["rules_tried"] == []

    employer = _report(db, phone.business_account_id)
    assert [line["charge_id"] for line in employer["lines"]] == [work["id"]]
    assert employer["totals"]["count"] == 1
    assert Decimal(str(employer["totals"]["amount"])) == Decimal("0.60")

    owner = _report(db, phone.personal_account_id)
    assert {line["decided_by"] for line in owner["lines"]} == {"private_mode"}
    assert owner["totals"]["count"] == 2
    assert Decimal(str(owner["totals"]["amount"])) == Decimal("1.29")  # 1.20 call + 0.09 sms


def test_private_charges_are_absent_from_business_rows_and_webhook(
    db: psycopg.Connection[Any], phone: bf.TwoNumberPhone
) -> None:
    # Even when the default account is the business one, private actions stay out of its reports.
    db.execute(
        "UPDATE billing.phone SET default_account_id = %s WHERE id = %s",
        (phone.business_account_id, phone.phone_id),
    )
    work_call = _business_call(db, phone, start=bf.WEDNESDAY_10)
    db.execute("SELECT billing.set_private_mode(%s, true)", (phone.phone_id,))
    private_call = _business_call(db, phone, start=bf.WEDNESDAY_10 + timedelta(hours=1))
    (private,) = bf.charges(db, call_id=private_call)
    assert private["account_id"] == phone.business_account_id and private["private"]

    rows = _rows(db, phone.business_account_id)
    assert [r["charge_id"] for r in rows] == [bf.charges(db, call_id=work_call)[0]["id"], None]
    assert rows[-1]["amount"] == Decimal("0.60")
    payload = db.execute(
        "SELECT billing.webhook_payload(%s, %s, %s) AS p", (phone.business_account_id, *PERIOD)
    ).fetchone()["p"]
    text = str(payload)
    assert [line["charge_id"] for line in payload["report"]["lines"]] == [rows[0]["charge_id"]]
    assert "10:00:00" in text  # the work call (10:00 UTC) is there ...
    assert "11:00:00" not in text  # ... the private one (11:00 UTC) is not
    assert payload["report"]["totals"]["count"] == 1


def test_private_mode_until_expires(db: psycopg.Connection[Any], phone: bf.TwoNumberPhone) -> None:
    until = bf.WEDNESDAY_10 + timedelta(minutes=30)
    db.execute("SELECT billing.set_private_mode(%s, true, %s)", (phone.phone_id, until))
    before = _business_call(db, phone, start=bf.WEDNESDAY_10)
    after = _business_call(db, phone, start=until)
    assert bf.charges(db, call_id=before)[0]["decided_by"] == "private_mode"
    assert bf.charges(db, call_id=after)[0]["decided_by"] == "rule"


def test_reporting_role_never_reads_private_rows(
    db: psycopg.Connection[Any], phone: bf.TwoNumberPhone
) -> None:
    _business_call(db, phone, start=bf.WEDNESDAY_10)
    db.execute("SELECT billing.set_private_mode(%s, true)", (phone.phone_id,))
    _business_call(db, phone, start=bf.WEDNESDAY_10 + timedelta(hours=1))
    db.execute("SET LOCAL ROLE huntsman_report")
    visible = db.execute("SELECT decided_by FROM billing.report_charge").fetchall()
    assert [r["decided_by"] for r in visible] == ["rule"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("SELECT * FROM billing.charge")


def test_reporting_role_never_reads_private_calls_in_the_cdrs(
    db: psycopg.Connection[Any], phone: bf.TwoNumberPhone
) -> None:
    public_call = _business_call(db, phone, start=bf.WEDNESDAY_10)
    db.execute("SELECT billing.set_private_mode(%s, true)", (phone.phone_id,))
    private_call = _business_call(db, phone, start=bf.WEDNESDAY_10 + timedelta(hours=1))
    db.execute("SET LOCAL ROLE huntsman_report")
    ids = {r["id"] for r in db.execute("SELECT id FROM cdr.report_call").fetchall()}
    assert public_call in ids
    assert private_call not in ids
    legs = {r["call_id"] for r in db.execute("SELECT call_id FROM cdr.report_call_leg").fetchall()}
    assert private_call not in legs
    for table in ("cdr.call", "cdr.call_leg"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(f"SELECT 1 FROM {table}")
        db.rollback()
        db.execute("SET LOCAL ROLE huntsman_report")
