"""Build billing rows for tests: accounts, multi-number phones, policy rules, rates, CDRs, usage.

Like tests/sql/factories.py: small functions taking a psycopg connection (any row factory),
working inside the caller's transaction, returning ids. `make_two_number_phone` builds the
issue-5 setup: Alice's phone with a personal and a business number.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.sql import factories as f

Conn = psycopg.Connection[Any]

# A Wednesday, 10:00 UTC (11:00 in Berlin).
WEDNESDAY_10 = datetime.fromisoformat("2026-06-10T10:00:00+00:00")
SATURDAY_10 = datetime.fromisoformat("2026-06-13T10:00:00+00:00")


_scalar = f._scalar


def _insert(db: Conn, table: str, values: dict[str, Any]) -> int:
    return f._insert(db, table, values, schema="billing")


def make_account(
    db: Conn,
    domain_id: int,
    name: str,
    *,
    kind: str = "personal",
    owner_kind: str | None = None,
    owner_name: str | None = None,
    owner_user_id: int | None = None,
    currency: str = "EUR",
) -> int:
    return _insert(
        db,
        "account",
        {
            "domain_id": domain_id,
            "name": name,
            "kind": kind,
            "owner_kind": owner_kind or ("person" if kind == "personal" else "organisation"),
            "owner_name": owner_name or name,
            "owner_user_id": owner_user_id,
            "currency": currency,
        },
    )


def make_phone(
    db: Conn,
    domain_id: int,
    default_account_id: int,
    *,
    name: str = "Mobile",
    device_id: int | None = None,
    user_id: int | None = None,
) -> int:
    return _insert(
        db,
        "phone",
        {
            "domain_id": domain_id,
            "name": name,
            "device_id": device_id,
            "user_id": user_id,
            "default_account_id": default_account_id,
        },
    )


def add_phone_number(
    db: Conn, phone_id: int, number_id: int, account_id: int, contact_type: str
) -> None:
    db.execute(
        "INSERT INTO billing.phone_number (domain_id, phone_id, number_id, account_id, contact_type)"
        " SELECT domain_id, %s, %s, %s, %s FROM billing.phone WHERE id = %s",
        (phone_id, number_id, account_id, contact_type, phone_id),
    )


def add_rule(db: Conn, phone_id: int, account_id: int, name: str = "rule", **criteria: Any) -> int:
    """A policy rule; position defaults to after the last one. criteria: action, number_id,
    destination_class, destination_prefix, destination_country, host_category, schedule_id,
    enabled, position."""
    domain_id = _scalar(db, "SELECT domain_id FROM billing.phone WHERE id = %s", (phone_id,))
    if criteria.get("position") is None:
        criteria["position"] = _scalar(
            db,
            "SELECT coalesce(max(position) + 1, 0) FROM billing.policy_rule WHERE phone_id = %s",
            (phone_id,),
        )
    return _insert(
        db,
        "policy_rule",
        {"domain_id": domain_id, "phone_id": phone_id, "account_id": account_id, "name": name}
        | criteria,
    )


def add_rate(
    db: Conn,
    account_id: int,
    action: str,
    price: str | Decimal,
    *,
    prefix: str = "",
    connection_fee: str | Decimal = "0",
    increments: tuple[int, int] = (1, 1),
    minimum_charge: str | Decimal = "0",
) -> int:
    domain_id = _scalar(db, "SELECT domain_id FROM billing.account WHERE id = %s", (account_id,))
    return _insert(
        db,
        "rate",
        {
            "domain_id": domain_id,
            "account_id": account_id,
            "action": action,
            "prefix": prefix,
            "price": Decimal(price),
            "connection_fee": Decimal(connection_fee),
            "initial_increment": increments[0],
            "subsequent_increment": increments[1],
            "minimum_charge": Decimal(minimum_charge),
        },
    )


def cdr_document(
    *,
    direction: str,
    destination: str,
    caller_number: str,
    billsec: int = 60,
    start: datetime = WEDNESDAY_10,
    device_id: int | None = None,
    number_id: int | None = None,
    answered_by_device_id: int | None = None,
    domain: str = "example.com",
    uuid: str | None = None,
) -> dict[str, Any]:
    """A CDR as the controller writes it (cdr.record_call), with the plan's billing object."""
    answered = billsec > 0
    answer = start + timedelta(seconds=2) if answered else None
    end = (answer or start) + timedelta(seconds=billsec)
    return {
        "uuid": uuid or str(uuid_module.uuid4()),
        "domain": domain,
        "caller_number": caller_number,
        "caller_name": "Caller",
        "destination": destination,
        "route": {"kind": "outbound" if direction == "outbound" else "number"},
        "answered_by": {"target": "x", "device_id": answered_by_device_id}
        if answered_by_device_id
        else None,
        "start_at": start.isoformat(),
        "answer_at": answer.isoformat() if answer else None,
        "end_at": end.isoformat(),
        "billsec": billsec,
        "duration": int((end - start).total_seconds()),
        "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER",
        "disposition": "answered" if answered else "no_answer",
        "plan": {
            "plan_version": 1,
            "billing": {
                "direction": direction,
                "device_id": device_id,
                "number_id": number_id,
                "account_id": None,
            },
        },
        "legs": [],
    }


def record_call(db: Conn, document: dict[str, Any]) -> int:
    return int(_scalar(db, "SELECT cdr.record_call(%s)", (Jsonb(document),)))


def record_usage(db: Conn, event: dict[str, Any]) -> int:
    return int(_scalar(db, "SELECT billing.record_usage(%s)", (Jsonb(event),)))


def charges(
    db: Conn, *, call_id: int | None = None, usage_id: int | None = None
) -> list[dict[str, Any]]:
    with db.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT * FROM billing.charge WHERE call_id = %s OR usage_id = %s ORDER BY id",
            (call_id, usage_id),
        )
        return cur.fetchall()


@dataclass(frozen=True)
class TwoNumberPhone:
    """Alice's phone (device 1001) with a personal and a business number."""

    domain_id: int
    user_id: int
    device_id: int
    phone_id: int
    personal_number_id: int
    business_number_id: int
    personal_account_id: int
    business_account_id: int
    personal_e164: str = "+4930111111"
    business_e164: str = "+4930222222"

    def account(self, which: str) -> int:
        return {"personal": self.personal_account_id, "business": self.business_account_id}[which]

    def number(self, which: str) -> int:
        return {"personal": self.personal_number_id, "business": self.business_number_id}[which]

    def e164(self, which: str) -> str:
        return {"personal": self.personal_e164, "business": self.business_e164}[which]


def make_two_number_phone(db: Conn, domain: str = "example.com") -> TwoNumberPhone:
    """Domain + Alice + her device + two numbers + her personal account (the default) + ACME's
    business account paying for the business number; simple per-second rates on both."""
    domain_id = f.make_domain(db, domain)
    user_id = f.make_user(db, domain_id, "Alice")
    personal_number = f.make_number(db, domain_id, "+4930111111")
    business_number = f.make_number(db, domain_id, "+4930222222")
    device_id = f.make_device(db, domain_id, "1001", user_id=user_id, number_id=personal_number)
    personal = make_account(db, domain_id, "Alice private", kind="personal", owner_user_id=user_id)
    business = make_account(
        db, domain_id, "ACME", kind="business", owner_name="ACME GmbH", owner_kind="organisation"
    )
    phone_id = make_phone(db, domain_id, personal, name="Alice mobile", device_id=device_id)
    add_phone_number(db, phone_id, personal_number, personal, "personal")
    add_phone_number(db, phone_id, business_number, business, "business")
    for account in (personal, business):
        add_rate(db, account, "outgoing_call", "0.60")  # 1 cent a second
        add_rate(db, account, "incoming_call", "0")
        add_rate(db, account, "sms", "0.09")
        add_rate(db, account, "mms", "0.30")
        add_rate(db, account, "data", "1.00")  # per MB
    return TwoNumberPhone(
        domain_id=domain_id,
        user_id=user_id,
        device_id=device_id,
        phone_id=phone_id,
        personal_number_id=personal_number,
        business_number_id=business_number,
        personal_account_id=personal,
        business_account_id=business,
    )
