"""Migration 0007: huntsman_owner (NOLOGIN, not a superuser) owns every Huntsman object.

SECURITY DEFINER functions and views run with their owner's rights; these tests check that the
owner is that restricted role on a fresh install, after routines are re-applied, and when a
non-superuser role (a managed server's database owner) migrates.
"""

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.json import Jsonb

from huntsman import migrations
from tests.conftest import _with_dbname

OWNED = """
SELECT n.nspname || '.' || o.name || ' (' || o.kind || ')' AS object, o.owner::regrole::text AS owner
  FROM (SELECT c.relnamespace AS nsp, c.relname::text AS name, 'relation' AS kind, c.relowner AS owner
          FROM pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i')
        UNION ALL
        SELECT p.pronamespace, p.oid::regprocedure::text, 'function', p.proowner FROM pg_proc p
        UNION ALL
        SELECT t.typnamespace, t.typname::text, 'type', t.typowner FROM pg_type t) o
  JOIN pg_namespace n ON n.oid = o.nsp
 WHERE n.nspname = ANY (%s)
"""


def _owners(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(OWNED, (list(migrations.PROJECT_SCHEMAS),)).fetchall()
    return {obj: owner for obj, owner in rows}


def test_every_object_of_a_fresh_install_is_owned_by_the_owner_role(migrated_db_url: str) -> None:
    with psycopg.connect(migrated_db_url) as conn:
        owners = _owners(conn)
        assert len(owners) > 300
        assert {o: w for o, w in owners.items() if w != "huntsman_owner"} == {}
        # the list of schemas to hand over is complete
        schemas = {
            r[0]
            for r in conn.execute(
                """SELECT nspname FROM pg_namespace
                    WHERE nspname !~ '^pg_' AND nspname NOT IN ('information_schema', 'public',
                                                                'huntsman_meta')"""
            )
        }
        assert schemas == set(migrations.PROJECT_SCHEMAS)


def test_the_owner_role_is_not_privileged(migrated_db_url: str) -> None:
    with psycopg.connect(migrated_db_url) as conn:
        row = conn.execute(
            """SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication
                 FROM pg_roles WHERE rolname = 'huntsman_owner'"""
        ).fetchone()
        assert row == (False, False, False, False, False, False)
        # what a flaw in a SECURITY DEFINER function could reach: not the server's secrets
        for forbidden in (
            "SELECT rolpassword FROM pg_authid",
            "SELECT pg_read_file('postgresql.conf')",
            "COPY (SELECT 1) TO PROGRAM 'true'",
            "CREATE ROLE huntsman_owner_escape",
            "CREATE TABLE routing.planted (id int)",  # it creates nothing, even in its schemas
            "CREATE FUNCTION cfg.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with conn.transaction():
                    conn.execute("SET LOCAL ROLE huntsman_owner")
                    conn.execute(forbidden)


def test_a_routine_created_by_the_migrating_role_is_handed_over(migrated_db_url: str) -> None:
    with psycopg.connect(migrated_db_url) as conn:
        conn.execute("CREATE FUNCTION routing.adopt_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        assert _owners(conn)["routing.routing.adopt_probe() (function)"] == conn.info.user
        migrations.adopt(conn)
        assert _owners(conn)["routing.routing.adopt_probe() (function)"] == "huntsman_owner"
        conn.rollback()


def test_a_migrating_role_that_cannot_act_as_the_owner_gets_a_clear_error(
    migrated_db_url: str,
) -> None:
    role = f"huntsman_test_nomember_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(migrated_db_url) as conn:
        conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
        conn.execute(f'SET ROLE "{role}"')
        with pytest.raises(psycopg.errors.RaiseException) as raised:
            migrations.adopt(conn)
        assert f"the migrating role {role} cannot act as huntsman_owner" in str(raised.value)
        assert raised.value.diag.message_hint is not None
        assert "GRANT huntsman_owner TO" in raised.value.diag.message_hint
        conn.rollback()


@pytest.fixture
def non_superuser_database(pg_admin_url: str) -> Iterator[tuple[str, str]]:
    """Yields the migrating role's URL and a superuser URL of the same database."""
    # A database owned by a LOGIN CREATEROLE role that is not a superuser (a managed server's
    # database owner), which a superuser has made a member of huntsman_owner as deploy.md says.
    role = f"huntsman_test_migrator_{uuid.uuid4().hex[:8]}"
    dbname = f"{role}_db"
    password = uuid.uuid4().hex
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE \"{role}\" LOGIN CREATEROLE PASSWORD '{password}'")
        admin.execute(f'CREATE DATABASE "{dbname}" OWNER "{role}"')
        # the cluster-wide group roles exist already (created by the superuser), so the
        # migrator creates none and can be dropped afterwards
        for group in (
            "huntsman_controller",
            "huntsman_console",
            "huntsman_report",
            "huntsman_owner",
        ):
            admin.execute(
                f"DO $$ BEGIN CREATE ROLE {group} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        admin.execute(f'GRANT huntsman_owner TO "{role}"')
    url = psycopg.conninfo.make_conninfo(
        _with_dbname(pg_admin_url, dbname), user=role, password=password
    )
    try:
        yield url, _with_dbname(pg_admin_url, dbname)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_a_non_superuser_database_owner_can_migrate(
    non_superuser_database: tuple[str, str],
) -> None:
    url, admin_url = non_superuser_database
    assert migrations.migrate(url) == [m.name for m in migrations.load_migrations()]
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        assert {o: w for o, w in _owners(conn).items() if w != "huntsman_owner"} == {}
        conn.execute("INSERT INTO cfg.domain (name) VALUES ('owner.example')")
        conn.commit()
    # the crossing functions still do their job for the controller, now as the owner role
    with psycopg.connect(admin_url) as conn:
        conn.execute("SET ROLE huntsman_controller")
        plan = conn.execute(
            "SELECT routing.plan_call(%s, now())",
            (Jsonb({"uuid": str(uuid.uuid4()), "domain": "owner.example", "destination": "999"}),),
        ).fetchone()
        assert plan is not None and plan[0]["steps"] == [
            {"type": "hangup", "cause": "UNALLOCATED_NUMBER"}
        ]
        conn.rollback()
    assert migrations.migrate(url) == []  # and again, as the same role
