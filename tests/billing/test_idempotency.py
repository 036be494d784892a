"""Idempotency: charge_call and record_call twice for one CDR, record_usage twice for one event."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.billing import billing_factories as bf


def _snapshot(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return [
        tuple(r.values()) for r in db.execute("SELECT * FROM billing.charge ORDER BY id").fetchall()
    ]


def test_charge_call_twice_changes_nothing(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    document = bf.cdr_document(
        direction="outbound",
        destination="+4989123",
        caller_number=phone.personal_e164,
        device_id=phone.device_id,
        number_id=phone.personal_number_id,
    )
    call_id = bf.record_call(db, document)
    before = _snapshot(db)
    assert len(before) == 1
    assert db.execute("SELECT billing.charge_call(%s) AS n", (call_id,)).fetchone()["n"] == 0
    assert bf.record_call(db, document) == call_id  # a replayed CDR
    assert _snapshot(db) == before


def test_record_usage_twice_returns_the_same_usage_and_one_charge(
    db: psycopg.Connection[Any],
) -> None:
    phone = bf.make_two_number_phone(db)
    event = {
        "event_id": "data-42",
        "device_id": phone.device_id,
        "type": "data",
        "at": "2026-06-10T10:00:00Z",
        "number": phone.personal_e164,
        "bytes": 3_000_000,
    }
    first = bf.record_usage(db, event)
    before = _snapshot(db)
    assert bf.record_usage(db, event) == first
    assert bf.record_usage(db, {**event, "bytes": 9_000_000}) == first  # same id: first one wins
    assert _snapshot(db) == before
    assert db.execute("SELECT count(*) AS n FROM billing.usage").fetchone()["n"] == 1


def test_same_event_id_on_two_devices_is_two_events(db: psycopg.Connection[Any]) -> None:
    from tests.sql import factories as f

    phone = bf.make_two_number_phone(db)
    other_device = f.make_device(db, phone.domain_id, "1009")
    event = {
        "event_id": "sms-1",
        "type": "sms",
        "at": "2026-06-10T10:00:00Z",
        "number": phone.personal_e164,
        "destination": "+4917000",
    }
    a = bf.record_usage(db, {**event, "device_id": phone.device_id})
    b = bf.record_usage(db, {**event, "device_id": other_device})
    assert a != b
    # the other device has no billing phone: usage recorded, nothing charged
    assert bf.charges(db, usage_id=b) == []
