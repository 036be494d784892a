"""Apply `db/sql/migrations` (once each, in order) and re-apply `db/sql/routines` (every time).

The contract:
- a migration is applied once, in its own transaction, and recorded with the SHA-256 of its text
  in `huntsman_meta.migration`;
- an applied migration whose file has changed is refused (`MigrationError`) before anything runs;
- routines (`CREATE OR REPLACE` files) are re-applied after the migrations, in one transaction;
- a transaction-level advisory lock keeps two processes from migrating at once: the second one
  waits, then finds nothing left to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import psycopg.sql

SQL_DIR = Path(__file__).resolve().parent.parent / "db" / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
ROUTINES_DIR = SQL_DIR / "routines"

# Any constant works; it only has to be the same for every Huntsman process.
ADVISORY_LOCK_KEY = 0x48554E54  # "HUNT"

# The schemas Huntsman's migrations create; everything in them is handed to OWNER_ROLE.
PROJECT_SCHEMAS = ("cfg", "routing", "cdr", "queue", "billing", "console")
OWNER_ROLE = "huntsman_owner"

# Hand every table, view, sequence, type and function of PROJECT_SCHEMAS to the owner role
# (migration 0007), so that SECURITY DEFINER functions and views run with its rights rather than
# the migrating role's. Idempotent; only touches what the owner role does not own yet (new
# routines, objects of new migrations). Sequences owned by a table column follow their table.
# Does nothing before 0007 has created the role.
_ADOPT = """
DO $adopt$
DECLARE
    v_owner   regrole;
    v_schemas text[] := {schemas};
    r         record;
BEGIN
    IF to_regrole({owner}) IS NULL THEN
        RETURN;
    END IF;
    v_owner := to_regrole({owner});
    IF NOT pg_has_role(current_user, v_owner, 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT %I TO %I', v_owner, current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'the migrating role % cannot act as %', current_user, v_owner
                USING HINT = format('As a superuser: GRANT %I TO %I; or migrate as a role '
                                    'that has CREATEROLE.', v_owner, current_user);
        END;
    END IF;
    -- ALTER ... OWNER TO needs the new owner to have CREATE on the schema (unless a superuser
    -- runs it); it is revoked again below
    FOR r IN SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY (v_schemas) LOOP
        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', r.nspname, v_owner);
    END LOOP;
    -- relations (a sequence owned by a column follows its table), standalone types (not the row
    -- and array types that follow their relation or element), routines
    FOR r IN SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                   WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                   ELSE 'TABLE' END AS kind,
                    c.oid::regclass::text AS obj
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY (v_schemas) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                AND c.relowner <> v_owner
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
             UNION ALL
             SELECT 'TYPE', t.oid::regtype::text
               FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = ANY (v_schemas) AND t.typtype IN ('e', 'd', 'c', 'r', 'm')
                AND t.typowner <> v_owner
                AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                                   AND d.deptype = 'i')
             UNION ALL
             SELECT 'ROUTINE', p.oid::regprocedure::text
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = ANY (v_schemas) AND p.proowner <> v_owner
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.obj, v_owner);
    END LOOP;
    -- CREATE was only needed for the hand-over: the owner role creates nothing itself
    FOR r IN SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY (v_schemas) LOOP
        EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', r.nspname, v_owner);
    END LOOP;
END
$adopt$
"""

_META_DDL = """
CREATE SCHEMA IF NOT EXISTS huntsman_meta;
CREATE TABLE IF NOT EXISTS huntsman_meta.migration (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


class MigrationError(Exception):
    """A migration cannot be applied: edited after it was applied, badly named, or failed."""


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    applied: bool
    changed: bool


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        prefix = path.name.split("_", 1)[0]
        if len(prefix) != 4 or not prefix.isdigit():
            raise MigrationError(f"migration file {path.name!r} must be named NNNN_name.sql")
        migrations.append(Migration(path.stem, path, path.read_text(encoding="utf-8")))
    seen: dict[str, str] = {}
    for m in migrations:
        number = m.name[:4]
        if number in seen:
            raise MigrationError(
                f"migrations {seen[number]!r} and {m.name!r} share number {number}"
            )
        seen[number] = m.name
    return migrations


def load_routines(directory: Path = ROUTINES_DIR) -> list[Path]:
    return sorted(directory.glob("*/*.sql"))


def _applied(conn: psycopg.Connection) -> dict[str, str]:
    exists = conn.execute("SELECT to_regclass('huntsman_meta.migration') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT name, checksum FROM huntsman_meta.migration").fetchall()
    return {name: checksum for name, checksum in rows}


def status(conninfo: str) -> list[MigrationStatus]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        applied = _applied(conn)
    return [
        MigrationStatus(m.name, m.name in applied, applied.get(m.name, m.checksum) != m.checksum)
        for m in load_migrations()
    ]


@dataclass(frozen=True)
class CompiledStatus:
    """The compiled plans (migration 0006): domains by state, and the ones that failed."""

    states: dict[str, int]
    failed: list[tuple[str, str]]  # (domain name, error)
    outdated: int  # compiled by other routines than the current ones


def compiled_status(conninfo: str) -> CompiledStatus | None:
    """None when the schema has no compiled plans yet (before migration 0006)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('routing.plan_domain') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return None
        states = dict(
            conn.execute(
                "SELECT state, count(*) FROM routing.plan_domain GROUP BY state"
            ).fetchall()
        )
        missing = conn.execute(
            "SELECT count(*) FROM cfg.domain d WHERE NOT EXISTS "
            "(SELECT 1 FROM routing.plan_domain p WHERE p.domain_id = d.id)"
        ).fetchone()
        if missing and missing[0]:
            states["never compiled"] = missing[0]
        failed = conn.execute(
            "SELECT d.name, coalesce(p.error, '') FROM routing.plan_domain p "
            "JOIN cfg.domain d ON d.id = p.domain_id WHERE p.state = 'failed' ORDER BY d.name"
        ).fetchall()
        outdated = conn.execute(
            "SELECT count(*) FROM routing.plan_domain p WHERE p.compiler IS DISTINCT FROM %s",
            (routines_checksum(),),
        ).fetchone()
    return CompiledStatus(states, [(n, e) for n, e in failed], outdated[0] if outdated else 0)


def _check_unchanged(migrations: list[Migration], applied: dict[str, str]) -> None:
    for m in migrations:
        if m.name in applied and applied[m.name] != m.checksum:
            raise MigrationError(
                f"migration {m.name!r} was edited after it was applied "
                f"(recorded checksum {applied[m.name][:12]}…, file now {m.checksum[:12]}…); "
                "migrations are append-only: restore the file and add a new migration"
            )


def migrate(conninfo: str, *, target: str | None = None, routines: bool = True) -> list[str]:
    """Apply pending migrations (up to and including `target`, when given) and the routines.

    Returns the names of the migrations applied by this call.
    """
    migrations = load_migrations()
    if target is not None:
        names = [m.name for m in migrations]
        if target not in names:
            raise MigrationError(f"unknown migration target {target!r}")
        migrations = migrations[: names.index(target) + 1]
    applied_now: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        # Hold a session-level lock for the whole run so that two migrators never interleave.
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            with conn.transaction():
                conn.execute(_META_DDL)
            applied = _applied(conn)
            _check_unchanged(migrations, applied)
            for m in migrations:
                if m.name in applied:
                    continue
                try:
                    with conn.transaction():
                        conn.execute(m.sql.encode())
                        conn.execute(
                            "INSERT INTO huntsman_meta.migration (name, checksum) VALUES (%s, %s)",
                            (m.name, m.checksum),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {m.name!r} failed: {exc}") from exc
                applied_now.append(m.name)
            if routines:
                apply_routines(conn)
            else:
                with conn.transaction():
                    adopt(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


def adopt(conn: psycopg.Connection) -> None:
    """Hand every object of PROJECT_SCHEMAS to OWNER_ROLE (see _ADOPT); no-op before 0007."""
    conn.execute(
        psycopg.sql.SQL(_ADOPT).format(
            schemas=psycopg.sql.Literal(list(PROJECT_SCHEMAS)),
            owner=psycopg.sql.Literal(OWNER_ROLE),
        )
    )


def _routines_digest(routines: Iterable[tuple[Path, bytes]]) -> str:
    digest = hashlib.sha256()
    for path, text in routines:
        digest.update(str(path.relative_to(SQL_DIR)).encode() + b"\0" + text + b"\0")
    return digest.hexdigest()


def routines_checksum() -> str:
    """SHA-256 over the routine files (names and texts): the version of the plan compiler."""
    return _routines_digest((path, path.read_bytes()) for path in load_routines())


def apply_routines(conn: psycopg.Connection) -> None:
    """Re-apply every routine file in one transaction (they are all `CREATE OR REPLACE`).

    Then, when the schema has the compiled plans (migration 0006), recompile every domain whose
    plans are missing, stale, failed or made by other routines (`routing.plan_refresh`).
    """
    routines = [(path, path.read_bytes()) for path in load_routines()]
    with conn.transaction():
        for path, text in routines:
            try:
                conn.execute(text)
            except psycopg.Error as exc:
                rel = path.relative_to(SQL_DIR)
                raise MigrationError(f"routine {rel} failed: {exc}") from exc
        adopt(conn)
        row = conn.execute(
            "SELECT to_regprocedure('routing.plan_refresh(text)') IS NOT NULL"
        ).fetchone()
        if row and row[0]:
            conn.execute("SELECT routing.plan_refresh(%s)", (_routines_digest(routines),))
