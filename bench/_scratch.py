"""Scratch databases for the benchmarks (never the developer's data).

`server()` gives the admin URL of the server to use: DATABASE_URL's when set, else a throwaway
embedded PostgreSQL (deleted at the end). `database(admin_url, prefix)` creates a database there,
migrates it, yields its URL and drops it at the end. `scratch_database(prefix)` is both.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import conninfo

from huntsman import migrations


def server_label() -> str:
    return "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded PostgreSQL"


@contextmanager
def server() -> Iterator[str]:
    admin = os.environ.get("DATABASE_URL")
    if admin:
        yield admin
        return
    from huntsman.database import start_embedded

    embedded = start_embedded(
        Path(tempfile.mkdtemp(prefix="huntsman-bench-")) / "pgdata", cleanup_mode="delete"
    )
    try:
        yield embedded.url
    finally:
        embedded.embedded.cleanup()


def with_dbname(url: str, dbname: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    params["dbname"] = dbname
    return conninfo.make_conninfo(**params)


@contextmanager
def database(admin_url: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_dbname(admin_url, name)
        migrations.migrate(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    with server() as admin, database(admin, prefix) as url:
        yield url
