"""Billing policy: which account pays, for each action type, number used, destination class,
schedule, rule order, and the default account when no rule matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import pytest

from tests.billing import billing_factories as bf
from tests.sql import factories as f


@dataclass(frozen=True)
class Action:
    kind: str  # outgoing_call | incoming_call | sms | mms | data
    number: str = "personal"  # which of the phone's numbers is used
    counterpart: str = "+4989123456"  # the other party (or None for data)
    host_category: str | None = None
    at: datetime = bf.WEDNESDAY_10


@dataclass(frozen=True)
class Case:
    rules: list[dict[str, Any]] = field(default_factory=list)  # account + criteria
    action: Action = Action("outgoing_call")
    payer: str = "personal"
    decided_by: str = "default"
    rule: int | None = None  # index into rules of the deciding rule


BUSINESS_NUMBER_RULE = {"account": "business", "number": "business"}

CASES = [
    pytest.param(Case(), id="no-rules-default-account"),
    pytest.param(
        Case(
            [BUSINESS_NUMBER_RULE],
            Action("outgoing_call", number="business"),
            "business",
            "rule",
            0,
        ),
        id="outgoing-call-on-business-number",
    ),
    pytest.param(
        Case([BUSINESS_NUMBER_RULE], Action("outgoing_call", number="personal")),
        id="outgoing-call-on-personal-number-default",
    ),
    pytest.param(
        Case(
            [BUSINESS_NUMBER_RULE],
            Action("incoming_call", number="business"),
            "business",
            "rule",
            0,
        ),
        id="incoming-call-on-business-number",
    ),
    pytest.param(
        Case([{"account": "business", "action": "incoming_call"}], Action("outgoing_call")),
        id="incoming-only-rule-skips-outgoing",
    ),
    pytest.param(
        Case(
            [{"account": "business", "action": "incoming_call"}],
            Action("incoming_call"),
            "business",
            "rule",
            0,
        ),
        id="incoming-only-rule-matches-incoming",
    ),
    pytest.param(
        Case([{"account": "business", "action": "sms"}], Action("sms"), "business", "rule", 0),
        id="sms-rule",
    ),
    pytest.param(
        Case([{"account": "business", "action": "sms"}], Action("mms")),
        id="sms-rule-skips-mms",
    ),
    pytest.param(
        Case([{"account": "business", "action": "mms"}], Action("mms"), "business", "rule", 0),
        id="mms-rule",
    ),
    pytest.param(
        Case(
            [{"account": "business", "action": "data", "host_category": "work"}],
            Action("data", host_category="work"),
            "business",
            "rule",
            0,
        ),
        id="data-work-hosts-to-business",
    ),
    pytest.param(
        Case(
            [{"account": "business", "action": "data", "host_category": "work"}],
            Action("data", host_category="video"),
        ),
        id="data-video-hosts-default",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_class": "premium"}],
            Action("outgoing_call", counterpart="+49900123456"),
            "business",
            "rule",
            0,
        ),
        id="premium-destination",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_class": "premium"}],
            Action("outgoing_call", counterpart="+4930999999"),
        ),
        id="standard-destination-not-premium",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_class": "emergency"}],
            Action("outgoing_call", counterpart="112"),
            "business",
            "rule",
            0,
        ),
        id="emergency-short-code",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_class": "internal"}],
            Action("outgoing_call", counterpart="1002"),
            "business",
            "rule",
            0,
        ),
        id="internal-extension",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_class": "internal"}],
            Action("outgoing_call", counterpart="+4930222222"),
            "business",
            "rule",
            0,
        ),
        id="internal-own-domain-number",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_prefix": "+4420"}],
            Action("outgoing_call", counterpart="+442071234567"),
            "business",
            "rule",
            0,
        ),
        id="destination-prefix-matches",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_prefix": "+4420"}],
            Action("outgoing_call", counterpart="+441612345678"),
        ),
        id="destination-prefix-differs",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_country": "FR"}],
            Action("outgoing_call", counterpart="+33123456789"),
            "business",
            "rule",
            0,
        ),
        id="destination-country-france",
    ),
    pytest.param(
        Case(
            [{"account": "business", "destination_country": "FR"}],
            Action("outgoing_call", counterpart="+34912345678"),
        ),
        id="destination-country-spain-not-france",
    ),
    pytest.param(
        Case(
            [{"account": "business", "schedule": "office"}],
            Action("outgoing_call", at=bf.WEDNESDAY_10),
            "business",
            "rule",
            0,
        ),
        id="schedule-open-on-wednesday",
    ),
    pytest.param(
        Case(
            [{"account": "business", "schedule": "office"}],
            Action("outgoing_call", at=bf.SATURDAY_10),
        ),
        id="schedule-closed-on-saturday",
    ),
    pytest.param(
        Case(
            [
                {"account": "personal", "destination_class": "premium"},
                {"account": "business", "number": "business"},
            ],
            Action("outgoing_call", number="business", counterpart="+49900123456"),
            "personal",
            "rule",
            0,
        ),
        id="first-matching-rule-wins",
    ),
    pytest.param(
        Case(
            [{"account": "business", "number": "business", "enabled": False}],
            Action("outgoing_call", number="business"),
        ),
        id="disabled-rule-skipped",
    ),
    pytest.param(
        Case(
            [
                {"account": "business", "action": "sms", "number": "business"},
                {"account": "business", "action": "outgoing_call", "destination_country": "GB"},
            ],
            Action("outgoing_call", number="personal", counterpart="+442071234567"),
            "business",
            "rule",
            1,
        ),
        id="second-rule-after-first-fails",
    ),
]


def _perform(
    db: psycopg.Connection[Any], phone: bf.TwoNumberPhone, action: Action
) -> list[dict[str, Any]]:
    number_id = phone.number(action.number)
    if action.kind in ("outgoing_call", "incoming_call"):
        outgoing = action.kind == "outgoing_call"
        document = bf.cdr_document(
            direction="outbound" if outgoing else "inbound",
            destination=action.counterpart if outgoing else phone.e164(action.number),
            caller_number=phone.e164(action.number) if outgoing else action.counterpart,
            device_id=phone.device_id if outgoing else None,
            number_id=number_id,
            start=action.at,
        )
        return bf.charges(db, call_id=bf.record_call(db, document))
    event: dict[str, Any] = {
        "event_id": f"{action.kind}-1",
        "device_id": phone.device_id,
        "type": action.kind,
        "at": action.at.isoformat(),
        "number": phone.e164(action.number),
    }
    if action.kind == "data":
        event["bytes"] = 2_000_000
        if action.host_category:
            event["host_category"] = action.host_category
    else:
        event["destination"] = action.counterpart
    return bf.charges(db, usage_id=bf.record_usage(db, event))


@pytest.mark.parametrize("case", CASES)
def test_policy_decides_the_paying_account(db: psycopg.Connection[Any], case: Case) -> None:
    phone = bf.make_two_number_phone(db)
    office = f.make_schedule(
        db,
        phone.domain_id,
        "Office",
        time_zone="Europe/Berlin",
        windows=f.weekdays("09:00", "17:00"),
    )
    rule_ids = []
    for spec in case.rules:
        criteria = {k: v for k, v in spec.items() if k not in ("account", "number", "schedule")}
        if "number" in spec:
            criteria["number_id"] = phone.number(spec["number"])
        if spec.get("schedule") == "office":
            criteria["schedule_id"] = office
        rule_ids.append(bf.add_rule(db, phone.phone_id, phone.account(spec["account"]), **criteria))

    rows = _perform(db, phone, case.action)

    assert len(rows) == 1
    charge = rows[0]
    assert charge["account_id"] == phone.account(case.payer)
    assert charge["decided_by"] == case.decided_by
    assert charge["rule_id"] == (None if case.rule is None else rule_ids[case.rule])
    assert charge["private"] is False
    assert charge["number_id"] == phone.number(case.action.number)


def test_explanation_lists_rules_tried_and_why_they_failed(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    sms_rule = bf.add_rule(db, phone.phone_id, phone.business_account_id, "sms", action="sms")
    uk_rule = bf.add_rule(
        db, phone.phone_id, phone.business_account_id, "UK calls", destination_country="GB"
    )
    call_id = bf.record_call(
        db,
        bf.cdr_document(
            direction="outbound",
            destination="+442071234567",
            caller_number=phone.personal_e164,
            device_id=phone.device_id,
            number_id=phone.personal_number_id,
            billsec=65,
        ),
    )
    explained = db.execute("SELECT billing.explain_charge(%s) AS e", (call_id,)).fetchone()["e"]
    (charge,) = explained["charges"]
    assert charge["decided_by"] == "rule"
    assert charge["rule_id"] == uk_rule
    assert [
        (t["rule_id"], t["matched"], t["failed_on"]) for t in charge["decision"]["rules_tried"]
    ] == [
        (sms_rule, False, "action"),
        (uk_rule, True, None),
    ]
    assert charge["decision"]["destination"] == {
        "class": "standard",
        "country": "GB",
        "prefix": "+44",
    }
    assert charge["rating"]["prefix"] == ""
    assert charge["rating"]["increments"] == [1, 1]
    assert charge["rating"]["billed_units"] == 65


def test_call_without_billing_phone_writes_no_charge(db: psycopg.Connection[Any]) -> None:
    domain_id = f.make_domain(db)
    device_id = f.make_device(db, domain_id, "1001")
    call_id = bf.record_call(
        db,
        bf.cdr_document(
            direction="outbound",
            destination="+4989123",
            caller_number="+4930555",
            device_id=device_id,
        ),
    )
    assert bf.charges(db, call_id=call_id) == []
    explained = db.execute("SELECT billing.explain_charge(%s) AS e", (call_id,)).fetchone()["e"]
    assert explained["charges"] == [] and "no charge" in explained["note"]


def test_internal_call_charges_both_phones(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    bob = f.make_user(db, phone.domain_id, "Bob")
    bob_number = f.make_number(db, phone.domain_id, "+4930333333")
    bob_device = f.make_device(db, phone.domain_id, "1002", user_id=bob)
    bob_account = bf.make_account(db, phone.domain_id, "Bob private", owner_user_id=bob)
    bob_phone = bf.make_phone(db, phone.domain_id, bob_account, name="Bob", user_id=bob)
    bf.add_phone_number(db, bob_phone, bob_number, bob_account, "personal")
    call_id = bf.record_call(
        db,
        bf.cdr_document(
            direction="internal",
            destination="1002",
            caller_number=phone.business_e164,
            device_id=phone.device_id,
            number_id=phone.business_number_id,
            answered_by_device_id=bob_device,
        ),
    )
    rows = bf.charges(db, call_id=call_id)
    assert [(r["phone_id"], r["action"], r["destination_class"]) for r in rows] == [
        (phone.phone_id, "outgoing_call", "internal"),
        (bob_phone, "incoming_call", "internal"),
    ]


def test_phone_calling_itself_is_charged_once(db: psycopg.Connection[Any]) -> None:
    phone = bf.make_two_number_phone(db)
    call_id = bf.record_call(
        db,
        bf.cdr_document(
            direction="internal",
            destination="1001",
            caller_number=phone.personal_e164,
            device_id=phone.device_id,
            number_id=phone.personal_number_id,
            answered_by_device_id=phone.device_id,
        ),
    )
    assert [r["action"] for r in bf.charges(db, call_id=call_id)] == ["outgoing_call"]


def test_inbound_call_without_plan_billing_uses_the_route_number(
    db: psycopg.Connection[Any],
) -> None:
    phone = bf.make_two_number_phone(db)
    bf.add_rule(
        db, phone.phone_id, phone.business_account_id, "biz", number_id=phone.business_number_id
    )
    document = bf.cdr_document(
        direction="inbound", destination=phone.business_e164, caller_number="+4989123456"
    )
    document["plan"] = None
    document["route"] = {"kind": "number", "number_id": phone.business_number_id}
    (charge,) = bf.charges(db, call_id=bf.record_call(db, document))
    assert (charge["action"], charge["account_id"]) == ("incoming_call", phone.business_account_id)
