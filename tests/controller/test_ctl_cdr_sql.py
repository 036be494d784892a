"""cdr.record_call and the error-code mirror, against the real migrated schema."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from controller.errors import SQL_ERRORS, RoutingError, routing_error


def doc(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "domain": "cdr-test.example",
        "caller_number": "+4917012345",
        "caller_name": "Doe, John",
        "destination": "+4930123456",
        "route": {"kind": "number", "number_id": 1, "group_id": 12, "rule_id": None},
        "answered_by": {"target": "user/1001@cdr-test.example", "device_id": 7},
        "start_at": "2026-06-10T10:00:00+00:00",
        "answer_at": "2026-06-10T10:00:05+00:00",
        "end_at": "2026-06-10T10:01:00+00:00",
        "billsec": 55,
        "duration": 60,
        "hangup_cause": "NORMAL_CLEARING",
        "disposition": "answered",
        "plan": {"plan_version": 1, "steps": []},
        "legs": [
            {
                "seq": 1,
                "step": 0,
                "target": "user/1002@cdr-test.example",
                "device_id": 8,
                "outcome": "lose_race",
                "cause": "LOSE_RACE",
                "started_at": "2026-06-10T10:00:00+00:00",
                "answered_at": None,
                "ended_at": "2026-06-10T10:00:05+00:00",
            },
            {
                "seq": 2,
                "step": 0,
                "target": "user/1001@cdr-test.example",
                "device_id": 7,
                "outcome": "answered",
                "cause": "NONE",
                "started_at": "2026-06-10T10:00:00+00:00",
                "answered_at": "2026-06-10T10:00:05+00:00",
                "ended_at": "2026-06-10T10:01:00+00:00",
            },
        ],
    }
    d.update(over)
    return d


def record(db: psycopg.Connection[Any], d: Any) -> int:
    row = db.execute("SELECT cdr.record_call(%s) AS id", (Jsonb(d),)).fetchone()
    assert row is not None
    return int(row["id"])  # type: ignore[call-overload]


def test_record_call_stores_call_and_legs(db: psycopg.Connection[Any]) -> None:
    domain_id = db.execute(
        "INSERT INTO cfg.domain (name) VALUES ('cdr-test.example') RETURNING id"
    ).fetchone()["id"]  # type: ignore[index]
    d = doc()
    call_id = record(db, d)
    row = db.execute("SELECT * FROM cdr.call WHERE id = %s", (call_id,)).fetchone()
    assert row is not None
    assert str(row["call_uuid"]) == d["uuid"]
    assert row["domain_id"] == domain_id
    assert (row["billsec"], row["duration"], row["disposition"]) == (55, 60, "answered")
    assert row["caller_name"] == "Doe, John"
    assert row["answered_by_device_id"] == 7 and row["route_group_id"] == 12
    legs = db.execute(
        "SELECT seq, target, outcome::text, cause FROM cdr.call_leg"
        " WHERE call_id = %s ORDER BY seq",
        (call_id,),
    ).fetchall()
    assert [(r["seq"], r["outcome"]) for r in legs] == [(1, "lose_race"), (2, "answered")]


def test_record_call_is_idempotent(db: psycopg.Connection[Any]) -> None:
    d = doc()
    first = record(db, d)
    assert record(db, d) == first
    assert record(db, {**d, "disposition": "failed"}) == first
    count = db.execute(
        "SELECT count(*) AS n FROM cdr.call WHERE call_uuid = %s", (d["uuid"],)
    ).fetchone()
    assert count is not None and count["n"] == 1


def test_clock_skew_is_repaired_not_refused(db: psycopg.Connection[Any]) -> None:
    call_id = record(
        db,
        doc(
            end_at="2026-06-10T09:00:00+00:00",
            answer_at="2026-06-10T08:00:00+00:00",
            billsec=999,
            duration=-5,
        ),
    )
    row = db.execute(
        "SELECT start_at, answer_at, end_at, billsec, duration FROM cdr.call WHERE id = %s",
        (call_id,),
    ).fetchone()
    assert row is not None
    assert row["end_at"] == row["start_at"] == row["answer_at"]
    assert (row["billsec"], row["duration"]) == (0, 0)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param([], "object", id="not-object"),
        pytest.param(doc(uuid="x"), "uuid", id="uuid"),
        pytest.param(doc(uuid=None), "uuid", id="uuid-missing"),
        pytest.param(doc(disposition="transferred"), "disposition", id="disposition"),
        pytest.param(doc(start_at="yesterday-ish"), "start_at", id="start"),
        pytest.param(doc(end_at=None), "end_at", id="end-missing"),
        pytest.param(doc(billsec="lots"), "billsec", id="billsec"),
        pytest.param(doc(legs={"a": 1}), "legs", id="legs-object"),
        pytest.param(doc(legs=[{"target": "x", "outcome": "exploded"}]), "exploded", id="outcome"),
        pytest.param(doc(hangup_cause="not a cause"), "cannot be stored", id="cause"),
    ],
)
def test_invalid_documents_raise_hmc01_naming_the_field(
    db: psycopg.Connection[Any], bad: Any, field: str
) -> None:
    with pytest.raises(psycopg.Error) as info:
        with db.transaction():
            record(db, bad)
    assert info.value.sqlstate == "HMC01"
    assert field in (info.value.diag.message_primary or "")
    err = routing_error("HMC01", info.value.diag.message_primary or "")
    assert isinstance(err, RoutingError)


def test_sql_injection_and_unicode_are_stored_verbatim(db: psycopg.Connection[Any]) -> None:
    name = "'; DROP TABLE cdr.call;-- $$ $tag$ % _ \u202e😀"
    call_id = record(db, doc(caller_name=name))
    row = db.execute("SELECT caller_name FROM cdr.call WHERE id = %s", (call_id,)).fetchone()
    assert row is not None and row["caller_name"] == name


def test_privileges(db: psycopg.Connection[Any]) -> None:
    def can(role: str, priv: str) -> bool:
        row = db.execute(
            "SELECT has_function_privilege(%s, 'cdr.record_call(jsonb)', %s) AS ok", (role, priv)
        ).fetchone()
        return bool(row and row["ok"])

    assert can("huntsman_controller", "EXECUTE")
    assert not can("huntsman_report", "EXECUTE")
    assert not can("public", "EXECUTE")
    row = db.execute(
        "SELECT has_table_privilege('huntsman_report', 'cdr.report_call', 'SELECT') AS r,"
        " has_table_privilege('huntsman_console', 'cdr.call_leg', 'SELECT') AS c,"
        " has_table_privilege('huntsman_controller', 'cdr.call', 'INSERT') AS w"
    ).fetchone()
    assert row == {"r": True, "c": True, "w": False}
    # The raw tables hold private-mode calls too: the reporting role reads the views only.
    row = db.execute(
        "SELECT has_table_privilege('huntsman_report', 'cdr.call', 'SELECT') AS call,"
        " has_table_privilege('huntsman_report', 'cdr.call_leg', 'SELECT') AS leg"
    ).fetchone()
    assert row == {"call": False, "leg": False}
    row = db.execute(
        "SELECT prosecdef, proconfig FROM pg_proc"
        " WHERE oid = 'cdr.record_call(jsonb)'::regprocedure"
    ).fetchone()
    assert row is not None and row["prosecdef"]
    assert "search_path=cdr, pg_temp" in row["proconfig"]


def test_controller_role_can_record_through_the_function(db: psycopg.Connection[Any]) -> None:
    db.execute("SET LOCAL ROLE huntsman_controller")
    assert record(db, doc()) > 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("SELECT 1 FROM cdr.call")


def test_error_codes_mirror_the_database(db: psycopg.Connection[Any]) -> None:
    rows = db.execute("SELECT sqlstate, name, hangup_cause FROM routing.error_code").fetchall()
    in_db = {r["sqlstate"]: (r["name"], r["hangup_cause"]) for r in rows}
    assert in_db == SQL_ERRORS
    for sqlstate, (_name, cause) in SQL_ERRORS.items():
        err = routing_error(sqlstate, "x")
        assert err.hangup_cause == cause


def test_billing_hook_charges_once_and_never_loses_the_cdr(db: psycopg.Connection[Any]) -> None:
    db.execute("CREATE TABLE public.charged (call_id bigint)")
    db.execute("GRANT INSERT ON public.charged TO PUBLIC")
    db.execute(
        "CREATE OR REPLACE FUNCTION billing.charge_call(p_call_id bigint) RETURNS integer"
        " LANGUAGE sql AS 'INSERT INTO public.charged VALUES (p_call_id) RETURNING 1'"
    )
    d = doc()
    call_id = record(db, d)
    record(db, d)  # a replay does not charge again
    charged = db.execute("SELECT array_agg(call_id) AS ids FROM public.charged").fetchone()
    assert charged is not None and charged["ids"] == [call_id]

    db.execute(
        "CREATE OR REPLACE FUNCTION billing.charge_call(p_call_id bigint) RETURNS integer"
        " LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'rating bug'; END$$"
    )
    other = doc()
    assert record(db, other) > call_id  # stored anyway, with a WARNING
    row = db.execute("SELECT count(*) AS n FROM cdr.call WHERE call_uuid = %s", (other["uuid"],))
    assert row.fetchone() == {"n": 1}


def test_record_calls_stores_a_batch_in_one_transaction(
    make_database: Callable[..., str],
) -> None:
    """The replayer's batch path: all documents stored, or none when one is refused."""
    import json

    from controller.db import Database
    from controller.errors import DataRejected

    url = make_database()
    database = Database(url, pool_size=1)
    database.open()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO cfg.domain (name) VALUES ('cdr-test.example')")
        good = [doc() for _ in range(3)]
        database.record_calls([json.dumps(d) for d in good])
        database.record_calls([json.dumps(good[0])])  # idempotent, like record_call
        bad = [doc(), doc(billsec="many"), doc()]
        with pytest.raises((RoutingError, DataRejected)):
            database.record_calls([json.dumps(d) for d in bad])
        with psycopg.connect(url) as conn:
            stored = {str(r[0]) for r in conn.execute("SELECT call_uuid FROM cdr.call")}
        assert stored == {d["uuid"] for d in good}  # none of the refused batch
    finally:
        database.close()


@pytest.mark.parametrize(
    ("history", "checked"),
    [
        pytest.param(None, True, id="never-used-is-checked"),
        pytest.param(0.0, False, id="just-used-is-trusted"),
        pytest.param(60.0, True, id="idle-is-checked"),
    ],
)
def test_pool_check_skips_the_round_trip_for_a_busy_connection(
    monkeypatch: pytest.MonkeyPatch, history: float | None, checked: bool
) -> None:
    import time

    from psycopg_pool import ConnectionPool

    from controller.db import Database

    class FakeConn:
        broken = closed = False

    calls: list[object] = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(calls.append))
    database = Database("postgresql://127.0.0.1:1/none")
    conn = FakeConn()
    if history is not None:
        database._last_ok[conn] = time.monotonic() - history  # type: ignore[index]
    database._check(conn)  # type: ignore[arg-type]
    assert (calls == [conn]) is checked
