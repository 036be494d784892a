"""Registration and busy state fed by the controller, and their effect on plans."""

from datetime import datetime, timedelta

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
