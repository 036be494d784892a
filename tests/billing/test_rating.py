"""Rating: increments (60/60, 30/6, 1/1), connection fee, minimum charge, zero-second calls,
longest prefix, per-unit SMS and data, and rounding (4 decimals stored, 2 on reports, half away
from zero)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.billing import billing_factories as bf
from tests.sql import factories as f


def _rate_once(
    db: psycopg.Connection[Any],
    *,
    price: str,
    seconds: int,
    increments: tuple[int, int] = (1, 1),
    connection_fee: str = "0",
    minimum_charge: str = "0",
) -> dict[str, Any]:
    domain_id = f.make_domain(db)
    account = bf.make_account(db, domain_id, "A")
    bf.add_rate(
        db,
        account,
        "outgoing_call",
        price,
        increments=increments,
        connection_fee=connection_fee,
        minimum_charge=minimum_charge,
    )
    row = db.execute(
        "SELECT billing.rate_action(%s, 'outgoing_call', '+4989123', %s) AS r", (account, seconds)
    ).fetchone()
    return dict(row["r"])


@pytest.mark.parametrize(
    ("increments", "seconds", "billed"),
    [
        pytest.param((60, 60), 1, 60, id="60/60-1s-bills-a-minute"),
        pytest.param((60, 60), 60, 60, id="60/60-60s-one-minute"),
        pytest.param((60, 60), 61, 120, id="60/60-61s-two-minutes"),
        pytest.param((30, 6), 1, 30, id="30/6-1s-bills-30s"),
        pytest.param((30, 6), 30, 30, id="30/6-30s-exact"),
        pytest.param((30, 6), 31, 36, id="30/6-31s-one-more-block"),
        pytest.param((30, 6), 65, 66, id="30/6-65s-66s"),
        pytest.param((1, 1), 65, 65, id="1/1-per-second"),
        pytest.param((1, 1), 0, 0, id="1/1-zero-seconds"),
        pytest.param((60, 60), 0, 0, id="60/60-zero-seconds-bills-nothing"),
    ],
)
def test_increments(
    db: psycopg.Connection[Any], increments: tuple[int, int], seconds: int, billed: int
) -> None:
    rated = _rate_once(db, price="0.60", seconds=seconds, increments=increments)
    assert rated["billed_units"] == billed
    assert Decimal(str(rated["amount"])) == Decimal(billed) / 100  # 0.60/min = 1 cent a second


@pytest.mark.parametrize(
    ("kwargs", "amount", "minimum_applied"),
    [
        pytest.param(
            {"price": "0.10", "seconds": 60, "connection_fee": "0.10"},
            "0.2000",
            False,
            id="connection-fee-added",
        ),
        pytest.param(
            {"price": "0.10", "seconds": 5, "minimum_charge": "0.05"},
            "0.0500",
            True,
            id="minimum-charge-applies",
        ),
        pytest.param(
            {"price": "0.10", "seconds": 600, "minimum_charge": "0.05"},
            "1.0000",
            False,
            id="minimum-below-usage",
        ),
        pytest.param(
            {"price": "0.10", "seconds": 5, "connection_fee": "0.03", "minimum_charge": "0.05"},
            "0.0500",
            True,
            id="minimum-includes-connection-fee",
        ),
        pytest.param(
            {"price": "0.10", "seconds": 0, "connection_fee": "0.10", "minimum_charge": "0.50"},
            "0.0000",
            False,
            id="zero-seconds-no-fee-no-minimum",
        ),
        pytest.param({"price": "0.10", "seconds": 1}, "0.0017", False, id="4-decimals-rounds-up"),
        pytest.param({"price": "0.11", "seconds": 1}, "0.0018", False, id="4-decimals-rounds-down"),
        pytest.param({"price": "0.003", "seconds": 1}, "0.0001", False, id="4-decimals-half-away"),
    ],
)
def test_fees_minimum_and_rounding(
    db: psycopg.Connection[Any], kwargs: dict[str, Any], amount: str, minimum_applied: bool
) -> None:
    rated = _rate_once(db, **kwargs)
    assert Decimal(str(rated["amount"])) == Decimal(amount)
    assert rated["minimum_applied"] is minimum_applied


def test_longest_prefix_wins(db: psycopg.Connection[Any]) -> None:
    domain_id = f.make_domain(db)
    account = bf.make_account(db, domain_id, "A")
    for prefix, price in (("", "0.01"), ("+44", "0.02"), ("+447", "0.20"), ("+4479", "0.30")):
        bf.add_rate(db, account, "outgoing_call", price, prefix=prefix)

    def prefix_for(number: str) -> str:
        row = db.execute(
            "SELECT billing.rate_action(%s, 'outgoing_call', %s, 60) ->> 'prefix' AS p",
            (account, number),
        ).fetchone()
        return str(row["p"])

    assert prefix_for("+447712345678") == "+447"
    assert prefix_for("+447912345678") == "+4479"
    assert prefix_for("+442071234567") == "+44"
    assert prefix_for("+4930123") == ""


def test_no_rate_is_free_but_listed(db: psycopg.Connection[Any]) -> None:
    domain_id = f.make_domain(db)
    account = bf.make_account(db, domain_id, "A")
    row = db.execute(
        "SELECT billing.rate_action(%s, 'outgoing_call', '+4930', 120) AS r", (account,)
    ).fetchone()
    assert row["r"]["rate_id"] is None and row["r"]["amount"] == 0


@pytest.mark.parametrize(
    ("event", "billed_quantity", "amount"),
    [
        pytest.param({"type": "sms", "destination": "+4917000"}, 1, "0.0900", id="one-sms"),
        pytest.param(
            {"type": "sms", "destination": "+4917000", "messages": 3}, 3, "0.2700", id="three-sms"
        ),
        pytest.param({"type": "mms", "destination": "+4917000"}, 1, "0.3000", id="one-mms"),
        pytest.param({"type": "data", "bytes": 1_500_000}, 1_500_000, "1.5000", id="data-1.5MB"),
        pytest.param(
            {"type": "data", "bytes": 1_500}, 2_000, "0.0020", id="data-started-kB-counts"
        ),
        pytest.param({"type": "data", "bytes": 0}, 0, "0.0000", id="data-zero-bytes"),
    ],
)
def test_usage_rating(
    db: psycopg.Connection[Any], event: dict[str, Any], billed_quantity: int, amount: str
) -> None:
    phone = bf.make_two_number_phone(db)
    usage_id = bf.record_usage(
        db,
        {
            "event_id": "e-1",
            "device_id": phone.device_id,
            "at": "2026-06-10T10:00:00Z",
            "number": phone.personal_e164,
            **event,
        },
    )
    (charge,) = bf.charges(db, usage_id=usage_id)
    assert charge["billed_quantity"] == billed_quantity
    assert charge["amount"] == Decimal(amount)
    assert charge["unit"] == ("byte" if event["type"] == "data" else "message")


@pytest.mark.parametrize(
    ("seconds", "line"),
    [
        pytest.param(1, "0.01", id="half-a-cent-rounds-up"),  # 0.30/min, 1 s = 0.0050
        pytest.param(3, "0.02", id="one-and-a-half-cents-rounds-up"),  # 0.0150
        pytest.param(49, "0.25", id="24.5-cents-rounds-up"),  # 0.2450
    ],
)
def test_report_lines_round_half_away_from_zero(
    db: psycopg.Connection[Any], seconds: int, line: str
) -> None:
    phone = bf.make_two_number_phone(db)
    db.execute(
        "UPDATE billing.rate SET price = 0.30 WHERE account_id = %s AND action = 'outgoing_call'",
        (phone.personal_account_id,),
    )
    call_id = bf.record_call(
        db,
        bf.cdr_document(
            direction="outbound",
            destination="+4989123",
            caller_number=phone.personal_e164,
            device_id=phone.device_id,
            number_id=phone.personal_number_id,
            billsec=seconds,
        ),
    )
    (charge,) = bf.charges(db, call_id=call_id)
    assert charge["amount"] == Decimal(seconds) * Decimal("0.005")
    report = db.execute(
        "SELECT billing.account_report(%s, '2026-06-01', '2026-07-01') AS r",
        (phone.personal_account_id,),
    ).fetchone()["r"]
    assert Decimal(str(report["lines"][0]["amount"])) == Decimal(line)
    assert Decimal(str(report["totals"]["amount"])) == Decimal(line)


def test_report_total_is_the_sum_of_rounded_lines(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    db.execute(
        "UPDATE billing.rate SET price = 0.30 WHERE account_id = %s AND action = 'outgoing_call'",
        (phone.personal_account_id,),
    )
    for _ in range(3):  # 3 x 0.0050 = 0.0150 unrounded, but 3 x 0.01 on the report
        bf.record_call(
            db,
            bf.cdr_document(
                direction="outbound",
                destination="+4989123",
                caller_number=phone.personal_e164,
                device_id=phone.device_id,
                billsec=1,
            ),
        )
    rows = db.execute(
        "SELECT * FROM billing.account_report_rows(%s, '2026-06-01', '2026-07-01')",
        (phone.personal_account_id,),
    ).fetchall()
    assert [r["amount"] for r in rows[:-1]] == [Decimal("0.01")] * 3
    assert rows[-1]["source"] == "total" and rows[-1]["amount"] == Decimal("0.03")
    assert rows[-1]["quantity"] == 3
