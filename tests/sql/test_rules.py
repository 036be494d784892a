"""Routing rules on a number: caller matches (exact, prefix, pattern, list), actions, order."""

import pytest

from tests.sql.factories import (
    add_member,
    explain_call,
    make_call,
    make_contact_list,
    make_device,
    make_domain,
    make_group,
    make_number,
    make_rule,
    plan_call,
)


@pytest.fixture
def front_desk(db):
    """Number +4930123456 -> group 'Front desk' with devices a, b, c (members ma, mb, mc)."""
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Front desk", strategy="sequential")
    ids = {"domain": domain_id, "group": group_id}
    for name, ext in (("a", "1000"), ("b", "1001"), ("c", "1002")):
        ids[name] = make_device(db, domain_id, ext, name=name)
        ids["m" + name] = add_member(db, group_id, device_id=ids[name])
    ids["number"] = make_number(db, domain_id, "+4930123456", group_id=group_id, label="Main line")
    ids["vip"] = make_contact_list(db, domain_id, "VIP", ["+4917011111", "+4917022222"])
    ids["other_group"] = make_group(db, domain_id, "Escalation")
    ids["x"] = make_device(db, domain_id, "1003", name="x")
    add_member(db, ids["other_group"], device_id=ids["x"])
    return ids


def _rung(plan):
    return [
        leg["device_id"]
        for step in plan["steps"]
        if step["type"] == "bridge"
        for leg in step["legs"]
    ]


RULES = [
    pytest.param(
        dict(caller_match="exact", caller_value="+4917011111"),
        "+4917011111",
        True,
        id="exact-match",
    ),
    pytest.param(
        dict(caller_match="exact", caller_value="+4917011111"),
        "+49170111112",
        False,
        id="exact-no-match",
    ),
    pytest.param(
        dict(caller_match="prefix", caller_value="+4989"), "+498912345", True, id="prefix-match"
    ),
    pytest.param(
        dict(caller_match="prefix", caller_value="+4989"),
        "+4930898989",
        False,
        id="prefix-no-match",
    ),
    pytest.param(
        dict(caller_match="pattern", caller_value=r"^\+33[1-5][0-9]+$"),
        "+33123456",
        True,
        id="pattern-match",
    ),
    pytest.param(
        dict(caller_match="pattern", caller_value=r"^\+33[1-5][0-9]+$"),
        "+33623456",
        False,
        id="pattern-no-match",
    ),
    pytest.param(dict(caller_match="list"), "+4917022222", True, id="list-match"),
    pytest.param(dict(caller_match="list"), "+4917033333", False, id="list-no-match"),
    pytest.param(dict(caller_match="any"), "", True, id="any-matches-anonymous"),
]


@pytest.mark.parametrize(("match", "caller", "matches"), RULES)
def test_caller_match_selects_devices(db, front_desk, match, caller, matches):
    ids = front_desk
    if match["caller_match"] == "list":
        match = {**match, "contact_list_id": ids["vip"]}
    rule_id = make_rule(db, ids["number"], "vip", action="devices", device_ids=[ids["b"]], **match)

    result = explain_call(db, make_call("+4930123456", caller_number=caller))

    plan = result["plan"]
    assert plan["route"]["rule_id"] == (rule_id if matches else None)
    assert _rung(plan) == ([ids["b"]] if matches else [ids["a"], ids["b"], ids["c"]])
    kinds = [r["kind"] for r in result["reasons"] if r["kind"].startswith("rule_")]
    assert kinds == (["rule_matched"] if matches else ["rule_not_matched", "rule_default"])
    excluded = {r["device_id"] for r in result["reasons"] if r.get("reason") == "excluded_by_rule"}
    assert excluded == ({ids["a"], ids["c"]} if matches else set())


def test_members_action_selects_group_members(db, front_desk):
    ids = front_desk
    make_rule(db, ids["number"], "a and c", action="members", member_ids=[ids["ma"], ids["mc"]])
    assert _rung(plan_call(db, make_call("+4930123456"))) == [ids["a"], ids["c"]]


def test_group_action_rings_a_whole_other_group(db, front_desk):
    ids = front_desk
    make_rule(
        db,
        ids["number"],
        "escalate",
        caller_match="prefix",
        caller_value="+49170",
        action="group",
        target_group_id=ids["other_group"],
    )
    plan = plan_call(db, make_call("+4930123456", caller_number="+4917099999"))
    assert plan["route"]["group_id"] == ids["other_group"]
    assert plan["steps"][0]["group_id"] == ids["other_group"]
    assert _rung(plan) == [ids["x"]]


def test_first_matching_rule_wins_and_earlier_misses_are_explained(db, front_desk):
    ids = front_desk
    miss = make_rule(
        db,
        ids["number"],
        "french",
        position=1,
        caller_match="prefix",
        caller_value="+33",
        action="devices",
        device_ids=[ids["a"]],
    )
    hit = make_rule(
        db,
        ids["number"],
        "german mobiles",
        position=2,
        caller_match="prefix",
        caller_value="+4917",
        action="devices",
        device_ids=[ids["b"]],
    )
    make_rule(
        db, ids["number"], "everyone else", position=3, action="devices", device_ids=[ids["c"]]
    )

    result = explain_call(db, make_call("+4930123456", caller_number="+4917012345"))

    assert result["plan"]["route"]["rule_id"] == hit
    assert _rung(result["plan"]) == [ids["b"]]
    rules = [r for r in result["reasons"] if r["kind"].startswith("rule_")]
    assert [(r["kind"], r["rule_id"]) for r in rules] == [
        ("rule_not_matched", miss),
        ("rule_matched", hit),
    ]
    assert rules[0]["detail"] == "caller '+4917012345' does not match prefix '+33'"


def test_position_not_insertion_order_decides(db, front_desk):
    ids = front_desk
    make_rule(db, ids["number"], "late", position=5, action="devices", device_ids=[ids["c"]])
    early = make_rule(
        db, ids["number"], "early", position=1, action="devices", device_ids=[ids["a"]]
    )
    plan = plan_call(db, make_call("+4930123456"))
    assert plan["route"]["rule_id"] == early


def test_disabled_rule_is_ignored(db, front_desk):
    ids = front_desk
    make_rule(db, ids["number"], "off", action="devices", device_ids=[ids["a"]], enabled=False)
    plan = plan_call(db, make_call("+4930123456"))
    assert plan["route"]["rule_id"] is None
    assert _rung(plan) == [ids["a"], ids["b"], ids["c"]]


def test_rule_only_narrows_the_first_step_not_the_overflow(db, front_desk):
    ids = front_desk
    db.execute(
        "UPDATE cfg.hunt_group SET overflow_kind = 'group', overflow_group_id = %s WHERE id = %s",
        (ids["other_group"], ids["group"]),
    )
    add_member(db, ids["other_group"], device_id=ids["a"])
    make_rule(db, ids["number"], "only b", action="devices", device_ids=[ids["b"]])
    plan = plan_call(db, make_call("+4930123456"))
    assert [[leg["device_id"] for leg in s["legs"]] for s in plan["steps"]] == [
        [ids["b"]],
        [ids["x"], ids["a"]],
    ]


def test_hostile_caller_number_is_inert(db, front_desk):
    ids = front_desk
    make_rule(
        db,
        ids["number"],
        "pattern",
        caller_match="pattern",
        caller_value=r"^\+49",
        action="devices",
        device_ids=[ids["a"]],
    )
    caller = "'; DROP TABLE cfg.device;--\r\nX: y"
    plan = plan_call(db, make_call("+4930123456", caller_number=caller))
    assert plan["caller_id"]["number"] == caller
    assert plan["route"]["rule_id"] is None
    assert db.execute("SELECT count(*) AS n FROM cfg.device").fetchone()["n"] >= 4
