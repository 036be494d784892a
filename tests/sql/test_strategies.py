"""Hunt group strategies: dial order, delays and timeouts carried into the plan's legs."""

from datetime import datetime, timedelta

import pytest

from tests.sql.factories import (
    add_member,
    explain_call,
    leg_targets,
    make_call,
    make_device,
    make_domain,
    make_group,
    make_implicit_set,
    make_number,
    make_user,
    plan_call,
    start_call,
)


def _group(db, strategy, count=3, ring_timeout=25):
    """Domain + group at extension 2001 with `count` devices 1000.. as members (positions in order)."""
    domain_id = make_domain(db)
    group_id = make_group(
        db, domain_id, "Sales", strategy=strategy, extension="2001", ring_timeout=ring_timeout
    )
    devices = [make_device(db, domain_id, f"10{i:02d}", name=f"Agent {i}") for i in range(count)]
    members = [add_member(db, group_id, device_id=d) for d in devices]
    return domain_id, group_id, devices, members


def _plan(db, uuid="00000000-0000-0000-0000-000000000001"):
    return plan_call(db, make_call("2001", uuid=uuid))


@pytest.mark.parametrize(
    ("strategy", "dial", "step_timeout", "variables"),
    [
        pytest.param(
            "simultaneous", "simultaneous", 25, {"ignore_early_media": "true"}, id="simultaneous"
        ),
        pytest.param(
            "enterprise", "enterprise", 25, {"ignore_early_media": "true"}, id="enterprise"
        ),
        # sequential: the step may ring every leg in turn: sum of (delay + timeout)
        pytest.param(
            "sequential", "sequential", (0 + 25) + (5 + 15) + (10 + 20), {}, id="sequential"
        ),
    ],
)
def test_ordered_strategies_carry_position_delay_and_timeout(
    db, strategy, dial, step_timeout, variables
):
    domain_id = make_domain(db)
    group_id = make_group(
        db, domain_id, "Sales", strategy=strategy, extension="2001", ring_timeout=25
    )
    a, b, c = (
        make_device(db, domain_id, ext, name=name)
        for ext, name in [("1000", "A"), ("1001", "B"), ("1002", "C")]
    )
    # inserted C, A, B but positioned A, B, C: the order follows position, not insertion
    add_member(db, group_id, device_id=c, position=2, delay=10, ring_timeout=20)
    add_member(db, group_id, device_id=a, position=0)
    add_member(db, group_id, device_id=b, position=1, delay=5, ring_timeout=15)

    step = _plan(db)["steps"][0]

    assert step["type"] == "bridge"
    assert step["strategy"] == dial
    assert step["group_id"] == group_id
    assert step["label"] == f"Sales ({strategy})"
    assert step["timeout"] == step_timeout
    assert step["variables"] == variables
    assert [(leg["device_id"], leg["delay"], leg["timeout"]) for leg in step["legs"]] == [
        (a, 0, 25),
        (b, 5, 15),
        (c, 10, 20),
    ]
    assert [leg["target"] for leg in step["legs"]] == [
        "user/1000@example.com",
        "user/1001@example.com",
        "user/1002@example.com",
    ]


def test_random_order_is_deterministic_per_call_and_varies_between_calls(db):
    _, _, devices, _ = _group(db, "random", count=4)
    orders = set()
    for i in range(20):
        uuid = f"00000000-0000-0000-0000-{i:012d}"
        first = [leg["device_id"] for leg in _plan(db, uuid)["steps"][0]["legs"]]
        again = [leg["device_id"] for leg in _plan(db, uuid)["steps"][0]["legs"]]
        assert first == again
        assert sorted(first) == sorted(devices)
        orders.add(tuple(first))
    assert len(orders) >= 5
    step = _plan(db)["steps"][0]
    assert step["strategy"] == "sequential"
    assert step["label"] == "Sales (random)"


def test_weighted_random_prefers_heavy_members(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", strategy="weighted_random", extension="2001")
    heavy = make_device(db, domain_id, "1000")
    light = [make_device(db, domain_id, f"10{i:02d}") for i in range(1, 4)]
    add_member(db, group_id, device_id=heavy, weight=1000)
    for d in light:
        add_member(db, group_id, device_id=d, weight=1)
    firsts = [
        _plan(db, f"00000000-0000-0000-0000-{i:012d}")["steps"][0]["legs"][0]["device_id"]
        for i in range(100)
    ]
    assert firsts.count(heavy) >= 95
    # with equal weights everybody gets to ring first sometimes
    db.execute("UPDATE cfg.hunt_group_member SET weight = 10 WHERE group_id = %s", (group_id,))
    firsts = {
        _plan(db, f"00000000-0000-0000-0000-{i:012d}")["steps"][0]["legs"][0]["device_id"]
        for i in range(100)
    }
    assert firsts == {heavy, *light}


def test_longest_idle_rings_the_longest_idle_first(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", strategy="longest_idle", extension="2001")
    t = datetime.fromisoformat("2026-06-10T09:00:00+00:00")
    recent = make_device(db, domain_id, "1000", last_call_ended=t)
    never = make_device(db, domain_id, "1001", last_call_ended=None)
    older = make_device(db, domain_id, "1002", last_call_ended=t - timedelta(hours=1))
    for d in (recent, never, older):
        add_member(db, group_id, device_id=d)
    assert [leg["device_id"] for leg in _plan(db)["steps"][0]["legs"]] == [never, older, recent]


def test_round_robin_starts_after_where_the_last_started_call_stopped(db):
    _, group_id, devices, members = _group(db, "round_robin", count=3)
    call = make_call("2001")
    # plan_call is read-only: it does not move the pointer
    assert plan_call(db, call)["steps"][0]["legs"][0]["device_id"] == devices[0]
    assert plan_call(db, call)["steps"][0]["legs"][0]["device_id"] == devices[0]
    firsts = []
    for _ in range(4):
        plan = start_call(db, call)
        firsts.append([leg["device_id"] for leg in plan["steps"][0]["legs"]])
    assert firsts == [
        [devices[0], devices[1], devices[2]],
        [devices[1], devices[2], devices[0]],
        [devices[2], devices[0], devices[1]],
        [devices[0], devices[1], devices[2]],
    ]
    state = db.execute(
        "SELECT last_member_id FROM routing.group_state WHERE group_id = %s", (group_id,)
    ).fetchone()
    assert state["last_member_id"] == members[0]
    # plan_call now agrees with where start_call left the pointer
    assert plan_call(db, call)["steps"][0]["legs"][0]["device_id"] == devices[1]


def test_round_robin_skips_members_that_cannot_ring_without_losing_its_place(db):
    domain_id, group_id, devices, _ = _group(db, "round_robin", count=3)
    db.execute("UPDATE cfg.device SET dnd = true WHERE id = %s", (devices[1],))
    call = make_call("2001")
    assert [leg["device_id"] for leg in start_call(db, call)["steps"][0]["legs"]] == [
        devices[0],
        devices[2],
    ]
    assert [leg["device_id"] for leg in start_call(db, call)["steps"][0]["legs"]] == [
        devices[2],
        devices[0],
    ]


def test_nested_group_expands_in_place_with_added_delay(db):
    domain_id = make_domain(db)
    outer = make_group(db, domain_id, "Outer", extension="2001", ring_timeout=30)
    inner = make_group(db, domain_id, "Inner", strategy="random")
    a, b, c = (make_device(db, domain_id, ext) for ext in ("1000", "1001", "1002"))
    add_member(db, outer, device_id=a)
    add_member(db, outer, member_group_id=inner, delay=5, ring_timeout=20)
    add_member(db, inner, device_id=b, delay=3, ring_timeout=10)
    add_member(db, inner, device_id=c)

    legs = _plan(db)["steps"][0]["legs"]

    assert [(leg["device_id"], leg["delay"], leg["timeout"]) for leg in legs] == [
        (a, 0, 30),
        (b, 8, 10),
        (c, 5, 20),
    ]


def test_nested_group_cycle_is_cut_and_explained(db):
    domain_id = make_domain(db)
    outer = make_group(db, domain_id, "Outer", extension="2001")
    inner = make_group(db, domain_id, "Inner")
    a, b = make_device(db, domain_id, "1000"), make_device(db, domain_id, "1001")
    add_member(db, outer, device_id=a)
    add_member(db, outer, member_group_id=inner)
    add_member(db, inner, device_id=b)
    back = add_member(db, inner, member_group_id=outer)

    result = explain_call(db, make_call("2001"))

    assert [leg["device_id"] for leg in result["plan"]["steps"][0]["legs"]] == [a, b]
    skipped = [r for r in result["reasons"] if r["kind"] == "member_skipped"]
    assert [(r["member_id"], r["reason"]) for r in skipped] == [(back, "nested_cycle")]


def test_user_member_rings_all_the_users_devices_once(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001")
    alice = make_user(db, domain_id, "Alice")
    desk = make_device(db, domain_id, "1000", user_id=alice)
    mobile = make_device(db, domain_id, "1001", user_id=alice)
    add_member(db, group_id, device_id=desk)
    add_member(db, group_id, user_id=alice)

    result = explain_call(db, make_call("2001"))

    assert [leg["device_id"] for leg in result["plan"]["steps"][0]["legs"]] == [desk, mobile]
    assert [
        (r["device_id"], r["reason"]) for r in result["reasons"] if r["kind"] == "member_skipped"
    ] == [(desk, "duplicate")]


def test_implicit_registration_set_rings_every_device_of_the_set(db):
    domain_id = make_domain(db)
    desk = make_device(db, domain_id, "1000")
    soft = make_device(db, domain_id, "1001")
    mobile = make_device(db, domain_id, None, name="Mobile", endpoint="+4915112345678")
    set_id = make_implicit_set(db, domain_id, "Alice line", device_ids=[desk, soft, mobile])
    make_implicit_set(
        db, domain_id, "Other line", device_ids=[desk]
    )  # a device may be in several sets
    number_id = make_number(db, domain_id, "+4930123456", set_id=set_id, label="Alice")
    db.execute("UPDATE cfg.implicit_set SET number_id = %s WHERE id = %s", (number_id, set_id))

    plan = plan_call(db, make_call("+4930123456"))

    assert plan["route"]["kind"] == "number"
    assert len(plan["steps"]) == 1
    step = plan["steps"][0]
    assert step["strategy"] == "simultaneous"
    assert step["timeout"] == 30
    assert leg_targets(plan) == [
        "user/1000@example.com",
        "user/1001@example.com",
        "sofia/gateway/carrier/+4915112345678",
    ]


def test_external_member_rings_through_the_gateway_or_is_skipped_without_one(db):
    domain_id, group_id, devices, _ = _group(db, "sequential", count=1)
    external = add_member(db, group_id, external="+4915112345678", ring_timeout=40)
    plan = _plan(db)
    assert leg_targets(plan) == ["user/1000@example.com", "sofia/gateway/carrier/+4915112345678"]
    assert plan["steps"][0]["legs"][1]["timeout"] == 40
    assert plan["steps"][0]["legs"][1]["member_id"] == external

    db.execute("UPDATE cfg.domain SET gateway = NULL WHERE id = %s", (domain_id,))
    result = explain_call(db, make_call("2001", uuid="00000000-0000-0000-0000-000000000001"))
    assert leg_targets(result["plan"]) == ["user/1000@example.com"]
    assert {"member_id": external, "reason": "no_gateway"}.items() <= next(
        r for r in result["reasons"] if r["kind"] == "member_skipped"
    ).items()


def test_visual_alert_mode_is_a_leg_variable(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001")
    add_member(db, group_id, device_id=make_device(db, domain_id, "1000", alert_mode="visual"))
    add_member(db, group_id, device_id=make_device(db, domain_id, "1001"))
    legs = _plan(db)["steps"][0]["legs"]
    assert [leg["variables"] for leg in legs] == [{"huntsman_alert_mode": "visual"}, {}]


def test_more_than_128_legs_are_cut_at_the_freeswitch_limit(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Everyone", extension="2001")
    db.execute(
        """
        INSERT INTO cfg.device (domain_id, name, extension, endpoint, registered)
        SELECT %(d)s, 'Phone ' || i, (3000 + i)::text, 'user/' || (3000 + i) || '@example.com', true
          FROM generate_series(1, 130) i
        """,
        {"d": domain_id},
    )
    db.execute(
        """
        INSERT INTO cfg.hunt_group_member (domain_id, group_id, kind, device_id, position)
        SELECT domain_id, %(g)s, 'device', id, id FROM cfg.device WHERE domain_id = %(d)s
        """,
        {"d": domain_id, "g": group_id},
    )
    result = explain_call(db, make_call("2001"))
    assert len(result["plan"]["steps"][0]["legs"]) == 128
    assert [r["reason"] for r in result["reasons"] if r["kind"] == "member_skipped"] == [
        "leg_limit"
    ] * 2
