"""Each role can do its job and nothing more; every function is locked down."""

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.sql.factories import (
    DEFAULT_NOW,
    add_member,
    make_call,
    make_device,
    make_domain,
    make_group,
)

CALL = make_call("2001")


@pytest.fixture
def setup(db):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, "Sales", extension="2001", strategy="round_robin")
    add_member(db, group_id, device_id=make_device(db, domain_id, "1001"))
    return domain_id


def _allowed(db, role, sql, params=()):
    with db.transaction():
        db.execute(f"SET LOCAL ROLE {role}")
        db.execute(sql, params)
        db.execute("RESET ROLE")


def _denied(db, role, sql, params=()):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with db.transaction():
            db.execute(f"SET LOCAL ROLE {role}")
            db.execute(sql, params)


PLAN = ("SELECT routing.plan_call(%s, %s)", (Jsonb(CALL), DEFAULT_NOW))
EXPLAIN = ("SELECT routing.explain_call(%s, %s)", (Jsonb(CALL), DEFAULT_NOW))
START = ("SELECT routing.start_call(%s, %s)", (Jsonb(CALL), DEFAULT_NOW))
REGISTER = (
    "SELECT routing.record_registration('example.com', '1001', 'sip:1001@192.0.2.5', true, %s)",
    (DEFAULT_NOW,),
)
BUSY = ("SELECT routing.record_device_busy('example.com', '1001', true, %s)", (DEFAULT_NOW,))
BUILD = ("SELECT routing.build_plan(%s, %s, true)", (Jsonb(CALL), DEFAULT_NOW))
READ_DEVICES = ("SELECT * FROM cfg.device", ())
READ_STATE = ("SELECT * FROM routing.group_state", ())
INSERT_DOMAIN = ("INSERT INTO cfg.domain (name) VALUES ('new.example')", ())
UPDATE_DEVICE = ("UPDATE cfg.device SET dnd = true", ())
DELETE_STATE = ("DELETE FROM routing.group_state", ())
ERROR_CODES = ("SELECT * FROM routing.error_code", ())

ROLE_MATRIX = [
    pytest.param(
        "huntsman_controller",
        [PLAN, EXPLAIN, START, REGISTER, BUSY, ERROR_CODES],
        [READ_DEVICES, READ_STATE, INSERT_DOMAIN, UPDATE_DEVICE, DELETE_STATE, BUILD],
        id="controller",
    ),
    pytest.param(
        "huntsman_console",
        [PLAN, EXPLAIN, READ_DEVICES, INSERT_DOMAIN, UPDATE_DEVICE, ERROR_CODES],
        [START, REGISTER, BUSY, DELETE_STATE, BUILD],
        id="console",
    ),
    pytest.param(
        "huntsman_report",
        [READ_DEVICES, READ_STATE, ERROR_CODES],
        [PLAN, EXPLAIN, START, REGISTER, INSERT_DOMAIN, UPDATE_DEVICE, DELETE_STATE, BUILD],
        id="report",
    ),
]


@pytest.mark.parametrize(("role", "allowed", "denied"), ROLE_MATRIX)
def test_role_can_do_its_job_and_nothing_more(db, setup, role, allowed, denied):
    for sql, params in allowed:
        _allowed(db, role, sql, params)
    for sql, params in denied:
        _denied(db, role, sql, params)


def test_controller_cannot_read_devices(db, setup):
    db.execute("SET ROLE huntsman_controller")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("SELECT * FROM cfg.device")


def test_console_edits_pass_through_the_validation_triggers(db, setup):
    db.execute("SET ROLE huntsman_console")
    with pytest.raises(psycopg.errors.CheckViolation) as raised:
        db.execute(
            "INSERT INTO cfg.hunt_group (domain_id, name, ring_timeout) VALUES (%s, 'Bad', -1)",
            (setup,),
        )
    assert raised.value.diag.constraint_name == "hunt_group_ring_timeout_range"


def test_every_function_is_revoked_from_public_and_pins_its_search_path(db):
    rows = db.execute(
        """
        SELECT p.oid::regprocedure::text AS name, p.prosecdef, p.proconfig,
               p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0) AS public
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname IN ('cfg', 'routing')
        """
    ).fetchall()
    assert len(rows) >= 15
    assert [r["name"] for r in rows if r["public"]] == []
    definers = [r for r in rows if r["prosecdef"]]
    assert {r["name"].split("(")[0] for r in definers} >= {
        "routing.plan_call",
        "routing.explain_call",
        "routing.start_call",
        "routing.record_registration",
        "routing.record_device_busy",
    }
    unpinned = [
        r["name"]
        for r in definers
        if not any(c.startswith("search_path=") for c in r["proconfig"] or [])
    ]
    assert unpinned == []


def test_roles_cannot_log_in(db):
    rows = db.execute(
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'huntsman\\_%%' ORDER BY rolname"
    ).fetchall()
    assert {
        r["rolname"]: r["rolcanlogin"]
        for r in rows
        if r["rolname"] in ("huntsman_console", "huntsman_controller", "huntsman_report")
    } == {"huntsman_console": False, "huntsman_controller": False, "huntsman_report": False}
