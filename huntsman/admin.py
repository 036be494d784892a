"""`huntsman admin create`: an administrator of one domain for the web console.

    huntsman admin create --domain NAME --email EMAIL [--password-stdin]

Without --password-stdin the password is asked twice at a terminal prompt (never echoed, never
an argument: arguments show in `ps` and shell history). With --password-stdin the first line of
standard input is the password. The row goes to console.admin_user with a werkzeug.security
hash (scrypt); the email is stored in lower case and is unique across all domains.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from werkzeug.security import generate_password_hash

PASSWORD_MIN_LENGTH = 12
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")


class AdminError(ValueError):
    """An administrator that cannot be created; the message says why."""


def normalize_email(email: str) -> str:
    """The stored form of an email: stripped, lower case (console.admin_user.email)."""
    return email.strip().lower()


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AdminError(f"the password must be at least {PASSWORD_MIN_LENGTH} characters long")


def create_admin(conn: psycopg.Connection[Any], domain: str, email: str, password: str) -> int:
    """Insert an administrator of `domain`; returns its id. The caller commits."""
    email = normalize_email(email)
    if len(email) > 254 or not _EMAIL_RE.fullmatch(email):
        raise AdminError(f"email = {email!r} is not an email address")
    check_password(password)
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT id FROM cfg.domain WHERE name = %s", (domain,))
        row = cur.fetchone()
        if row is None:
            raise AdminError(f"domain {domain!r} does not exist")
        try:
            with conn.transaction():
                cur.execute(
                    "INSERT INTO console.admin_user (domain_id, email, password_hash)"
                    " VALUES (%s, %s, %s) RETURNING id",
                    (row[0], email, generate_password_hash(password)),
                )
        except psycopg.errors.UniqueViolation:
            raise AdminError(f"an administrator with email {email!r} already exists") from None
        created = cur.fetchone()
    assert created is not None
    return int(created[0])


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise AdminError("the passwords do not match")
    return password


def run_create(args: argparse.Namespace) -> int:
    """Entry point of `huntsman admin create`."""
    from huntsman import database

    try:
        password = _read_password(args.password_stdin)
        check_password(password)
    except AdminError as exc:
        print(f"huntsman admin: {exc}", file=sys.stderr)
        return 2
    db = database.resolve()
    try:
        with psycopg.connect(db.url) as conn:
            admin_id = create_admin(conn, args.domain, args.email, password)
    except AdminError as exc:
        print(f"huntsman admin: {exc}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        print(f"huntsman admin: {exc.diag.message_primary or exc}", file=sys.stderr)
        return 1
    finally:
        database.stop(db)
    print(f"created administrator {admin_id} ({normalize_email(args.email)}) of {args.domain}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `admin` to the `huntsman` command's subparsers (huntsman/cli.py)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "admin", help="administrators of the web console"
    )
    commands = parser.add_subparsers(dest="admin_command", required=True)
    create = commands.add_parser(
        "create",
        help="create an administrator of one domain",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    create.add_argument("--domain", required=True, help="cfg.domain name, e.g. demo.huntsman.test")
    create.add_argument("--email", required=True, help="login name of the administrator")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    create.set_defaults(func=run_create)
    return parser
