"""Web tests: a committed database of their own (the app's pool reads what the test wrote),
the two-number phone of tests/billing, tokens, and a Flask test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg.rows import dict_row

from tests.billing import billing_factories as bf
from web.app import close_pool, create_app


@dataclass(frozen=True)
class World:
    url: str
    phone: bf.TwoNumberPhone
    device_token: str
    business_token: str
    personal_token: str
    work_charge_id: int
    private_charge_ids: tuple[int, ...]


def _token(conn: psycopg.Connection[Any], kind: str, subject: int) -> str:
    return str(
        conn.execute("SELECT billing.issue_token(%s, %s) AS t", (kind, subject)).fetchone()["t"]
    )


def build_world(url: str) -> World:
    """Alice's phone; one work call on the business number (charged to ACME by rule), then, in
    private mode, a call on the business number and an SMS (charged to her personal account)."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        phone = bf.make_two_number_phone(conn)
        bf.add_rule(
            conn,
            phone.phone_id,
            phone.business_account_id,
            "business number",
            number_id=phone.business_number_id,
        )
        work = bf.record_call(
            conn,
            bf.cdr_document(
                direction="outbound",
                destination="+442071234567",
                caller_number=phone.business_e164,
                device_id=phone.device_id,
                number_id=phone.business_number_id,
                billsec=90,
            ),
        )
        conn.execute("SELECT billing.set_private_mode(%s, true)", (phone.phone_id,))
        private_call = bf.record_call(
            conn,
            bf.cdr_document(
                direction="outbound",
                destination="+33612345678",
                caller_number=phone.business_e164,
                device_id=phone.device_id,
                number_id=phone.business_number_id,
                billsec=300,
                start=bf.WEDNESDAY_10 + timedelta(hours=3),
            ),
        )
        private_sms = bf.record_usage(
            conn,
            {
                "event_id": "private-sms",
                "device_id": phone.device_id,
                "type": "sms",
                "at": "2026-06-10T14:00:00Z",
                "number": phone.business_e164,
                "destination": "+33698765432",
            },
        )
        conn.execute("SELECT billing.set_private_mode(%s, false)", (phone.phone_id,))
        private_ids = tuple(
            r["id"]
            for r in bf.charges(conn, call_id=private_call) + bf.charges(conn, usage_id=private_sms)
        )
        world = World(
            url=url,
            phone=phone,
            device_token=_token(conn, "device", phone.device_id),
            business_token=_token(conn, "account", phone.business_account_id),
            personal_token=_token(conn, "account", phone.personal_account_id),
            work_charge_id=bf.charges(conn, call_id=work)[0]["id"],
            private_charge_ids=private_ids,
        )
        conn.commit()
    return world


@pytest.fixture(scope="module")
def world(make_database: Callable[..., str]) -> World:
    return build_world(make_database())


@pytest.fixture(scope="module")
def app(world: World) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": world.url, "TESTING": True, "SECRET_KEY": "test"})
    yield app
    close_pool(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
