"""GET /api/v1/accounts/<id>/report: account tokens, JSON and CSV with totals, private-mode
actions absent from the employer's report and present in the owner's."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import World, bearer

PERIOD = "from=2026-06-01&to=2026-06-30"


def _url(account_id: int, query: str = PERIOD) -> str:
    return f"/api/v1/accounts/{account_id}/report?{query}"


def test_employer_json_has_the_work_call_only(client: FlaskClient, world: World) -> None:
    response = client.get(
        _url(world.phone.business_account_id), headers=bearer(world.business_token)
    )
    assert response.status_code == 200
    report = json.loads(response.data, parse_float=Decimal)
    assert [line["charge_id"] for line in report["lines"]] == [world.work_charge_id]
    assert report["totals"]["count"] == 1
    assert report["totals"]["amount"] == Decimal("0.90")  # 90 s at 1 cent a second
    text = response.data.decode()
    assert "+336" not in text  # the private call's and SMS's destinations are absent


def test_employer_csv_has_the_work_call_and_total(client: FlaskClient, world: World) -> None:
    response = client.get(
        _url(world.phone.business_account_id, PERIOD + "&format=csv"),
        headers=bearer(world.business_token),
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert [r["charge_id"] for r in rows] == [str(world.work_charge_id), ""]
    assert rows[0]["counterpart"] == "+442071234567" and rows[0]["amount"] == "0.90"
    assert rows[-1]["source"] == "total" and rows[-1]["amount"] == "0.90"
    assert "+336" not in response.data.decode()


def test_owner_sees_the_private_actions(client: FlaskClient, world: World) -> None:
    response = client.get(
        _url(world.phone.personal_account_id), headers=bearer(world.personal_token)
    )
    report = json.loads(response.data, parse_float=Decimal)
    assert sorted(line["charge_id"] for line in report["lines"]) == sorted(world.private_charge_ids)
    assert {line["decided_by"] for line in report["lines"]} == {"private_mode"}
    assert report["totals"]["amount"] == Decimal("3.09")  # 300 s call + one SMS


@pytest.mark.parametrize(
    ("token_name", "status"),
    [
        pytest.param(None, 401, id="no-token"),
        pytest.param("garbage", 401, id="malformed-token"),
        pytest.param("personal_token", 403, id="other-accounts-token"),
        pytest.param("device_token", 403, id="device-token"),
    ],
)
def test_report_auth(
    client: FlaskClient, world: World, token_name: str | None, status: int
) -> None:
    headers = {}
    if token_name == "garbage":
        headers = bearer("hmt_1_" + "a" * 64)
    elif token_name:
        headers = bearer(getattr(world, token_name))
    response = client.get(_url(world.phone.business_account_id), headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("to=2026-06-30", "from", id="from-missing"),
        pytest.param("from=2026-06-01", "to", id="to-missing"),
        pytest.param("from=June&to=2026-06-30", "from", id="from-malformed"),
        pytest.param("from=2026-07-01&to=2026-06-01", "to", id="period-reversed"),
        pytest.param(PERIOD + "&format=xml", "format", id="format-unknown"),
    ],
)
def test_bad_report_parameters_are_400(
    client: FlaskClient, world: World, query: str, field: str
) -> None:
    response = client.get(
        _url(world.phone.business_account_id, query), headers=bearer(world.business_token)
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
