"""Overflow chains: one step per hop, cycles refused when saved (HM002), at most 10 hops (HM001)."""

import psycopg
import pytest

from tests.sql.factories import (
    add_member,
    explain_call,
    make_call,
    make_device,
    make_domain,
    make_group,
    make_number,
    plan_call,
    set_overflow,
)


def _groups(db, names, with_members=True):
    domain_id = make_domain(db, fallback_destination="operator", fallback_context="fallback-ctx")
    groups = {}
    for i, name in enumerate(names):
        groups[name] = make_group(db, domain_id, name, extension=f"20{i:02d}")
        if with_members:
            add_member(db, groups[name], device_id=make_device(db, domain_id, f"10{i:02d}"))
    return domain_id, groups


@pytest.mark.parametrize(
    ("kind", "target", "last_step"),
    [
        pytest.param(
            "voicemail",
            "sales",
            {"type": "voicemail", "mailbox": "sales", "domain": "example.com"},
            id="overflow-to-voicemail",
        ),
        pytest.param(
            "hangup",
            "USER_BUSY",
            {"type": "hangup", "cause": "USER_BUSY"},
            id="overflow-hangup-cause",
        ),
        pytest.param(
            "hangup", None, {"type": "hangup", "cause": "NO_ANSWER"}, id="overflow-hangup-default"
        ),
    ],
)
def test_chain_ends_with_the_last_groups_overflow(db, kind, target, last_step):
    _, g = _groups(db, ["A", "B"])
    set_overflow(db, g["A"], "group", g["B"])
    set_overflow(db, g["B"], kind, target)
    result = explain_call(db, make_call("2000"))
    steps = result["plan"]["steps"]
    assert [s.get("group_id") for s in steps[:2]] == [g["A"], g["B"]]
    assert steps[2:] == [last_step]
    hops = [r for r in result["reasons"] if r["kind"] == "overflow"]
    assert [(h["from_group_id"], h["to_id"], h["hop"]) for h in hops] == [(g["A"], g["B"], 1)]


def test_overflow_to_a_number_of_the_domain_follows_its_target(db):
    domain_id, g = _groups(db, ["A", "B"])
    make_number(db, domain_id, "+4930555", group_id=g["B"])
    set_overflow(db, g["A"], "number", "+4930555")
    plan = plan_call(db, make_call("2000"))
    assert [s["group_id"] for s in plan["steps"]] == [g["A"], g["B"]]


def test_overflow_to_an_external_number_bridges_through_the_gateway(db):
    _, g = _groups(db, ["A"])
    set_overflow(db, g["A"], "number", "+441632960000")
    plan = plan_call(db, make_call("2000"))
    assert plan["steps"][1]["legs"][0]["target"] == "sofia/gateway/carrier/+441632960000"
    assert len(plan["steps"]) == 2


@pytest.mark.parametrize(
    ("names", "links", "message"),
    [
        pytest.param(["A"], [("A", "A")], "overflow cycle: group 'A' -> group 'A'", id="A-A"),
        pytest.param(
            ["A", "B"],
            [("A", "B"), ("B", "A")],
            "overflow cycle: group 'B' -> group 'A' -> group 'B'",
            id="A-B-A",
        ),
        pytest.param(
            ["A", "B", "C"],
            [("A", "B"), ("B", "C"), ("C", "A")],
            "overflow cycle: group 'C' -> group 'A' -> group 'B' -> group 'C'",
            id="A-B-C-A",
        ),
    ],
)
def test_overflow_cycle_is_refused_when_saved(db, names, links, message):
    _, g = _groups(db, names, with_members=False)
    *ok_links, closing = links
    for source, target in ok_links:
        set_overflow(db, g[source], "group", g[target])
    with pytest.raises(psycopg.Error) as raised:
        set_overflow(db, g[closing[0]], "group", g[closing[1]])
    assert raised.value.sqlstate == "HM002"
    assert raised.value.diag.message_primary == message
    assert raised.value.diag.constraint_name == "hunt_group_overflow_acyclic"


def test_overflow_cycle_through_a_number_is_refused_from_either_side(db):
    domain_id, g = _groups(db, ["Sales", "Support", "Spare"], with_members=False)
    number_id = make_number(db, domain_id, "+4930555", group_id=g["Spare"])
    set_overflow(db, g["Sales"], "number", "+4930555")
    set_overflow(db, g["Support"], "group", g["Sales"])
    # re-pointing the number at Support closes Sales -> +4930555 -> Support -> Sales
    with pytest.raises(psycopg.Error) as raised:
        with db.transaction():
            db.execute(
                "UPDATE cfg.number SET target_group_id = %s WHERE id = %s",
                (g["Support"], number_id),
            )
    assert raised.value.sqlstate == "HM002"
    assert raised.value.diag.message_primary == (
        "overflow cycle: group 'Sales' -> number +4930555 -> group 'Support' -> group 'Sales'"
    )


def test_a_chain_of_twelve_groups_stops_after_ten_hops_with_the_fallback(db):
    names = [f"G{i:02d}" for i in range(1, 13)]
    _, g = _groups(db, names)
    for a, b in zip(names, names[1:], strict=False):
        set_overflow(db, g[a], "group", g[b])

    result = explain_call(db, make_call("2000"))

    steps = result["plan"]["steps"]
    assert [s.get("group_id") for s in steps[:-1]] == [g[n] for n in names[:11]]
    fallback = {
        "type": "transfer",
        "destination": "operator",
        "dialplan": "XML",
        "context": "fallback-ctx",
    }
    assert steps[-1] == fallback
    assert result["plan"]["fallback"] == fallback
    limit = [r for r in result["reasons"] if r["kind"] == "overflow_hop_limit"]
    assert len(limit) == 1 and limit[0]["sqlstate"] == "HM001"
    assert len([r for r in result["reasons"] if r["kind"] == "overflow"]) == 10
    # HM001 is documented in the shared error table
    row = db.execute("SELECT name FROM routing.error_code WHERE sqlstate = 'HM001'").fetchone()
    assert row["name"] == "overflow_hop_limit"


def test_a_chain_of_eleven_groups_is_planned_in_full(db):
    names = [f"G{i:02d}" for i in range(1, 12)]
    _, g = _groups(db, names)
    for a, b in zip(names, names[1:], strict=False):
        set_overflow(db, g[a], "group", g[b])
    set_overflow(db, g[names[-1]], "voicemail", "main")
    steps = plan_call(db, make_call("2000"))["steps"]
    assert [s.get("group_id") for s in steps[:-1]] == [g[n] for n in names]
    assert steps[-1]["type"] == "voicemail"


def test_planning_is_bounded_even_if_a_cycle_slipped_in(db):
    _, g = _groups(db, ["A", "B"])
    set_overflow(db, g["A"], "group", g["B"])
    db.execute("SET CONSTRAINTS cfg.hunt_group_overflow_acyclic DEFERRED")
    set_overflow(db, g["B"], "group", g["A"])  # the check is deferred to a commit that never comes
    result = explain_call(db, make_call("2000"))
    steps = result["plan"]["steps"]
    assert [s.get("group_id") for s in steps[:-1]] == [g["A"], g["B"]]
    assert steps[-1]["type"] == "transfer"
    assert any(r["kind"] == "overflow_hop_limit" for r in result["reasons"])
