"""Resolving the destination: numbers, extensions, outbound calls, unknown destinations."""

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.sql.factories import (
    DEFAULT_NOW,
    add_member,
    explain_call,
    make_call,
    make_device,
    make_domain,
    make_group,
    make_implicit_set,
    make_number,
    make_user,
    plan_call,
)

UNALLOCATED = [{"type": "hangup", "cause": "UNALLOCATED_NUMBER"}]


@pytest.fixture
def office(db):
    domain_id = make_domain(db, fallback_destination="reception")
    group_id = make_group(db, domain_id, "Sales", extension="2001")
    alice = make_device(db, domain_id, "1001", name="Alice")
    bob = make_device(db, domain_id, "1002", name="Bob")
    add_member(db, group_id, device_id=alice)
    add_member(db, group_id, device_id=bob)
    number_id = make_number(db, domain_id, "+4930123456", group_id=group_id, label="Sales line")
    return {"domain": domain_id, "group": group_id, "alice": alice, "bob": bob, "number": number_id}


def test_inbound_call_to_a_number_has_the_whole_contract_shape(db, office):
    call = make_call("+4930123456", caller_number="+4917012345", caller_name="Carol")
    plan = plan_call(db, call)
    assert plan == {
        "plan_version": 1,
        "call": {
            "uuid": call["uuid"],
            "domain": "example.com",
            "destination": "+4930123456",
            "caller_number": "+4917012345",
        },
        "route": {
            "kind": "number",
            "number_id": office["number"],
            "rule_id": None,
            "group_id": office["group"],
            "name": "Sales line",
        },
        "caller_id": {"name": "Carol", "number": "+4917012345"},
        "billing": {
            "direction": "inbound",
            "domain_id": office["domain"],
            "device_id": None,
            "number_id": office["number"],
            "account_id": None,
        },
        "steps": [
            {
                "type": "bridge",
                "group_id": office["group"],
                "label": "Sales (simultaneous)",
                "strategy": "simultaneous",
                "timeout": 30,
                "variables": {"ignore_early_media": "true"},
                "legs": [
                    {
                        "target": "user/1001@example.com",
                        "delay": 0,
                        "timeout": 30,
                        "member_id": plan["steps"][0]["legs"][0]["member_id"],
                        "device_id": office["alice"],
                        "label": "Alice",
                        "variables": {},
                    },
                    {
                        "target": "user/1002@example.com",
                        "delay": 0,
                        "timeout": 30,
                        "member_id": plan["steps"][0]["legs"][1]["member_id"],
                        "device_id": office["bob"],
                        "label": "Bob",
                        "variables": {},
                    },
                ],
            }
        ],
        "fallback": {
            "type": "transfer",
            "destination": "reception",
            "dialplan": "XML",
            "context": "fallback",
        },
    }


@pytest.mark.parametrize(
    ("destination", "kind"),
    [
        pytest.param("+4930123456", "number", id="e164-number"),
        pytest.param("004930123456", "number", id="00-prefix-read-as-plus"),
        pytest.param("2001", "group", id="group-extension"),
        pytest.param("1002", "extension", id="device-extension"),
    ],
)
def test_destination_kinds(db, office, destination, kind):
    plan = plan_call(db, make_call(destination, from_user="1001"))
    assert plan["route"]["kind"] == kind
    assert plan["billing"]["direction"] == "internal"
    assert plan["billing"]["device_id"] == office["alice"]
    assert plan["steps"][0]["type"] == "bridge"


@pytest.mark.parametrize(
    ("destination", "domain", "from_user"),
    [
        pytest.param("+4930999999", "example.com", None, id="unknown-number-from-outside"),
        pytest.param("9999", "example.com", "1001", id="unknown-extension"),
        pytest.param("2001", "other.example", None, id="unknown-domain"),
        pytest.param(
            "1001,sofia/gateway/intl/0088213000000",
            "example.com",
            "1001",
            id="dial-string-injection",
        ),
        pytest.param("+1 (555) 123-4567", "example.com", "1001", id="formatted-number"),
        pytest.param("tel:+15551234567", "example.com", "1001", id="tel-uri"),
        pytest.param("++1555", "example.com", "1001", id="double-plus"),
        pytest.param("*67", "example.com", "1001", id="feature-code"),
        pytest.param("+" + "1" * 1000, "example.com", "1001", id="thousand-digits"),
    ],
)
def test_unknown_or_malformed_destination_is_unallocated(
    db, office, destination, domain, from_user
):
    result = explain_call(db, make_call(destination, domain=domain, from_user=from_user))
    assert result["plan"]["steps"] == UNALLOCATED
    assert result["plan"]["route"]["kind"] == "none"
    assert any(r["kind"] in ("unknown_destination", "unknown_domain") for r in result["reasons"])


def test_call_from_outside_to_an_external_number_is_not_carried_outbound(db, office):
    # only our own devices may call out; a trunk caller dialling a foreign number is refused
    plan = plan_call(db, make_call("+33123456789", from_user=None))
    assert plan["steps"] == UNALLOCATED


def test_unknown_domain_name_with_a_known_number_uses_the_numbers_domain(db, office):
    result = explain_call(db, make_call("+4930123456", domain="192.0.2.1"))
    assert result["plan"]["route"]["number_id"] == office["number"]
    assert result["plan"]["billing"]["domain_id"] == office["domain"]
    assert any(r["kind"] == "domain_from_number" for r in result["reasons"])


def test_domain_is_matched_case_insensitively(db, office):
    assert plan_call(db, make_call("2001", domain="Example.COM"))["route"]["kind"] == "group"


@pytest.fixture
def shared_line(db):
    """Alice's line +4930100 shared by desk, softphone and mobile app (an implicit registration set);
    the desk also has its own direct number +4930101 and presents it."""
    domain_id = make_domain(db)
    shared = make_number(db, domain_id, "+4930100")
    direct = make_number(db, domain_id, "+4930101")
    other = make_number(db, domain_id, "+4930102")
    desk = make_device(db, domain_id, "1001", number_id=direct, presented_number_id=direct)
    soft = make_device(db, domain_id, "1002")
    app = make_device(db, domain_id, "1003", presented_number_id=other)
    loner = make_device(db, domain_id, "1004")
    set_id = make_implicit_set(
        db, domain_id, "Alice", number_id=shared, device_ids=[desk, soft, app]
    )
    db.execute(
        "UPDATE cfg.number SET target_kind = 'implicit_set', target_set_id = %s WHERE id = %s",
        (set_id, shared),
    )
    return {
        "domain": domain_id,
        "shared": shared,
        "direct": direct,
        "other": other,
        "desk": desk,
        "soft": soft,
        "app": app,
        "loner": loner,
    }


@pytest.mark.parametrize(
    ("from_user", "presented"),
    [
        pytest.param("1001", "+4930101", id="device-presents-its-own-number"),
        pytest.param("1002", "+4930100", id="device-without-number-presents-the-shared-line"),
        pytest.param("1003", "+4930102", id="device-presents-a-chosen-number"),
        pytest.param("1004", "+4917099999", id="device-with-nothing-passes-the-caller-number"),
    ],
)
def test_outbound_call_presents_the_devices_originating_number(
    db, shared_line, from_user, presented
):
    call = make_call(
        "+33123456789", from_user=from_user, caller_number="+4917099999", caller_name="Alice"
    )
    plan = plan_call(db, call)
    assert plan["route"]["kind"] == "outbound"
    assert plan["billing"]["direction"] == "outbound"
    assert plan["caller_id"] == {"name": "Alice", "number": presented}
    assert [leg["target"] for leg in plan["steps"][0]["legs"]] == [
        "sofia/gateway/carrier/+33123456789"
    ]


def test_outbound_from_00_prefix_is_normalised(db, shared_line):
    plan = plan_call(db, make_call("0033123456789", from_user="1001"))
    assert plan["steps"][0]["legs"][0]["target"] == "sofia/gateway/carrier/+33123456789"


def test_outbound_without_a_gateway_is_refused(db, shared_line):
    db.execute("UPDATE cfg.domain SET gateway = NULL WHERE id = %s", (shared_line["domain"],))
    plan = plan_call(db, make_call("+33123456789", from_user="1001"))
    assert plan["steps"] == [{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}]


def test_call_to_the_shared_line_rings_every_device_of_the_set(db, shared_line):
    plan = plan_call(db, make_call("+4930100"))
    assert [leg["device_id"] for leg in plan["steps"][0]["legs"]] == [
        shared_line["desk"],
        shared_line["soft"],
        shared_line["app"],
    ]


def test_number_targeting_a_user_rings_the_users_devices(db):
    domain_id = make_domain(db)
    user_id = make_user(db, domain_id, "Alice")
    desk = make_device(db, domain_id, "1001", user_id=user_id)
    mobile = make_device(db, domain_id, "1002", user_id=user_id, dnd=True)
    make_number(db, domain_id, "+4930100", user_id=user_id)
    result = explain_call(db, make_call("+4930100"))
    assert [leg["device_id"] for leg in result["plan"]["steps"][0]["legs"]] == [desk]
    assert [
        (r["device_id"], r["reason"]) for r in result["reasons"] if r["kind"] == "member_skipped"
    ] == [(mobile, "dnd")]


def test_number_without_target_is_refused(db):
    domain_id = make_domain(db)
    make_number(db, domain_id, "+4930100")
    assert plan_call(db, make_call("+4930100"))["steps"] == [
        {"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}
    ]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param({"domain": "example.com", "destination": "2001"}, "uuid", id="missing-uuid"),
        pytest.param({"uuid": "u", "destination": "2001"}, "domain", id="missing-domain"),
        pytest.param(
            {"uuid": "u", "domain": "example.com", "destination": ""},
            "destination",
            id="empty-destination",
        ),
    ],
)
def test_incomplete_call_raises_hm004(db, call, field):
    with pytest.raises(psycopg.Error) as raised:
        db.execute("SELECT routing.plan_call(%s, %s)", (Jsonb(call), DEFAULT_NOW))
    assert raised.value.sqlstate == "HM004"
    assert raised.value.diag.message_primary == f"call.{field} is missing or empty"


def test_call_that_is_not_an_object_raises_hm004(db):
    with pytest.raises(psycopg.Error) as raised:
        db.execute("SELECT routing.plan_call(%s, %s)", (Jsonb(["a"]), DEFAULT_NOW))
    assert raised.value.sqlstate == "HM004"


@pytest.mark.parametrize(
    ("destination", "from_user", "direction", "device", "number"),
    [
        pytest.param(
            "+4930100", None, "inbound", None, "shared", id="inbound-bills-the-called-number"
        ),
        pytest.param(
            "1002", "1001", "internal", "desk", "direct", id="internal-bills-the-presented-number"
        ),
        pytest.param(
            "+4930100", "1002", "internal", "soft", "shared", id="internal-call-to-own-number"
        ),
        pytest.param(
            "+33123456789",
            "1003",
            "outbound",
            "app",
            "other",
            id="outbound-bills-the-presented-number",
        ),
        pytest.param(
            "+33123456789", "1004", "outbound", "loner", None, id="outbound-without-a-number"
        ),
    ],
)
def test_billing_context(db, shared_line, destination, from_user, direction, device, number):
    plan = plan_call(db, make_call(destination, from_user=from_user))
    assert plan["billing"] == {
        "direction": direction,
        "domain_id": shared_line["domain"],
        "device_id": shared_line[device] if device else None,
        "number_id": shared_line[number] if number else None,
        "account_id": None,
    }


def test_missing_clock_raises_hm004(db, office):
    with pytest.raises(psycopg.Error) as raised:
        db.execute("SELECT routing.plan_call(%s, NULL)", (Jsonb(make_call("2001")),))
    assert raised.value.sqlstate == "HM004"
    assert raised.value.diag.message_primary == "p_now is missing: the caller passes the clock"
