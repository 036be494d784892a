"""Build cfg rows for SQL tests: small functions taking a psycopg connection, returning ids.

Every factory works with any row factory on the connection and inside the caller's transaction
(the `db` fixture rolls it back). Defaults give a working setup: a domain with a gateway, devices
that are registered, idle and not on DND.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[Any]

# One fixed instant for tests that do not care about the clock (a Wednesday, 10:00 UTC).
DEFAULT_NOW = datetime.fromisoformat("2026-06-10T10:00:00+00:00")


def _scalar(db: Conn, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    with db.cursor(row_factory=tuple_row) as cur:
        cur.execute(sql, params)  # type: ignore[arg-type]
        row = cur.fetchone()
    return None if row is None else row[0]


def _insert(db: Conn, table: str, values: dict[str, Any], schema: str = "cfg") -> int:
    """INSERT the non-None values into schema.table; returns the new id."""
    columns = [c for c, v in values.items() if v is not None]
    sql = f"INSERT INTO {schema}.{{}} ({{}}) VALUES ({{}}) RETURNING id".format(
        table, ", ".join(columns), ", ".join(f"%({c})s" for c in columns)
    )
    return int(_scalar(db, sql, {c: values[c] for c in columns}))


def make_domain(
    db: Conn,
    name: str = "example.com",
    *,
    time_zone: str = "UTC",
    gateway: str | None = "carrier",
    ring_timeout: int = 30,
    fallback_destination: str | None = None,
    fallback_context: str | None = None,
) -> int:
    return _insert(
        db,
        "domain",
        {
            "name": name,
            "time_zone": time_zone,
            "gateway": gateway,
            "ring_timeout": ring_timeout,
            "fallback_destination": fallback_destination,
            "fallback_context": fallback_context,
        },
    )


def domain_name(db: Conn, domain_id: int) -> str:
    return str(_scalar(db, "SELECT name FROM cfg.domain WHERE id = %s", (domain_id,)))


def make_user(db: Conn, domain_id: int, name: str = "Alice", *, email: str | None = None) -> int:
    return _insert(db, "app_user", {"domain_id": domain_id, "name": name, "email": email})


def make_device(
    db: Conn,
    domain_id: int,
    extension: str | None = "1001",
    *,
    name: str | None = None,
    endpoint: str | None = None,
    user_id: int | None = None,
    registered: bool = True,
    dnd: bool = False,
    busy: bool = False,
    alert_mode: str = "audible",
    last_call_ended: datetime | None = None,
    number_id: int | None = None,
    presented_number_id: int | None = None,
) -> int:
    """A device; by default a registered SIP phone `user/<extension>@<domain>`."""
    if endpoint is None:
        if extension is None:
            raise ValueError("make_device needs an extension or an endpoint")
        endpoint = f"user/{extension}@{domain_name(db, domain_id)}"
    return _insert(
        db,
        "device",
        {
            "domain_id": domain_id,
            "extension": extension,
            "name": name if name is not None else f"Phone {extension or endpoint}",
            "endpoint": endpoint,
            "user_id": user_id,
            "registered": registered,
            "dnd": dnd,
            "busy": busy,
            "alert_mode": alert_mode,
            "last_call_ended": last_call_ended,
            "number_id": number_id,
            "presented_number_id": presented_number_id,
        },
    )


def make_number(
    db: Conn,
    domain_id: int,
    e164: str = "+4930123456",
    *,
    group_id: int | None = None,
    set_id: int | None = None,
    device_id: int | None = None,
    user_id: int | None = None,
    label: str | None = None,
) -> int:
    """A public number; give at most one target (group, implicit set, device or user)."""
    kind = (
        "group"
        if group_id
        else "implicit_set"
        if set_id
        else "device"
        if device_id
        else "user"
        if user_id
        else None
    )
    return _insert(
        db,
        "number",
        {
            "domain_id": domain_id,
            "e164": e164,
            "label": label,
            "target_kind": kind,
            "target_group_id": group_id,
            "target_set_id": set_id,
            "target_device_id": device_id,
            "target_user_id": user_id,
        },
    )


def make_implicit_set(
    db: Conn,
    domain_id: int,
    name: str = "Shared line",
    *,
    number_id: int | None = None,
    device_ids: Iterable[int] = (),
) -> int:
    set_id = _insert(
        db, "implicit_set", {"domain_id": domain_id, "name": name, "number_id": number_id}
    )
    for device_id in device_ids:
        db.execute(
            "INSERT INTO cfg.implicit_set_device (domain_id, set_id, device_id) VALUES (%s, %s, %s)",
            (domain_id, set_id, device_id),
        )
    return set_id


def make_group(
    db: Conn,
    domain_id: int,
    name: str = "Sales",
    *,
    strategy: str = "simultaneous",
    extension: str | None = None,
    ring_timeout: int = 30,
    skip_busy: bool = True,
    skip_dnd: bool = True,
    skip_unregistered: bool = True,
    overflow_kind: str | None = None,
    overflow_group_id: int | None = None,
    overflow_number: str | None = None,
    overflow_mailbox: str | None = None,
    overflow_cause: str | None = None,
) -> int:
    return _insert(
        db,
        "hunt_group",
        {
            "domain_id": domain_id,
            "name": name,
            "strategy": strategy,
            "extension": extension,
            "ring_timeout": ring_timeout,
            "skip_busy": skip_busy,
            "skip_dnd": skip_dnd,
            "skip_unregistered": skip_unregistered,
            "overflow_kind": overflow_kind,
            "overflow_group_id": overflow_group_id,
            "overflow_number": overflow_number,
            "overflow_mailbox": overflow_mailbox,
            "overflow_cause": overflow_cause,
        },
    )


def set_overflow(
    db: Conn, group_id: int, kind: str | None, target: int | str | None = None
) -> None:
    """Point a group's overflow: kind group (target id), number (E.164), voicemail (mailbox),
    hangup (cause or None), or None to clear it."""
    db.execute(
        """
        UPDATE cfg.hunt_group
           SET overflow_kind = %s, overflow_group_id = %s, overflow_number = %s,
               overflow_mailbox = %s, overflow_cause = %s
         WHERE id = %s
        """,
        (
            kind,
            target if kind == "group" else None,
            target if kind == "number" else None,
            target if kind == "voicemail" else None,
            target if kind == "hangup" else None,
            group_id,
        ),
    )


def add_member(
    db: Conn,
    group_id: int,
    *,
    device_id: int | None = None,
    user_id: int | None = None,
    set_id: int | None = None,
    external: str | None = None,
    member_group_id: int | None = None,
    position: int | None = None,
    weight: int = 1,
    delay: int = 0,
    ring_timeout: int | None = None,
    schedule_id: int | None = None,
    enabled: bool = True,
) -> int:
    """Add one member (exactly one of device/user/set/external/member_group); position defaults
    to after the last member."""
    kind = (
        "device"
        if device_id
        else "user"
        if user_id
        else "implicit_set"
        if set_id
        else "external"
        if external
        else "group"
    )
    if position is None:
        position = int(
            _scalar(
                db,
                "SELECT coalesce(max(position) + 1, 0) FROM cfg.hunt_group_member WHERE group_id = %s",
                (group_id,),
            )
        )
    domain_id = _scalar(db, "SELECT domain_id FROM cfg.hunt_group WHERE id = %s", (group_id,))
    return _insert(
        db,
        "hunt_group_member",
        {
            "domain_id": domain_id,
            "group_id": group_id,
            "kind": kind,
            "device_id": device_id,
            "user_id": user_id,
            "set_id": set_id,
            "external_number": external,
            "member_group_id": member_group_id,
            "position": position,
            "weight": weight,
            "delay": delay,
            "ring_timeout": ring_timeout,
            "schedule_id": schedule_id,
            "enabled": enabled,
        },
    )


def make_schedule(
    db: Conn,
    domain_id: int,
    name: str = "Office hours",
    *,
    time_zone: str = "Europe/Berlin",
    windows: Iterable[tuple[int, str | time, str | time]] = (),
    exceptions: Iterable[tuple[date | str, bool, str | time | None, str | time | None]] = (),
) -> int:
    """windows: (iso_dow 1=Monday, start, end); exceptions: (date, closed, start, end)."""
    schedule_id = _insert(
        db, "schedule", {"domain_id": domain_id, "name": name, "time_zone": time_zone}
    )
    for iso_dow, start, end in windows:
        db.execute(
            "INSERT INTO cfg.schedule_window (domain_id, schedule_id, iso_dow, start_time, end_time)"
            " VALUES (%s, %s, %s, %s, %s)",
            (domain_id, schedule_id, iso_dow, start, end),
        )
    for on_date, closed, start, end in exceptions:
        db.execute(
            "INSERT INTO cfg.schedule_exception"
            " (domain_id, schedule_id, on_date, closed, start_time, end_time)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (domain_id, schedule_id, on_date, closed, start, end),
        )
    return schedule_id


def weekdays(start: str, end: str, days: Iterable[int] = range(1, 6)) -> list[tuple[int, str, str]]:
    """The same window on several ISO weekdays (default Monday to Friday)."""
    return [(d, start, end) for d in days]


def make_contact_list(
    db: Conn, domain_id: int, name: str = "VIP", numbers: Iterable[str] = ()
) -> int:
    list_id = _insert(db, "contact_list", {"domain_id": domain_id, "name": name})
    for number in numbers:
        db.execute(
            "INSERT INTO cfg.contact_list_entry (domain_id, list_id, number) VALUES (%s, %s, %s)",
            (domain_id, list_id, number),
        )
    return list_id


def make_rule(
    db: Conn,
    number_id: int,
    name: str = "rule",
    *,
    position: int | None = None,
    caller_match: str = "any",
    caller_value: str | None = None,
    contact_list_id: int | None = None,
    schedule_id: int | None = None,
    schedule_match: str = "in",
    action: str = "all",
    target_group_id: int | None = None,
    device_ids: Iterable[int] = (),
    member_ids: Iterable[int] = (),
    enabled: bool = True,
) -> int:
    """A routing rule on a number; position defaults to after the last rule."""
    domain_id = _scalar(db, "SELECT domain_id FROM cfg.number WHERE id = %s", (number_id,))
    if position is None:
        position = int(
            _scalar(
                db,
                "SELECT coalesce(max(position) + 1, 0) FROM cfg.routing_rule WHERE number_id = %s",
                (number_id,),
            )
        )
    rule_id = _insert(
        db,
        "routing_rule",
        {
            "domain_id": domain_id,
            "number_id": number_id,
            "position": position,
            "name": name,
            "caller_match": caller_match,
            "caller_value": caller_value,
            "contact_list_id": contact_list_id,
            "schedule_id": schedule_id,
            "schedule_match": schedule_match,
            "action": action,
            "target_group_id": target_group_id,
            "enabled": enabled,
        },
    )
    for device_id in device_ids:
        db.execute(
            "INSERT INTO cfg.routing_rule_device (domain_id, rule_id, device_id) VALUES (%s, %s, %s)",
            (domain_id, rule_id, device_id),
        )
    for member_id in member_ids:
        db.execute(
            "INSERT INTO cfg.routing_rule_member (domain_id, rule_id, member_id) VALUES (%s, %s, %s)",
            (domain_id, rule_id, member_id),
        )
    return rule_id


def make_call(
    destination: str,
    *,
    domain: str = "example.com",
    caller_number: str = "+4917012345",
    caller_name: str = "Caller",
    from_user: str | None = None,
    uuid: str | None = None,
) -> dict[str, Any]:
    """A call document as the controller builds it (docs/contracts.md section 2)."""
    call: dict[str, Any] = {
        "uuid": uuid
        or str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, destination + caller_number)),
        "domain": domain,
        "destination": destination,
        "caller_number": caller_number,
        "caller_name": caller_name,
        "network_addr": "192.0.2.10",
    }
    if from_user is not None:
        call["from_user"] = from_user
    return call


def _call_function(db: Conn, function: str, call: dict[str, Any], now: datetime) -> Any:
    result = _scalar(db, f"SELECT routing.{function}(%s, %s)", (Jsonb(call), now))
    return json.loads(result) if isinstance(result, str) else result


def reference_plan(db: Conn, call: dict[str, Any], now: datetime = DEFAULT_NOW) -> dict[str, Any]:
    """routing.build_plan's plan: the reference path (explain_call's), never the compiled form."""
    return dict(_scalar(db, "SELECT routing.build_plan(%s, %s, false)->'plan'", (Jsonb(call), now)))


def compiled_plan(
    db: Conn, call: dict[str, Any], now: datetime = DEFAULT_NOW
) -> dict[str, Any] | None:
    """The plan from the compiled form (migration 0006), or None when only build_plan can answer."""
    result = _scalar(db, "SELECT c.plan FROM routing.plan_compiled(%s, %s) c", (Jsonb(call), now))
    return None if result is None else dict(result)


def plan_call(db: Conn, call: dict[str, Any], now: datetime = DEFAULT_NOW) -> dict[str, Any]:
    """routing.plan_call, checked against the reference on every use.

    The domains edited in the test's (uncommitted) transaction are compiled first, as a commit
    would, so plan_call takes its compiled path; that plan must be build_plan's.
    """
    _scalar(db, "SELECT routing.plan_refresh()")
    plan = dict(_call_function(db, "plan_call", call, now))
    assert plan == reference_plan(db, call, now), "compiled plan differs from routing.build_plan"
    return plan


def explain_call(db: Conn, call: dict[str, Any], now: datetime = DEFAULT_NOW) -> dict[str, Any]:
    return dict(_call_function(db, "explain_call", call, now))


def start_call(db: Conn, call: dict[str, Any], now: datetime = DEFAULT_NOW) -> dict[str, Any]:
    """routing.start_call (compiled path, as plan_call), checked against the reference: the same
    plan, and the round-robin pointers build_plan says to store."""
    _scalar(db, "SELECT routing.plan_refresh()")
    expected = _scalar(db, "SELECT routing.build_plan(%s, %s, false)", (Jsonb(call), now))
    plan = dict(_call_function(db, "start_call", call, now))
    assert plan == expected["plan"], "compiled plan differs from routing.build_plan"
    for pointer in expected["round_robin"]:
        stored = _scalar(
            db,
            "SELECT last_member_id FROM routing.group_state WHERE group_id = %s",
            (pointer["group_id"],),
        )
        assert stored == pointer["member_id"], f"round-robin pointer of group {pointer['group_id']}"
    return plan


def leg_targets(plan: dict[str, Any], step: int = 0) -> list[str]:
    """The leg targets of one bridge step, in dial order."""
    return [leg["target"] for leg in plan["steps"][step]["legs"]]
