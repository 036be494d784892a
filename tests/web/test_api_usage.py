"""POST /api/v1/usage: device token auth, clear 400s naming the field, idempotent events."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from tests.web.conftest import World, bearer


def _event(world: World, **change: Any) -> dict[str, Any]:
    event = {
        "event_id": "api-sms-1",
        "type": "sms",
        "at": "2026-06-11T09:00:00Z",
        "number": world.phone.business_e164,
        "destination": "+4917012345",
    }
    event.update(change)
    return {k: v for k, v in event.items() if v is not None}


def test_usage_is_recorded_charged_and_idempotent(client: FlaskClient, world: World) -> None:
    event = _event(world, event_id="api-data-1", type="data", bytes=2_500_000, destination=None)
    first = client.post("/api/v1/usage", json=event, headers=bearer(world.device_token))
    assert first.status_code == 200, first.get_json()
    usage_id = first.get_json()["usage_id"]
    again = client.post("/api/v1/usage", json=event, headers=bearer(world.device_token))
    assert again.status_code == 200 and again.get_json()["usage_id"] == usage_id
    with psycopg.connect(world.url) as conn:
        rows = conn.execute(
            "SELECT account_id, amount, decided_by FROM billing.charge WHERE usage_id = %s",
            (usage_id,),
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][0] == world.phone.business_account_id and rows[0][2] == "rule"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, "missing_token", id="no-authorization-header"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_token", id="basic-auth"),
        pytest.param(
            {"Authorization": "Bearer not-a-token"}, "invalid_token", id="malformed-token"
        ),
        pytest.param(
            {"Authorization": "Bearer hmt_999999_" + "0" * 64},
            "invalid_token",
            id="unknown-token-id",
        ),
    ],
)
def test_missing_or_bad_token_is_401(
    client: FlaskClient, world: World, headers: dict[str, str], code: str
) -> None:
    response = client.post("/api/v1/usage", json=_event(world), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_right_id_wrong_secret_is_401(client: FlaskClient, world: World) -> None:
    prefix, _, secret = world.device_token.rpartition("_")
    forged = f"{prefix}_{'f' * len(secret) if secret[0] != 'f' else '0' * len(secret)}"
    response = client.post("/api/v1/usage", json=_event(world), headers=bearer(forged))
    assert response.status_code == 401


def test_revoked_token_is_401(client: FlaskClient, world: World) -> None:
    with psycopg.connect(world.url) as conn:
        token = conn.execute(
            "SELECT billing.issue_token('device', %s)", (world.phone.device_id,)
        ).fetchone()[0]
        token_id = int(token.split("_")[1])
        conn.execute("UPDATE billing.api_token SET revoked_at = now() WHERE id = %s", (token_id,))
    response = client.post("/api/v1/usage", json=_event(world), headers=bearer(token))
    assert response.status_code == 401


def test_account_token_cannot_post_usage(client: FlaskClient, world: World) -> None:
    response = client.post(
        "/api/v1/usage", json=_event(world), headers=bearer(world.business_token)
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param("not json", "event", id="body-not-json"),
        pytest.param([1, 2], "event", id="body-not-an-object"),
        pytest.param({"type": None}, "type", id="type-missing"),
        pytest.param({"type": "fax"}, "type", id="type-unknown"),
        pytest.param({"at": "soon"}, "at", id="at-malformed"),
        pytest.param({"number": "+4930999999"}, "number", id="number-not-the-phones"),
        pytest.param({"event_id": ""}, "event_id", id="event-id-empty"),
        pytest.param(
            {"type": "data", "bytes": -5, "destination": None}, "bytes", id="bytes-negative"
        ),
        pytest.param({"device_id": 424242}, "device_id", id="device-id-not-the-tokens"),
    ],
)
def test_bad_input_is_400_with_the_field(
    client: FlaskClient, world: World, body: Any, field: str
) -> None:
    headers = bearer(world.device_token)
    if isinstance(body, dict):
        response = client.post("/api/v1/usage", json=_event(world, **body), headers=headers)
    elif isinstance(body, str):
        response = client.post(
            "/api/v1/usage", data=body, headers=headers, content_type="application/json"
        )
    else:
        response = client.post("/api/v1/usage", json=body, headers=headers)
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "invalid_event"
    assert answer["field"] == field
    assert answer["message"]
