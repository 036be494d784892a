"""Schedules on the wall clock of their IANA zone: DST gaps and overlaps, midnight, holidays.

Every instant is given in UTC and the expected answer was worked out by hand from the zone's
rules (Europe/Berlin: CET = UTC+1, CEST = UTC+2, switching 2026-03-29 01:00Z and 2026-10-25
01:00Z; America/New_York: EST = UTC-5, EDT = UTC-4, switching 2026-03-08 07:00Z and 2026-11-01
06:00Z). Several cases are chosen so that using a fixed offset would give the other answer.
"""

from datetime import datetime

import pytest

from tests.sql.factories import (
    add_member,
    make_call,
    make_device,
    make_domain,
    make_group,
    make_number,
    make_rule,
    make_schedule,
    plan_call,
)

SUN, MON, TUE, WED, THU, FRI, SAT = 7, 1, 2, 3, 4, 5, 6

CASES = [
    # Europe/Berlin spring forward, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST
    pytest.param(
        "Europe/Berlin",
        [(SUN, "09:00", "17:00")],
        [],
        "2026-03-29T07:15:00Z",
        True,
        id="berlin-spring-forward-morning-is-summer-time",
    ),
    pytest.param(
        "Europe/Berlin",
        [(SUN, "09:00", "17:00")],
        [],
        "2026-03-29T15:30:00Z",
        False,
        id="berlin-spring-forward-17h30-is-closed",
    ),
    pytest.param(
        "Europe/Berlin",
        [(SUN, "02:00", "03:00")],
        [],
        "2026-03-29T00:59:59Z",
        False,
        id="berlin-gap-window-before-the-jump",
    ),
    pytest.param(
        "Europe/Berlin",
        [(SUN, "02:00", "03:00")],
        [],
        "2026-03-29T01:00:00Z",
        False,
        id="berlin-gap-window-never-opens",
    ),
    pytest.param(
        "Europe/Berlin",
        [(SUN, "02:00", "03:30")],
        [],
        "2026-03-29T01:00:00Z",
        True,
        id="berlin-window-across-the-gap-is-open-after-it",
    ),
    # Europe/Berlin fall back, Sunday 2026-10-25: 03:00 CEST goes back to 02:00 CET
    pytest.param(
        "Europe/Berlin",
        [(SUN, "02:00", "03:00")],
        [],
        "2026-10-25T00:30:00Z",
        True,
        id="berlin-overlap-first-02h30",
    ),
    pytest.param(
        "Europe/Berlin",
        [(SUN, "02:00", "03:00")],
        [],
        "2026-10-25T01:30:00Z",
        True,
        id="berlin-overlap-second-02h30",
    ),
    pytest.param(
        "Europe/Berlin",
        [(SUN, "02:00", "03:00")],
        [],
        "2026-10-25T02:30:00Z",
        False,
        id="berlin-after-the-overlap",
    ),
    # America/New_York spring forward, Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT
    pytest.param(
        "America/New_York",
        [(SUN, "08:00", "12:00")],
        [],
        "2026-03-08T12:30:00Z",
        True,
        id="new-york-spring-forward-08h30-edt",
    ),
    pytest.param(
        "America/New_York",
        [(SUN, "01:00", "02:00")],
        [],
        "2026-03-08T06:59:00Z",
        True,
        id="new-york-01h59-est-before-the-gap",
    ),
    pytest.param(
        "America/New_York",
        [(SUN, "01:00", "02:00")],
        [],
        "2026-03-08T07:00:00Z",
        False,
        id="new-york-03h00-edt-after-the-gap",
    ),
    # America/New_York fall back, Sunday 2026-11-01: 02:00 EDT goes back to 01:00 EST
    pytest.param(
        "America/New_York",
        [(SUN, "01:00", "02:00")],
        [],
        "2026-11-01T05:30:00Z",
        True,
        id="new-york-overlap-first-01h30-edt",
    ),
    pytest.param(
        "America/New_York",
        [(SUN, "01:00", "02:00")],
        [],
        "2026-11-01T06:30:00Z",
        True,
        id="new-york-overlap-second-01h30-est",
    ),
    pytest.param(
        "America/New_York",
        [(SUN, "01:00", "02:00")],
        [],
        "2026-11-01T07:30:00Z",
        False,
        id="new-york-02h30-est-after-the-overlap",
    ),
    # a window across midnight, Friday 22:00 -> Saturday 06:00 (Berlin, summer: UTC+2)
    pytest.param(
        "Europe/Berlin",
        [(FRI, "22:00", "06:00")],
        [],
        "2026-06-12T19:59:00Z",
        False,
        id="midnight-window-friday-21h59",
    ),
    pytest.param(
        "Europe/Berlin",
        [(FRI, "22:00", "06:00")],
        [],
        "2026-06-12T21:00:00Z",
        True,
        id="midnight-window-friday-23h00",
    ),
    pytest.param(
        "Europe/Berlin",
        [(FRI, "22:00", "06:00")],
        [],
        "2026-06-13T03:59:00Z",
        True,
        id="midnight-window-saturday-05h59",
    ),
    pytest.param(
        "Europe/Berlin",
        [(FRI, "22:00", "06:00")],
        [],
        "2026-06-13T04:00:00Z",
        False,
        id="midnight-window-saturday-06h00",
    ),
    pytest.param(
        "Europe/Berlin",
        [(FRI, "22:00", "06:00")],
        [],
        "2026-06-11T21:00:00Z",
        False,
        id="midnight-window-thursday-23h00",
    ),
    pytest.param(
        "Europe/Berlin",
        [(FRI, "22:00", "06:00")],
        [],
        "2026-06-12T03:00:00Z",
        False,
        id="midnight-window-friday-05h00-belongs-to-thursday",
    ),
    pytest.param(
        "Europe/Berlin",
        [(WED, "18:00", "24:00")],
        [],
        "2026-06-10T21:59:00Z",
        True,
        id="until-24h00-open-at-23h59",
    ),
    pytest.param(
        "Europe/Berlin",
        [(WED, "18:00", "24:00")],
        [],
        "2026-06-10T22:00:00Z",
        False,
        id="until-24h00-closed-at-midnight",
    ),
    # holidays and special hours (Berlin, winter: UTC+1); 2026-12-25 is a Friday
    pytest.param(
        "Europe/Berlin",
        [(THU, "09:00", "17:00"), (FRI, "09:00", "17:00")],
        [("2026-12-25", True, None, None)],
        "2026-12-24T10:00:00Z",
        True,
        id="day-before-the-holiday-open",
    ),
    pytest.param(
        "Europe/Berlin",
        [(THU, "09:00", "17:00"), (FRI, "09:00", "17:00")],
        [("2026-12-25", True, None, None)],
        "2026-12-25T10:00:00Z",
        False,
        id="holiday-closed-all-day",
    ),
    pytest.param(
        "Europe/Berlin",
        [(THU, "09:00", "17:00")],
        [("2026-12-24", False, "09:00", "12:00")],
        "2026-12-24T10:30:00Z",
        True,
        id="special-hours-open",
    ),
    pytest.param(
        "Europe/Berlin",
        [(THU, "09:00", "17:00")],
        [("2026-12-24", False, "09:00", "12:00")],
        "2026-12-24T11:30:00Z",
        False,
        id="special-hours-close-early",
    ),
    pytest.param(
        "Europe/Berlin",
        [],
        [("2026-12-27", False, "10:00", "14:00")],
        "2026-12-27T10:00:00Z",
        True,
        id="special-hours-on-a-closed-sunday",
    ),
    pytest.param(
        "Europe/Berlin",
        [(THU, "22:00", "06:00")],
        [("2026-12-25", True, None, None)],
        "2026-12-25T02:00:00Z",
        True,
        id="overnight-window-runs-into-the-holiday-morning",
    ),
    pytest.param(
        "Europe/Berlin",
        [(MON, "00:00", "24:00")],
        [],
        "2026-06-08T12:00:00Z",
        True,
        id="all-day-window",
    ),
    pytest.param(
        "UTC", [(TUE, "09:00", "17:00")], [], "2026-02-10T17:00:00Z", False, id="end-is-exclusive"
    ),
    pytest.param(
        "UTC",
        [(SAT, "09:00", "17:00")],
        [],
        "2028-02-29T10:00:00Z",
        False,
        id="leap-day-tuesday-not-saturday",
    ),
]


def _instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(("zone", "windows", "exceptions", "instant", "expected"), CASES)
def test_in_schedule(db, zone, windows, exceptions, instant, expected):
    domain_id = make_domain(db)
    schedule_id = make_schedule(
        db, domain_id, time_zone=zone, windows=windows, exceptions=exceptions
    )
    row = db.execute(
        "SELECT routing.in_schedule(%s, %s) AS open", (schedule_id, _instant(instant))
    ).fetchone()
    assert row["open"] is expected


def test_schedule_ignores_the_session_time_zone(db):
    domain_id = make_domain(db)
    schedule_id = make_schedule(
        db, domain_id, time_zone="Europe/Berlin", windows=[(SUN, "09:00", "17:00")]
    )
    answers = set()
    for session_zone in ("UTC", "Pacific/Kiritimati", "America/Los_Angeles"):
        db.execute(f"SET LOCAL TIME ZONE '{session_zone}'")
        row = db.execute(
            "SELECT routing.in_schedule(%s, %s) AS open",
            (schedule_id, _instant("2026-03-29T07:15:00Z")),
        ).fetchone()
        answers.add(row["open"])
    assert answers == {True}


@pytest.mark.parametrize(
    ("schedule_match", "instant", "matches"),
    [
        pytest.param("in", "2026-12-24T10:00:00Z", True, id="in-schedule-rule-during-hours"),
        pytest.param("in", "2026-12-25T10:00:00Z", False, id="in-schedule-rule-on-the-holiday"),
        pytest.param("out", "2026-12-25T10:00:00Z", True, id="out-of-schedule-rule-on-the-holiday"),
        pytest.param("out", "2026-12-24T10:00:00Z", False, id="out-of-schedule-rule-during-hours"),
    ],
)
def test_schedule_rule_on_a_number(db, schedule_match, instant, matches):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Front desk")
    office = make_device(db, domain_id, "1000", name="office")
    other = make_device(db, domain_id, "1001", name="other")
    add_member(db, group_id, device_id=office)
    add_member(db, group_id, device_id=other)
    number_id = make_number(db, domain_id, "+4930123456", group_id=group_id)
    hours = make_schedule(
        db,
        domain_id,
        windows=[(THU, "09:00", "17:00"), (FRI, "09:00", "17:00")],
        exceptions=[("2026-12-25", True, None, None)],
    )
    rule_id = make_rule(
        db,
        number_id,
        "office only",
        schedule_id=hours,
        schedule_match=schedule_match,
        action="devices",
        device_ids=[office],
    )

    plan = plan_call(db, make_call("+4930123456"), _instant(instant))

    assert [leg["device_id"] for leg in plan["steps"][0]["legs"]] == (
        [office] if matches else [office, other]
    )
    assert plan["route"]["rule_id"] == (rule_id if matches else None)
