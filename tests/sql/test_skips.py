"""Members that cannot take a call are skipped, each reason configurable per group and explained."""

from datetime import datetime

import pytest

from tests.sql.factories import (
    add_member,
    explain_call,
    make_call,
    make_device,
    make_domain,
    make_group,
    make_schedule,
    plan_call,
    weekdays,
)

SKIP_CASES = [
    pytest.param({"dnd": True}, "skip_dnd", "dnd", id="dnd-member-skipped"),
    pytest.param({"busy": True}, "skip_busy", "busy", id="busy-member-skipped"),
    pytest.param(
        {"registered": False}, "skip_unregistered", "unregistered", id="unregistered-member-skipped"
    ),
]


def _group_with(db, state, **group_kwargs):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001", **group_kwargs)
    odd = make_device(db, domain_id, "1000", name="Odd one", **state)
    ok = make_device(db, domain_id, "1001", name="Fine")
    odd_member = add_member(db, group_id, device_id=odd)
    add_member(db, group_id, device_id=ok)
    return odd, ok, odd_member


@pytest.mark.parametrize(("state", "flag", "reason"), SKIP_CASES)
def test_member_is_skipped_and_explained(db, state, flag, reason):
    odd, ok, odd_member = _group_with(db, state)
    result = explain_call(db, make_call("2001"))
    assert [leg["device_id"] for leg in result["plan"]["steps"][0]["legs"]] == [ok]
    skipped = [r for r in result["reasons"] if r["kind"] == "member_skipped"]
    assert len(skipped) == 1
    assert skipped[0]["member_id"] == odd_member
    assert skipped[0]["device_id"] == odd
    assert skipped[0]["reason"] == reason
    assert "Odd one" in skipped[0]["detail"]


@pytest.mark.parametrize(("state", "flag", "reason"), SKIP_CASES)
def test_skipping_can_be_turned_off_per_group(db, state, flag, reason):
    odd, ok, _ = _group_with(db, state, **{flag: False})
    plan = plan_call(db, make_call("2001"))
    assert [leg["device_id"] for leg in plan["steps"][0]["legs"]] == [odd, ok]


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("sofia/internal/alice@192.0.2.5:5060", id="sofia-uri"),
        pytest.param("+4915112345678", id="external-number"),
    ],
)
def test_only_user_endpoints_can_be_unregistered(db, endpoint):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001")
    device = make_device(
        db, domain_id, None, name="Trunk phone", endpoint=endpoint, registered=False
    )
    add_member(db, group_id, device_id=device)
    plan = plan_call(db, make_call("2001"))
    assert [leg["device_id"] for leg in plan["steps"][0]["legs"]] == [device]


def test_disabled_member_is_skipped(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001")
    off = add_member(db, group_id, device_id=make_device(db, domain_id, "1000"), enabled=False)
    on = make_device(db, domain_id, "1001")
    add_member(db, group_id, device_id=on)
    result = explain_call(db, make_call("2001"))
    assert [leg["device_id"] for leg in result["plan"]["steps"][0]["legs"]] == [on]
    assert [
        (r["member_id"], r["reason"]) for r in result["reasons"] if r["kind"] == "member_skipped"
    ] == [(off, "disabled")]


def test_member_outside_its_schedule_is_skipped(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001")
    mornings = make_schedule(
        db, domain_id, "Mornings", time_zone="Europe/Berlin", windows=weekdays("08:00", "12:00")
    )
    part_timer = add_member(
        db, group_id, device_id=make_device(db, domain_id, "1000"), schedule_id=mornings
    )
    full_timer = make_device(db, domain_id, "1001")
    add_member(db, group_id, device_id=full_timer)

    morning = datetime.fromisoformat("2026-06-10T08:00:00+00:00")  # Wednesday 10:00 in Berlin
    afternoon = datetime.fromisoformat("2026-06-10T12:00:00+00:00")  # 14:00 in Berlin

    assert len(plan_call(db, make_call("2001"), morning)["steps"][0]["legs"]) == 2
    result = explain_call(db, make_call("2001"), afternoon)
    assert [leg["device_id"] for leg in result["plan"]["steps"][0]["legs"]] == [full_timer]
    assert [
        (r["member_id"], r["reason"]) for r in result["reasons"] if r["kind"] == "member_skipped"
    ] == [(part_timer, "outside_schedule")]


@pytest.mark.parametrize(
    ("states", "cause"),
    [
        pytest.param([{"busy": True}, {"dnd": True}], "USER_BUSY", id="all-busy-or-dnd"),
        pytest.param(
            [{"registered": False}, {"registered": False}],
            "USER_NOT_REGISTERED",
            id="all-unregistered",
        ),
        pytest.param([], "NO_ROUTE_DESTINATION", id="no-members"),
    ],
)
def test_nobody_to_ring_ends_with_a_hangup_cause(db, states, cause):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001")
    for i, state in enumerate(states):
        add_member(db, group_id, device_id=make_device(db, domain_id, f"10{i:02d}", **state))
    result = explain_call(db, make_call("2001"))
    assert result["plan"]["steps"] == [{"type": "hangup", "cause": cause}]
    assert any(r["kind"] == "step_empty" and r["cause"] == cause for r in result["reasons"])


def test_empty_group_falls_through_to_its_overflow(db):
    domain_id = make_domain(db)
    group_id = make_group(
        db,
        domain_id,
        "Sales",
        extension="2001",
        overflow_kind="voicemail",
        overflow_mailbox="sales",
    )
    add_member(db, group_id, device_id=make_device(db, domain_id, "1000", dnd=True))
    plan = plan_call(db, make_call("2001"))
    assert plan["steps"] == [{"type": "voicemail", "mailbox": "sales", "domain": "example.com"}]
