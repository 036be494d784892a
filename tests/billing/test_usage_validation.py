"""billing.record_usage refuses bad events with HMB01 and the field name in COLUMN."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.billing import billing_factories as bf

GOOD = {
    "event_id": "sms-1",
    "type": "sms",
    "at": "2026-06-10T10:00:00Z",
    "number": "+4930111111",
    "destination": "+4917000",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"event_id": None}, "event_id", id="event-id-missing"),
        pytest.param({"event_id": 12}, "event_id", id="event-id-not-a-string"),
        pytest.param({"event_id": "x" * 129}, "event_id", id="event-id-too-long"),
        pytest.param({"type": "fax"}, "type", id="type-unknown"),
        pytest.param({"at": None}, "at", id="at-missing"),
        pytest.param({"at": "yesterday"}, "at", id="at-not-a-timestamp"),
        pytest.param({"at": "2026-13-45T10:00:00Z"}, "at", id="at-impossible-date"),
        pytest.param({"number": "030111111"}, "number", id="number-not-e164"),
        pytest.param({"number": "+4930999999"}, "number", id="number-not-in-domain"),
        pytest.param({"destination": None}, "destination", id="sms-destination-missing"),
        pytest.param({"destination": "abc"}, "destination", id="sms-destination-malformed"),
        pytest.param({"messages": 0}, "messages", id="messages-zero"),
        pytest.param({"messages": "2"}, "messages", id="messages-string"),
        pytest.param({"type": "data", "bytes": -1}, "bytes", id="data-bytes-negative"),
        pytest.param({"type": "data"}, "bytes", id="data-bytes-missing"),
        pytest.param(
            {"type": "data", "bytes": 10, "host_category": "Video!"},
            "host_category",
            id="data-bad-category",
        ),
        pytest.param({"device_id": "7"}, "device_id", id="device-id-string"),
    ],
)
def test_bad_event_names_the_field(
    db: psycopg.Connection[Any], change: dict[str, Any], field: str
) -> None:
    phone = bf.make_two_number_phone(db)
    event = {**GOOD, "device_id": phone.device_id}
    for key, value in change.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT billing.record_usage(%s)", (Jsonb(event),))
    assert caught.value.sqlstate == "HMB01"
    assert caught.value.diag.column_name == field
    assert field.split("_")[0] in (caught.value.diag.message_primary or "")


def test_number_of_another_phone_is_refused(db: psycopg.Connection[Any]) -> None:
    from tests.sql import factories as f

    phone = bf.make_two_number_phone(db)
    f.make_number(db, phone.domain_id, "+4930777777")
    with pytest.raises(psycopg.Error) as caught:
        bf.record_usage(db, {**GOOD, "device_id": phone.device_id, "number": "+4930777777"})
    assert caught.value.sqlstate == "HMB01" and caught.value.diag.column_name == "number"


def test_unknown_device_is_hmb02(db: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.Error) as caught:
        bf.record_usage(db, {**GOOD, "device_id": 987654321})
    assert caught.value.sqlstate == "HMB02" and caught.value.diag.column_name == "device_id"
