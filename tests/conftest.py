"""Shared fixtures: a throwaway PostgreSQL for the whole session, migrated databases on demand.

gevent patches the standard library first, before psycopg is imported anywhere (psycopg picks
its wait function at import time), exactly as each entry point does.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402
import pytest  # noqa: E402
from psycopg import conninfo as pg_conninfo  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from huntsman import migrations  # noqa: E402


def _with_dbname(url: str, dbname: str) -> str:
    params = pg_conninfo.conninfo_to_dict(url)
    params["dbname"] = dbname
    return pg_conninfo.make_conninfo(**params)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Superuser URL of a server only the test session uses."""
    url = os.environ.get("HUNTSMAN_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from huntsman.database import start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="huntsman-test-pg-"))
    db = start_embedded(tmp / "pgdata", cleanup_mode="delete")
    try:
        yield db.url
    finally:
        db.embedded.cleanup()


class _DatabaseFactory:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"huntsman_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        self._template: str | None = None

    def _create(self, name: str, template: str | None = None) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            sql = f'CREATE DATABASE "{name}"'
            if template:
                sql += f' TEMPLATE "{template}"'
            conn.execute(sql)
        self.created.append(name)
        return _with_dbname(self.admin_url, name)

    def template(self) -> str:
        if self._template is None:
            name = f"{self.prefix}_template"
            url = self._create(name)
            migrations.migrate(url)
            self._template = name
        return self._template

    def __call__(self, migrated: bool = True) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        return self._create(name, self.template() if migrated else None)

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in reversed(self.created):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def make_database(pg_admin_url: str) -> Iterator[Callable[..., str]]:
    """`make_database(migrated=True) -> url`: a new database of its own, dropped at session end."""
    factory = _DatabaseFactory(pg_admin_url)
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(scope="session")
def migrated_db_url(make_database: Callable[..., str]) -> str:
    return make_database()


@pytest.fixture
def db(migrated_db_url: str) -> Iterator[psycopg.Connection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    conn = psycopg.connect(migrated_db_url, row_factory=dict_row)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()
