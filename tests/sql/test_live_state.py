"""Registration and busy state fed by the controller, and their effect on plans."""

import json
from datetime import datetime, timedelta

import psycopg
import pytest

from tests.sql.factories import (
    add_member,
    make_call,
    make_device,
    make_domain,
    make_group,
    plan_call,
)

T0 = datetime.fromisoformat("2026-06-10T09:00:00+00:00")


def _register(db, user, registered, at, domain="example.com", contact="sip:u@192.0.2.5:5060"):
    return db.execute(
        "SELECT routing.record_registration(%s, %s, %s, %s, %s) AS n",
        (domain, user, contact, registered, at),
    ).fetchone()["n"]


def _busy(db, user, busy, at, domain="example.com"):
    return db.execute(
        "SELECT routing.record_device_busy(%s, %s, %s, %s) AS n", (domain, user, busy, at)
    ).fetchone()["n"]


def _device(db, device_id):
    return db.execute("SELECT * FROM cfg.device WHERE id = %s", (device_id,)).fetchone()


@pytest.fixture
def group(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001", strategy="longest_idle")
    a = make_device(db, domain_id, "1001", registered=False)
    b = make_device(db, domain_id, "1002", registered=False)
    for d in (a, b):
        add_member(db, group_id, device_id=d)
    return {"a": a, "b": b}


def _rung(db):
    plan = plan_call(db, make_call("2001"))
    return (
        [leg["device_id"] for leg in plan["steps"][0]["legs"]]
        if plan["steps"][0]["type"] == "bridge"
        else []
    )


def test_registration_makes_a_device_ringable(db, group):
    assert _rung(db) == []
    assert _register(db, "1001", True, T0) == 1
    row = _device(db, group["a"])
    assert (row["registered"], row["registered_contact"], row["last_seen"]) == (
        True,
        "sip:u@192.0.2.5:5060",
        T0,
    )
    assert _rung(db) == [group["a"]]
    assert _register(db, "1001", False, T0 + timedelta(seconds=1)) == 1
    assert _device(db, group["a"])["registered_contact"] is None
    assert _rung(db) == []


def test_late_registration_report_is_ignored(db, group):
    _register(db, "1001", True, T0)
    assert _register(db, "1001", False, T0 - timedelta(seconds=5)) == 0
    assert _device(db, group["a"])["registered"] is True


@pytest.mark.parametrize(
    ("domain", "user"),
    [
        pytest.param("example.com", "9999", id="unknown-user"),
        pytest.param("other.example", "1001", id="unknown-domain"),
        pytest.param("example.com", "1001@example.com", id="user-with-domain"),
    ],
)
def test_unknown_device_is_ignored(db, group, domain, user):
    assert _register(db, user, True, T0, domain=domain) == 0
    assert _busy(db, user, True, T0, domain=domain) == 0


def test_domain_is_matched_case_insensitively(db, group):
    assert _register(db, "1001", True, T0, domain="EXAMPLE.com") == 1


def test_busy_then_idle_updates_last_call_ended_and_longest_idle_order(db, group):
    _register(db, "1001", True, T0)
    _register(db, "1002", True, T0)
    assert _busy(db, "1001", True, T0 + timedelta(minutes=1)) == 1
    assert _rung(db) == [group["b"]]
    assert _busy(db, "1002", True, T0 + timedelta(minutes=2)) == 1
    assert _busy(db, "1002", False, T0 + timedelta(minutes=3)) == 1  # b hung up first
    assert _busy(db, "1001", False, T0 + timedelta(minutes=4)) == 1
    assert _device(db, group["a"])["last_call_ended"] == T0 + timedelta(minutes=4)
    assert _rung(db) == [group["b"], group["a"]]
    # a stale "busy" report from before the hang-up changes nothing
    assert _busy(db, "1001", True, T0 + timedelta(minutes=3, seconds=30)) == 0
    assert _device(db, group["a"])["busy"] is False


def _resync(db, busy=(), registered=(), at=T0, node="fs1"):
    return db.execute(
        "SELECT routing.resync_device_state(%s, %s::jsonb, %s::jsonb, %s) AS r",
        (
            node,
            json.dumps([{"domain": d, "user": u} for d, u in busy]),
            json.dumps([{"domain": d, "user": u, "contact": c} for d, u, c in registered]),
            at,
        ),
    ).fetchone()["r"]


def test_resync_sets_what_the_switch_reports_and_clears_the_rest(db, group):
    _busy(db, "1001", True, T0)  # its hang-up was lost
    _register(db, "1001", True, T0)  # its unregistration was lost
    at = T0 + timedelta(minutes=5)
    result = _resync(
        db,
        busy=[("Example.COM", "1002"), ("example.com", "9999")],
        registered=[("example.com", "1002", "sofia/internal/sip:1002@192.0.2.7:5060")],
        at=at,
    )
    assert result == {"node": "fs1", "busy": 1, "idle": 1, "registered": 1, "unregistered": 1}
    a, b = _device(db, group["a"]), _device(db, group["b"])
    assert (a["busy"], a["busy_changed_at"], a["last_call_ended"]) == (False, at, at)
    assert (a["registered"], a["registered_contact"], a["last_seen"]) == (False, None, at)
    assert (b["busy"], b["busy_changed_at"], b["last_call_ended"]) == (True, at, None)
    assert (b["registered"], b["registered_contact"], b["last_seen"]) == (
        True,
        "sofia/internal/sip:1002@192.0.2.7:5060",
        at,
    )


def test_resync_is_idempotent_and_keeps_the_timestamps_of_unchanged_devices(db, group):
    _register(db, "1001", True, T0, contact="sofia/internal/sip:1001@192.0.2.5:5060")
    _busy(db, "1001", True, T0)
    state = (
        [("example.com", "1001")],
        [("example.com", "1001", "sofia/internal/sip:1001@192.0.2.5:5060")],
    )
    first = _resync(db, *state, at=T0 + timedelta(minutes=1))
    assert first == {"node": "fs1", "busy": 0, "idle": 0, "registered": 0, "unregistered": 0}
    assert _resync(db, *state, at=T0 + timedelta(minutes=2)) == first
    row = _device(db, group["a"])
    assert (row["busy_changed_at"], row["last_seen"]) == (T0, T0)


def test_resync_older_than_a_stored_report_leaves_that_device_alone(db, group):
    _busy(db, "1001", True, T0 + timedelta(minutes=10))
    _register(db, "1002", True, T0 + timedelta(minutes=10))
    result = _resync(db, at=T0 + timedelta(minutes=5))  # an empty, older snapshot
    assert result["idle"] == 0 and result["unregistered"] == 0
    assert _device(db, group["a"])["busy"] is True
    assert _device(db, group["b"])["registered"] is True
    # and a later event still wins over the resync
    _resync(db, at=T0 + timedelta(minutes=20))
    assert _device(db, group["a"])["busy"] is False
    assert _busy(db, "1001", True, T0 + timedelta(minutes=21)) == 1


def test_resync_never_touches_other_kinds_of_endpoint(db):
    domain_id = make_domain(db)
    trunk = make_device(db, domain_id, "1005", endpoint="sofia/gateway/carrier/+4930555")
    db.execute("UPDATE cfg.device SET busy = true, registered = true WHERE id = %s", (trunk,))
    result = _resync(db, at=T0)
    assert result["idle"] == 0 and result["unregistered"] == 0
    row = _device(db, trunk)
    assert (row["busy"], row["registered"]) == (True, True)


@pytest.mark.parametrize(
    ("busy", "registered", "at", "message"),
    [
        pytest.param("{}", "[]", T0, "p_busy must be a JSON array, got object", id="busy-object"),
        pytest.param("[]", None, T0, "p_registered must be a JSON array, got NULL", id="null-list"),
        pytest.param(
            '[{"domain": "example.com"}]',
            "[]",
            T0,
            'p_busy[0] = {"domain": "example.com"}',
            id="no-user",
        ),
        pytest.param(
            "[]",
            '[{"domain": "example.com", "user": "1001"}, 7]',
            T0,
            "p_registered[1] = 7",
            id="not-an-object",
        ),
        pytest.param('[{"domain": "", "user": "1001"}]', "[]", T0, "p_busy[0]", id="empty-domain"),
        pytest.param("[]", "[]", None, "p_at must not be NULL", id="no-instant"),
    ],
)
def test_resync_refuses_bad_input_naming_it(db, group, busy, registered, at, message):
    with pytest.raises(psycopg.Error) as raised:
        db.execute(
            "SELECT routing.resync_device_state('fs1', %s::jsonb, %s::jsonb, %s)",
            (busy, registered, at),
        )
    assert message in raised.value.diag.message_primary
    assert raised.value.sqlstate in ("22023", "22004")
