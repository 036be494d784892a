"""Billing end to end (issue 5): calls through the emulator and the real controller, on each of
the two numbers of Alice's phone, produce the right charge rows; in private mode a call on the
business number is charged to her personal account and is absent from the employer's report.

The phone's originating number is chosen per call by its presented number
(cfg.device.presented_number_id), which the test switches between calls. Rates differ per
account and per direction, so a charge on the wrong account shows in its amount too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from controller.main import Controller
from switchsim import Behaviour, Switch
from tests.billing import billing_factories as bf
from tests.controller.harness import make_settings, wait_for

DOMAIN = "example.com"
PHONE = f"user/1001@{DOMAIN}"  # Alice's SIP phone (an authenticated directory user)
GATEWAY = "carrier"  # the domain's outbound gateway (tests.sql.factories.make_domain)
LONDON = "+442071234567"
PARIS = "+33612345678"
CALLER = "+447700900123"
TALK = 6  # simulated seconds each call lasts after the answer

# Per-minute prices, charged per second (increments 1/1): the account shows in the amount.
PRICES = {
    ("personal", "outgoing_call"): Decimal("0.60"),
    ("personal", "incoming_call"): Decimal("0.30"),
    ("business", "outgoing_call"): Decimal("1.20"),
    ("business", "incoming_call"): Decimal("0.90"),
}


@dataclass(frozen=True)
class Rig:
    url: str
    phone: bf.TwoNumberPhone
    business_rule_id: int
    switch: Switch
    controller: str  # host:port of the controller's outbound ESL server


@pytest.fixture
def rig(make_database: Callable[..., str], tmp_path: Path) -> Iterator[Rig]:
    """A committed database with Alice's two-number phone (both numbers ring it), the policy
    "business number -> ACME, else Alice's own account", the controller and the emulator."""
    url = make_database()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        phone = bf.make_two_number_phone(conn, DOMAIN)
        rule = bf.add_rule(
            conn,
            phone.phone_id,
            phone.business_account_id,
            "business number",
            number_id=phone.business_number_id,
        )
        for (which, action), price in PRICES.items():
            conn.execute(
                "UPDATE billing.rate SET price = %s WHERE account_id = %s AND action = %s",
                (price, phone.account(which), action),
            )
        conn.execute(
            "UPDATE cfg.number SET target_kind = 'device', target_device_id = %s"
            " WHERE id = ANY(%s)",
            (phone.device_id, [phone.personal_number_id, phone.business_number_id]),
        )
    switch = Switch(time_scale=0.03, hostname="sim1")
    ctl = Controller(make_settings(tmp_path / "spool", url))
    ctl.start()
    host, port = ctl.address
    try:
        yield Rig(url, phone, rule, switch, f"{host}:{port}")
    finally:
        ctl.stop(grace=1)
        switch.close()


def rows(url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def present(rig: Rig, which: str) -> None:
    """The phone calls out with its personal or business number from now on."""
    with psycopg.connect(rig.url) as conn:
        conn.execute(
            "UPDATE cfg.device SET presented_number_id = %s WHERE id = %s",
            (rig.phone.number(which), rig.phone.device_id),
        )


def set_private_mode(rig: Rig, on: bool) -> None:
    with psycopg.connect(rig.url) as conn:
        conn.execute("SELECT billing.set_private_mode(%s, %s)", (rig.phone.phone_id, on))


def call_out(rig: Rig, destination: str) -> Any:
    """Alice dials an external number; the gateway leg answers and hangs up after TALK s."""
    rig.switch.endpoints.set(
        f"sofia/gateway/{GATEWAY}/{destination}", Behaviour.answer(after=1, hangup_after=TALK)
    )
    result = rig.switch.place_call(
        controllers=rig.controller,
        destination=destination,
        caller_number="1001",
        caller_name="Alice",
        domain=DOMAIN,
        from_user="1001",
        variables={"socket_resume": "true"},
    ).wait(timeout=15)
    assert result.answered_by == f"sofia/gateway/{GATEWAY}/{destination}"
    return result


def call_in(rig: Rig, number: str) -> Any:
    """Someone outside calls one of Alice's numbers; her phone answers, hangs up after TALK s."""
    rig.switch.endpoints.set(PHONE, Behaviour.answer(after=1, hangup_after=TALK))
    result = rig.switch.place_call(
        controllers=rig.controller,
        destination=number,
        caller_number=CALLER,
        caller_name="Customer",
        domain=DOMAIN,
        variables={"socket_resume": "true"},
    ).wait(timeout=15)
    assert result.answered_by == PHONE
    return result


def charge_of(rig: Rig, call_uuid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the CDR, its one charge row), waiting for the controller to write them."""
    charges = wait_for(
        lambda: rows(
            rig.url,
            "SELECT ch.* FROM billing.charge ch JOIN cdr.call c ON c.id = ch.call_id"
            " WHERE c.call_uuid = %s",
            call_uuid,
        ),
        what=f"the charge of call {call_uuid}",
    )
    assert len(charges) == 1, charges
    (cdr,) = rows(rig.url, "SELECT * FROM cdr.call WHERE call_uuid = %s", call_uuid)
    return cdr, charges[0]


def amount(which: str, action: str, billsec: int) -> Decimal:
    return (PRICES[which, action] * billsec / 60).quantize(Decimal("0.0001"))


@pytest.mark.parametrize(
    ("direction", "number", "account", "decided_by"),
    [
        pytest.param("outbound", "personal", "personal", "default", id="out-on-personal-number"),
        pytest.param("outbound", "business", "business", "rule", id="out-on-business-number"),
        pytest.param("inbound", "personal", "personal", "default", id="in-on-personal-number"),
        pytest.param("inbound", "business", "business", "rule", id="in-on-business-number"),
    ],
)
def test_a_call_on_each_number_is_charged_by_the_policy(
    rig: Rig, direction: str, number: str, account: str, decided_by: str
) -> None:
    phone = rig.phone
    e164 = phone.e164(number)
    if direction == "outbound":
        present(rig, number)
        result = call_out(rig, LONDON)
        (leg,) = result.bridges[0].legs
        assert f"origination_caller_id_number={e164}" in result.bridges[0].dial_string
        assert leg.target == f"sofia/gateway/{GATEWAY}/{LONDON}"
        action, counterpart = "outgoing_call", LONDON
    else:
        result = call_in(rig, e164)
        action, counterpart = "incoming_call", CALLER
    cdr, charge = charge_of(rig, result.uuid)

    assert cdr["disposition"] == "answered" and abs(cdr["billsec"] - TALK) <= 1
    assert cdr["plan"]["billing"]["number_id"] == phone.number(number)
    assert charge["account_id"] == phone.account(account)
    assert charge["phone_id"] == phone.phone_id
    assert (charge["action"], charge["number"], charge["counterpart"]) == (
        action,
        e164,
        counterpart,
    )
    assert charge["decided_by"] == decided_by
    assert charge["rule_id"] == (rig.business_rule_id if decided_by == "rule" else None)
    assert charge["private"] is False
    assert charge["quantity"] == charge["billed_quantity"] == cdr["billsec"]
    assert charge["amount"] == amount(account, action, cdr["billsec"])


def test_private_mode_hides_business_number_calls_from_the_employer(rig: Rig) -> None:
    phone = rig.phone
    present(rig, "business")
    _, work = charge_of(rig, call_out(rig, LONDON).uuid)  # a work call: ACME pays
    set_private_mode(rig, True)
    _, private_out = charge_of(rig, call_out(rig, PARIS).uuid)
    _, private_in = charge_of(rig, call_in(rig, phone.business_e164).uuid)
    set_private_mode(rig, False)

    assert work["account_id"] == phone.business_account_id and work["decided_by"] == "rule"
    for charge, action in ((private_out, "outgoing_call"), (private_in, "incoming_call")):
        assert charge["account_id"] == phone.personal_account_id
        assert charge["number"] == phone.business_e164
        assert (charge["decided_by"], charge["private"]) == ("private_mode", True)
        assert charge["amount"] == amount("personal", action, int(charge["quantity"]))
    private_ids = {private_out["id"], private_in["id"]}

    day = work["started_at"].replace(hour=0, minute=0, second=0, microsecond=0)
    period = (day - timedelta(days=1), day + timedelta(days=2))
    (business,) = rows(
        rig.url,
        "SELECT billing.account_report(%s, %s, %s) AS r",
        phone.business_account_id,
        *period,
    )
    lines = business["r"]["lines"]
    assert [line["charge_id"] for line in lines] == [work["id"]]
    assert Decimal(str(business["r"]["totals"]["amount"])) == work["amount"].quantize(
        Decimal("0.01")
    )
    assert PARIS not in str(business["r"]) and CALLER not in str(business["r"])

    csv_rows = rows(
        rig.url,
        "SELECT * FROM billing.account_report_rows(%s, %s, %s)",
        phone.business_account_id,
        *period,
    )
    assert [(r["source"], r["charge_id"]) for r in csv_rows] == [
        ("call", work["id"]),
        ("total", None),
    ]
    assert csv_rows[-1]["amount"] == work["amount"].quantize(Decimal("0.01"))

    (personal,) = rows(
        rig.url,
        "SELECT billing.account_report(%s, %s, %s) AS r",
        phone.personal_account_id,
        *period,
    )
    seen = {line["charge_id"]: line for line in personal["r"]["lines"]}
    assert private_ids <= set(seen)
    assert {seen[i]["decided_by"] for i in private_ids} == {"private_mode"}
    assert {seen[i]["counterpart"] for i in private_ids} == {PARIS, CALLER}
