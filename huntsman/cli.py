"""The `huntsman` command: database chores, the demo tenant, and the processes.

huntsman db migrate|status|shell|reset|snapshot
huntsman demo load [--force]
huntsman run                 # everything, in the foreground (what `make run` calls)
huntsman controller          # the Event Socket controller alone
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence


def _db_migrate(args: argparse.Namespace) -> int:
    from huntsman import database, migrations

    db = database.resolve()
    try:
        applied = migrations.migrate(db.url, target=args.target)
    except migrations.MigrationError as exc:
        print(f"huntsman: {exc}", file=sys.stderr)
        return 1
    finally:
        database.stop(db)
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("database is up to date")
    print("routines re-applied")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    from huntsman import database, migrations

    db = database.resolve()
    try:
        rows = migrations.status(db.url)
        compiled = migrations.compiled_status(db.url)
    finally:
        database.stop(db)
    where = "embedded PostgreSQL (.data/postgres)" if db.is_embedded else "DATABASE_URL"
    print(f"database: {where}")
    pending = 0
    for row in rows:
        state = "applied" if row.applied else "pending"
        if row.changed:
            state = "CHANGED since applied (refused)"
        pending += not row.applied
        print(f"  {row.name:40} {state}")
    print(f"{len(rows) - pending} applied, {pending} pending")
    if compiled is not None:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(compiled.states.items())) or "none"
        print(f"compiled plans (domains): {counts}")
        if compiled.outdated:
            print(
                f"  {compiled.outdated} compiled by other routines: `huntsman db migrate` recompiles them"
            )
        for name, error in compiled.failed:
            print(f"  failed: {name}: {error} (planned by routing.build_plan until it compiles)")
    return 0


def _db_shell(args: argparse.Namespace) -> int:
    from huntsman import database

    db = database.resolve()
    try:
        return subprocess.call([db.psql_path(), db.url, *args.psql_args])
    finally:
        database.stop(db)


def _db_reset(args: argparse.Namespace) -> int:
    if not args.yes:
        print(
            "huntsman: `db reset` drops every Huntsman schema and its data; add --yes",
            file=sys.stderr,
        )
        return 2
    import psycopg

    from huntsman import database, migrations

    db = database.resolve()
    try:
        with psycopg.connect(db.url, autocommit=True) as conn:
            schemas = [
                r[0]
                for r in conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                    ([*migrations.PROJECT_SCHEMAS, "huntsman_meta"],),
                )
            ]
            for schema in schemas:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        print(f"dropped {', '.join(schemas) or 'nothing'}")
        applied = migrations.migrate(db.url)
        print(f"applied {len(applied)} migrations")
    finally:
        database.stop(db)
    return 0


def _db_snapshot(args: argparse.Namespace) -> int:
    """The snapshot describes a fresh install: migrate a throwaway embedded server, describe it."""
    import tempfile
    from pathlib import Path

    from huntsman import database, migrations, schema

    with tempfile.TemporaryDirectory(prefix="huntsman-snapshot-") as tmp:
        db = database.start_embedded(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            migrations.migrate(db.url)
            path = schema.write_snapshot(db.url)
        finally:
            database.stop(db)
    print(f"wrote {path} (from a fresh install)")
    return 0


def _demo_load(args: argparse.Namespace) -> int:
    from huntsman import database, demo, migrations

    db = database.resolve()
    try:
        migrations.migrate(db.url)
        loaded = demo.load(db.url, force=args.force)
    finally:
        database.stop(db)
    print("demo tenant loaded" if loaded else "database not empty: demo not loaded (use --force)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from huntsman import devrun

    return devrun.run()


def _controller(args: argparse.Namespace) -> int:
    from controller.main import main as controller_main

    controller_main()
    return 0


def _web(args: argparse.Namespace) -> int:
    from web.__main__ import main as web_main

    return int(web_main() or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huntsman", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database chores").add_subparsers(
        dest="db_command", required=True
    )
    p = db.add_parser("migrate", help="apply pending migrations and re-apply routines")
    p.add_argument("--target", help="stop after this migration (name without .sql)")
    p.set_defaults(func=_db_migrate)
    db.add_parser("status", help="list migrations and whether they are applied").set_defaults(
        func=_db_status
    )
    p = db.add_parser("shell", help="psql on the Huntsman database")
    p.add_argument("psql_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_db_shell)
    p = db.add_parser("reset", help="drop all Huntsman schemas and migrate again")
    p.add_argument("--yes", action="store_true")
    p.set_defaults(func=_db_reset)
    db.add_parser(
        "snapshot", help="write db/sql/schema.snapshot.txt from a fresh install"
    ).set_defaults(func=_db_snapshot)

    demo = sub.add_parser("demo", help="demo tenant").add_subparsers(
        dest="demo_command", required=True
    )
    p = demo.add_parser("load", help="load the demo tenant when the database is empty")
    p.add_argument("--force", action="store_true", help="load even if data exists")
    p.set_defaults(func=_demo_load)

    sub.add_parser("run", help="start everything in the foreground").set_defaults(func=_run)
    sub.add_parser("controller", help="run the Event Socket controller").set_defaults(
        func=_controller
    )
    sub.add_parser("web", help="run the web process (console and JSON API)").set_defaults(func=_web)
    from huntsman import admin, report

    report.add_parser(sub)
    admin.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["controller"], ["web"]):
        # gevent must patch before psycopg is imported: psycopg picks its wait function then.
        from gevent import monkey

        monkey.patch_all()
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:platformdirs")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
