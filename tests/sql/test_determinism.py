"""plan_call is STABLE and clock-free; explain_call and start_call plan exactly the same."""

import re

import pytest

from tests.sql.factories import (
    add_member,
    explain_call,
    make_call,
    make_contact_list,
    make_device,
    make_domain,
    make_group,
    make_implicit_set,
    make_number,
    make_rule,
    make_schedule,
    plan_call,
    set_overflow,
    start_call,
    weekdays,
)

CLOCK_READERS = re.compile(
    r"\bnow\s*\(|current_timestamp|current_date|current_time|localtime|clock_timestamp|"
    r"statement_timestamp|transaction_timestamp|timeofday",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    ("function", "volatility"),
    [
        pytest.param(
            "routing.plan_call(jsonb,timestamp with time zone)", "s", id="plan_call-stable"
        ),
        pytest.param(
            "routing.explain_call(jsonb,timestamp with time zone)", "s", id="explain_call-stable"
        ),
        pytest.param(
            "routing.build_plan(jsonb,timestamp with time zone,boolean)",
            "s",
            id="build_plan-stable",
        ),
        pytest.param(
            "routing.in_schedule(bigint,timestamp with time zone)", "s", id="in_schedule-stable"
        ),
        pytest.param(
            "routing.start_call(jsonb,timestamp with time zone)", "v", id="start_call-volatile"
        ),
    ],
)
def test_declared_volatility(db, function, volatility):
    row = db.execute(
        "SELECT provolatile FROM pg_proc WHERE oid = %s::regprocedure", (function,)
    ).fetchone()
    assert row["provolatile"] == volatility


def test_no_routing_function_reads_the_clock(db):
    rows = db.execute(
        """
        SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'routing' AND p.proname IN
               ('plan_call', 'explain_call', 'start_call', 'build_plan', 'plan_target_step', 'in_schedule',
                'plan_compiled')
        """
    ).fetchall()
    assert len(rows) == 7
    assert [r["proname"] for r in rows if CLOCK_READERS.search(r["prosrc"])] == []


@pytest.fixture
def busy_domain(db):
    """One domain with every feature, so that all code paths run."""
    domain_id = make_domain(db, time_zone="Europe/Berlin")
    devices = [
        make_device(
            db,
            domain_id,
            f"10{i:02d}",
            name=f"Phone {i}",
            busy=i == 3,
            dnd=i == 4,
            registered=i != 5,
        )
        for i in range(10)
    ]
    hours = make_schedule(
        db,
        domain_id,
        windows=weekdays("09:00", "17:00"),
        exceptions=[("2026-12-25", True, None, None)],
    )
    groups = {}
    for i, strategy in enumerate(
        [
            "simultaneous",
            "sequential",
            "enterprise",
            "random",
            "round_robin",
            "longest_idle",
            "weighted_random",
        ]
    ):
        groups[strategy] = make_group(
            db, domain_id, strategy.title(), strategy=strategy, extension=f"20{i:02d}"
        )
        for j, device in enumerate(devices[i : i + 5]):
            add_member(
                db,
                groups[strategy],
                device_id=device,
                weight=1 + j * 10,
                delay=j,
                schedule_id=hours if j == 2 else None,
            )
        add_member(db, groups[strategy], external="+4915112345678")
    set_overflow(db, groups["simultaneous"], "group", groups["random"])
    set_overflow(db, groups["random"], "voicemail", "main")
    set_id = make_implicit_set(db, domain_id, "Shared", device_ids=devices[:3])
    number_id = make_number(db, domain_id, "+4930100", group_id=groups["simultaneous"])
    make_number(db, domain_id, "+4930200", set_id=set_id)
    vip = make_contact_list(db, domain_id, "VIP", ["+4917011111"])
    make_rule(
        db,
        number_id,
        "vip",
        caller_match="list",
        contact_list_id=vip,
        action="group",
        target_group_id=groups["round_robin"],
    )
    make_rule(
        db,
        number_id,
        "after hours",
        schedule_id=hours,
        schedule_match="out",
        action="devices",
        device_ids=devices[:2],
    )
    return domain_id


CALLS = [
    make_call("+4930100", caller_number="+4917011111"),
    make_call("+4930100", caller_number="+4917022222"),
    make_call("+4930200"),
    make_call("+33123456", from_user="1001"),
    make_call("9999"),
] + [make_call(f"20{i:02d}", uuid=f"00000000-0000-0000-0000-{i:012d}") for i in range(7)]

INSTANTS = [
    "2026-06-10T10:00:00+00:00",
    "2026-06-10T20:00:00+00:00",
    "2026-12-25T10:00:00+00:00",
    "2026-03-29T01:30:00+00:00",
]


@pytest.mark.parametrize("instant", INSTANTS)
def test_plan_and_explain_agree_and_repeat(db, busy_domain, instant):
    from datetime import datetime

    now = datetime.fromisoformat(instant)
    for call in CALLS:
        plan = plan_call(db, call, now)
        assert plan == plan_call(db, call, now)
        assert explain_call(db, call, now)["plan"] == plan


def test_start_call_returns_the_plan_of_plan_call(db, busy_domain):
    for call in CALLS:
        plan = plan_call(db, call)
        assert start_call(db, call) == plan


def test_plan_does_not_depend_on_the_session_time_zone(db, busy_domain):
    plans = []
    for zone in ("UTC", "Pacific/Kiritimati", "America/Los_Angeles"):
        db.execute(f"SET LOCAL TIME ZONE '{zone}'")
        plans.append([plan_call(db, call) for call in CALLS])
    assert plans[0] == plans[1] == plans[2]


def test_plan_changes_with_the_clock_given(db, busy_domain):
    from datetime import datetime

    call = CALLS[1]  # after-hours rule: two devices only
    day = plan_call(db, call, datetime.fromisoformat("2026-06-10T10:00:00+00:00"))
    night = plan_call(db, call, datetime.fromisoformat("2026-06-10T20:00:00+00:00"))
    assert day["route"]["rule_id"] is None
    assert night["route"]["rule_id"] is not None
