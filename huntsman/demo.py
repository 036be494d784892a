"""The demo tenant that `make run` loads into an empty database.

`demo.huntsman.test`: two offices (Berlin, Europe/Berlin and New York, America/New_York) with
300 devices, 20 hunt groups covering every strategy and every member kind, overflow chains,
schedules in both time zones with holidays and a night window across midnight, a shared number
rung through an implicit registration set, and caller-based routing rules. The README's
`routing.explain_call` examples run against it. A call queue (the service desk, extension 500
and its own number) has 40 agents, 30 of them logged in, rung in waves.
"""

from __future__ import annotations

import random
from typing import Any

import psycopg
from psycopg.rows import tuple_row

DOMAIN = "demo.huntsman.test"

# Public numbers (fictional ranges).
MAIN_BERLIN = "+4930901820000"
MAIN_NEW_YORK = "+12125550100"
SHARED_ALICE = "+4930901820050"
SUPPORT = "+4930901820100"
SERVICE_DESK = "+4930901820500"
VIP_CALLER = "+4917011112222"

# (name, extension, strategy, ring_timeout)
GROUPS: list[tuple[str, str, str, int]] = [
    ("Reception Berlin", "200", "simultaneous", 25),
    ("Reception New York", "201", "simultaneous", 25),
    ("Sales DE", "210", "sequential", 15),
    ("Sales US", "211", "round_robin", 15),
    ("Support L1", "220", "longest_idle", 12),
    ("Support L2", "221", "enterprise", 30),
    ("Support L3", "222", "weighted_random", 20),
    ("Billing", "230", "random", 15),
    ("VIP desk", "240", "simultaneous", 30),
    ("Night desk", "250", "sequential", 20),
    ("IT helpdesk", "260", "round_robin", 15),
    ("HR", "270", "longest_idle", 20),
    ("Facilities", "280", "sequential", 15),
    ("Management", "290", "enterprise", 25),
    ("Logistics", "300", "weighted_random", 15),
    ("Purchasing", "310", "random", 15),
    ("Legal", "320", "sequential", 20),
    ("Marketing", "330", "simultaneous", 20),
    ("Field service", "340", "longest_idle", 20),
    ("All hands", "399", "simultaneous", 30),
]


def is_empty(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM cfg.domain)").fetchone()
    return bool(row and row[0])


def load(conninfo: str, *, force: bool = False) -> bool:
    """Load the demo tenant. Returns False (and changes nothing) if the database has domains,
    unless `force` (which replaces an existing demo domain, and only that)."""
    with psycopg.connect(conninfo, row_factory=tuple_row) as conn:
        with conn.transaction():
            # Serialise with other loaders (two `make run` at once).
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('huntsman demo load'))")
            if not is_empty(conn):
                if not force:
                    return False
                conn.execute("DELETE FROM cfg.domain WHERE name = %s", (DOMAIN,))
            _populate(conn)
    return True


def _one(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _populate(conn: psycopg.Connection[Any]) -> None:
    rnd = random.Random(20261126)  # the demo is the same every time
    domain_id = _one(
        conn,
        """INSERT INTO cfg.domain (name, time_zone, gateway, ring_timeout)
           VALUES (%s, 'Europe/Berlin', 'carrier', 30) RETURNING id""",
        (DOMAIN,),
    )

    def insert(sql: str, *params: Any) -> int:
        return int(_one(conn, sql, tuple(params)))

    # --- schedules: both offices, holidays, a night window across midnight -----------------
    berlin_hours = insert(
        "INSERT INTO cfg.schedule (domain_id, name, time_zone) VALUES (%s, %s, %s) RETURNING id",
        domain_id,
        "Berlin office hours",
        "Europe/Berlin",
    )
    new_york_hours = insert(
        "INSERT INTO cfg.schedule (domain_id, name, time_zone) VALUES (%s, %s, %s) RETURNING id",
        domain_id,
        "New York office hours",
        "America/New_York",
    )
    night = insert(
        "INSERT INTO cfg.schedule (domain_id, name, time_zone) VALUES (%s, %s, %s) RETURNING id",
        domain_id,
        "Night desk hours",
        "Europe/Berlin",
    )
    windows = [(berlin_hours, d, "08:00", "18:00") for d in range(1, 6)]
    windows += [(new_york_hours, d, "09:00", "17:00") for d in range(1, 6)]
    windows += [(night, d, "22:00", "06:00") for d in range(1, 8)]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO cfg.schedule_window (domain_id, schedule_id, iso_dow, start_time, end_time)
               VALUES (%s, %s, %s, %s, %s)""",
            [(domain_id, *w) for w in windows],
        )
        holidays = [
            (berlin_hours, "2026-12-24", "Christmas Eve", False, "08:00", "12:00"),
            (berlin_hours, "2026-12-25", "Christmas Day", True, None, None),
            (berlin_hours, "2026-12-26", "Boxing Day", True, None, None),
            (berlin_hours, "2027-01-01", "New Year", True, None, None),
            (new_york_hours, "2026-11-26", "Thanksgiving", True, None, None),
            (new_york_hours, "2026-12-25", "Christmas Day", True, None, None),
            (new_york_hours, "2027-01-01", "New Year", True, None, None),
        ]
        cur.executemany(
            """INSERT INTO cfg.schedule_exception
                   (domain_id, schedule_id, on_date, name, closed, start_time, end_time)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            [(domain_id, *h) for h in holidays],
        )

    # --- users and 300 devices ----------------------------------------------------------------
    # 150 users; each has a desk phone (ext 1000+); every third a softphone (ext 2000+); every
    # fifth a mobile reached as an external number. Plus 50 shared/room phones (ext 3000+).
    devices: list[int] = []
    user_devices: dict[int, list[int]] = {}
    with conn.cursor() as cur:
        for i in range(150):
            office = "Berlin" if i < 100 else "New York"
            user_id = insert(
                "INSERT INTO cfg.app_user (domain_id, name, email) VALUES (%s, %s, %s) RETURNING id",
                domain_id,
                f"{office} user {i + 1:03d}",
                f"user{i + 1:03d}@{DOMAIN}",
            )
            kinds: list[tuple[str, str | None]] = [("Desk phone", f"{1000 + i}")]
            if i % 3 == 0:
                kinds.append(("Softphone", f"{2000 + i}"))
            if i % 5 == 0:
                kinds.append(("Mobile", None))
            for label, ext in kinds:
                endpoint = (
                    f"user/{ext}@{DOMAIN}"
                    if ext
                    else (f"+4917{20000000 + i:08d}" if office == "Berlin" else f"+1646555{i:04d}")
                )
                state = rnd.random()
                cur.execute(
                    """INSERT INTO cfg.device (domain_id, user_id, name, extension, endpoint,
                           registered, dnd, busy, alert_mode, last_call_ended)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,
                               timestamptz '2026-11-26 08:00+00' - make_interval(mins => %s))
                       RETURNING id""",
                    (
                        domain_id,
                        user_id,
                        f"{label} of user {i + 1:03d}",
                        ext,
                        endpoint,
                        ext is None or state > 0.08,  # ~8 % of SIP phones not registered
                        0.08 < state < 0.12,  # ~4 % on do-not-disturb
                        0.12 < state < 0.16,  # ~4 % busy
                        "visual" if label == "Softphone" and i % 2 else "audible",
                        rnd.randrange(0, 600),
                    ),
                )
                device_id = cur.fetchone()[0]  # type: ignore[index]
                devices.append(device_id)
                user_devices.setdefault(user_id, []).append(device_id)
        while len(devices) < 300:
            n = len(devices)
            cur.execute(
                """INSERT INTO cfg.device (domain_id, name, extension, endpoint, registered)
                   VALUES (%s, %s, %s, %s, true) RETURNING id""",
                (domain_id, f"Room phone {n}", f"{3000 + n}", f"user/{3000 + n}@{DOMAIN}"),
            )
            devices.append(cur.fetchone()[0])  # type: ignore[index]

    users = list(user_devices)

    # --- numbers ----------------------------------------------------------------------------
    def number(e164: str, label: str) -> int:
        return insert(
            "INSERT INTO cfg.number (domain_id, e164, label) VALUES (%s, %s, %s) RETURNING id",
            domain_id,
            e164,
            label,
        )

    main_berlin = number(MAIN_BERLIN, "Berlin main line")
    main_new_york = number(MAIN_NEW_YORK, "New York main line")
    shared = number(SHARED_ALICE, "Alice (shared by her three devices)")
    support = number(SUPPORT, "Support hotline")

    # --- implicit registration: one number, three devices of user 001 -------------------------
    alice_devices = user_devices[users[0]]  # desk phone, softphone, mobile
    alice_set = insert(
        "INSERT INTO cfg.implicit_set (domain_id, name, number_id) VALUES (%s, %s, %s) RETURNING id",
        domain_id,
        "Alice's devices",
        shared,
    )
    for device_id in alice_devices:
        conn.execute(
            "INSERT INTO cfg.implicit_set_device (domain_id, set_id, device_id) VALUES (%s, %s, %s)",
            (domain_id, alice_set, device_id),
        )
    # Per-device originating number: the desk phone presents the Berlin main line, the others
    # the shared number.
    conn.execute(
        "UPDATE cfg.device SET presented_number_id = %s WHERE id = %s",
        (main_berlin, alice_devices[0]),
    )
    conn.execute(
        "UPDATE cfg.device SET presented_number_id = %s WHERE id = ANY(%s)",
        (shared, alice_devices[1:]),
    )

    # --- 20 hunt groups -----------------------------------------------------------------------
    group_ids: dict[str, int] = {}
    for name, ext, strategy, timeout in GROUPS:
        group_ids[name] = insert(
            """INSERT INTO cfg.hunt_group (domain_id, name, extension, strategy, ring_timeout)
               VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            domain_id,
            name,
            ext,
            strategy,
            timeout,
        )

    def member(group: str, kind: str, ref: Any, position: int, **extra: Any) -> int:
        column = {
            "device": "device_id",
            "user": "user_id",
            "implicit_set": "set_id",
            "external": "external_number",
            "group": "member_group_id",
        }[kind]
        columns = ["domain_id", "group_id", "kind", column, "position", *extra]
        values = [domain_id, group_ids[group], kind, ref, position, *extra.values()]
        return insert(
            f"INSERT INTO cfg.hunt_group_member ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
            *values,
        )

    # Device members: each ordinary group gets 8 devices from the pool, with varied timers.
    pool = devices[:]
    rnd.shuffle(pool)
    cursor = 0
    for name, _ext, strategy, _timeout in GROUPS:
        if name in ("All hands", "VIP desk"):
            continue
        for pos in range(8):
            extra: dict[str, Any] = {}
            if strategy == "weighted_random":
                extra["weight"] = rnd.choice([1, 2, 5, 10])
            if strategy in ("simultaneous", "enterprise") and pos >= 4:
                extra["delay"] = 5  # the second half joins after 5 s
            if strategy in ("sequential", "round_robin") and pos % 3 == 0:
                extra["ring_timeout"] = 10
            member(name, "device", pool[cursor % len(pool)], pos, **extra)
            cursor += 1
    # Other member kinds.
    member("VIP desk", "user", users[1], 0)
    member("VIP desk", "user", users[2], 1)
    member("VIP desk", "implicit_set", alice_set, 2)
    member("VIP desk", "external", "+4917099990000", 3, delay=10)
    member("All hands", "group", group_ids["Reception Berlin"], 0)
    member("All hands", "group", group_ids["Management"], 1)
    member("Night desk", "external", "+12125550199", 9, ring_timeout=30)
    # A night-only member (schedule on the member).
    member("Support L2", "device", devices[-1], 9, schedule_id=night)

    # --- numbers' targets and overflow chains ---------------------------------------------------
    conn.execute(
        "UPDATE cfg.number SET target_kind = 'group', target_group_id = %s WHERE id = %s",
        (group_ids["Reception Berlin"], main_berlin),
    )
    conn.execute(
        "UPDATE cfg.number SET target_kind = 'group', target_group_id = %s WHERE id = %s",
        (group_ids["Reception New York"], main_new_york),
    )
    conn.execute(
        "UPDATE cfg.number SET target_kind = 'implicit_set', target_set_id = %s WHERE id = %s",
        (alice_set, shared),
    )
    conn.execute(
        "UPDATE cfg.number SET target_kind = 'group', target_group_id = %s WHERE id = %s",
        (group_ids["Support L1"], support),
    )
    overflows = [
        ("Reception Berlin", "group", "Sales DE"),
        ("Sales DE", "voicemail", "sales-de"),
        ("Reception New York", "group", "Sales US"),
        ("Sales US", "number", MAIN_BERLIN),  # New York overflows to Berlin's main line
        ("Support L1", "group", "Support L2"),
        ("Support L2", "group", "Support L3"),
        ("Support L3", "voicemail", "support"),
        ("Night desk", "hangup", "NO_ANSWER"),
        ("VIP desk", "group", "Management"),
    ]
    for group, kind, target in overflows:
        column = {
            "group": "overflow_group_id",
            "number": "overflow_number",
            "voicemail": "overflow_mailbox",
            "hangup": "overflow_cause",
        }[kind]
        value = group_ids[target] if kind == "group" else target
        conn.execute(
            f"UPDATE cfg.hunt_group SET overflow_kind = %s, {column} = %s WHERE id = %s",
            (kind, value, group_ids[group]),
        )

    # --- caller- and time-based rules on the Berlin main line -----------------------------------
    vip = insert(
        "INSERT INTO cfg.contact_list (domain_id, name) VALUES (%s, %s) RETURNING id",
        domain_id,
        "VIP customers",
    )
    for caller, label in [(VIP_CALLER, "Key account A"), ("+4989123456", "Key account B")]:
        conn.execute(
            """INSERT INTO cfg.contact_list_entry (domain_id, list_id, number, label)
               VALUES (%s, %s, %s, %s)""",
            (domain_id, vip, caller, label),
        )
    reception_members = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM cfg.hunt_group_member WHERE group_id = %s ORDER BY position LIMIT 3",
            (group_ids["Reception Berlin"],),
        )
    ]
    rules: list[tuple[Any, ...]] = [
        # (position, name, caller_match, caller_value, list, schedule, schedule_match, action, group)
        (10, "VIP customers go to the VIP desk", "list", None, vip, None, "in", "group", "VIP desk"),
        (20, "Closed: night desk", "any", None, None, berlin_hours, "out", "group", "Night desk"),
        (30, "US callers: Sales US", "prefix", "+1", None, None, "in", "group", "Sales US"),
        (40, "Mobile callers: first three receptionists", "pattern", r"^\+491[5-7]", None, None,
         "in", "members", None),
    ]  # fmt: skip
    for pos, name, match, value, list_id, sched, smatch, action, target in rules:
        rule_id = insert(
            """INSERT INTO cfg.routing_rule (domain_id, number_id, position, name, caller_match,
                   caller_value, contact_list_id, schedule_id, schedule_match, action,
                   target_group_id)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            domain_id,
            main_berlin,
            pos,
            name,
            match,
            value,
            list_id,
            sched,
            smatch,
            action,
            group_ids[target] if target else None,
        )
        if action == "members":
            for member_id in reception_members:
                conn.execute(
                    """INSERT INTO cfg.routing_rule_member (domain_id, rule_id, member_id)
                       VALUES (%s, %s, %s)""",
                    (domain_id, rule_id, member_id),
                )
    _service_desk(conn, domain_id, user_devices, number("+4930901820500", "Service desk"))

    # New York's main line is answered only during New York hours; otherwise Berlin picks up.
    insert(
        """INSERT INTO cfg.routing_rule (domain_id, number_id, position, name, schedule_id,
               schedule_match, action, target_group_id)
           VALUES (%s, %s, 10, 'Closed in New York: Berlin reception', %s, 'out', 'group', %s)
           RETURNING id""",
        domain_id,
        main_new_york,
        new_york_hours,
        group_ids["Reception Berlin"],
    )


def _service_desk(
    conn: psycopg.Connection[Any],
    domain_id: int,
    user_devices: dict[int, list[int]],
    number_id: int,
) -> None:
    """A call queue rung in waves: 40 agents (users 051-090, all their devices ring), 30 logged
    in and idle since staggered times, 5 on break, 5 logged out."""
    queue_id = _one(
        conn,
        """INSERT INTO queue.queue (domain_id, name, extension, number_id, wave_fraction,
               wave_min, wave_max, wave_ring_seconds, max_wait_seconds, wrap_up_seconds,
               announce_position, announce_wait)
           VALUES (%s, 'Service desk', '500', %s, 0.25, 2, 8, 15, 600, 15, true, true)
           RETURNING id""",
        (domain_id, number_id),
    )
    for i, user_id in enumerate(list(user_devices)[50:90]):
        state = "available" if i < 30 else ("on_break" if i < 35 else "logged_out")
        agent_id = _one(
            conn,
            """INSERT INTO queue.agent (domain_id, user_id, name, state, state_since, idle_since,
                   break_reason)
               VALUES (%s, %s, %s, %s::queue.agent_state, timestamptz '2026-11-26 07:00+00',
                       CASE WHEN %s = 'available'
                            THEN timestamptz '2026-11-26 07:00+00' + make_interval(mins => %s)
                       END,
                       CASE WHEN %s = 'on_break' THEN 'lunch' END)
               RETURNING id""",
            (domain_id, user_id, f"Agent {i + 1:02d}", state, state, i, state),
        )
        conn.execute(
            """INSERT INTO queue.member (domain_id, queue_id, agent_id, level)
               VALUES (%s, %s, %s, %s)""",
            (domain_id, queue_id, agent_id, 1 if i < 20 else 2),
        )
