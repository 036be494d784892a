"""The only module that talks to PostgreSQL: a bounded psycopg pool and the calls.

Every call has a deadline: the pool wait is bounded and the session runs with
``statement_timeout``, so a dead or slow database turns into a typed error fast
(``DatabaseUnavailable`` / ``PlanTimeout``) and the call takes the fallback.
SQLSTATEs of class ``HM`` become the matching ``errors`` class.
"""

from __future__ import annotations

import time
import weakref
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from controller.errors import (
    DatabaseError,
    DatabaseUnavailable,
    DataRejected,
    PlanTimeout,
    routing_error,
)
from controller.queue_step import queue_sql

CHECK_AFTER_IDLE = 5.0
"""A pooled connection idle longer than this (s) is checked with a round trip before use."""


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 4,
        statement_timeout: float = 0.5,
        connect_timeout: int = 2,
    ) -> None:
        timeout_ms = max(1, int(statement_timeout * 1000))
        self.pool = ConnectionPool(
            url,
            min_size=pool_size,  # opened at start: no pool growth under the first calls
            max_size=pool_size,
            open=False,
            name="huntsman-controller",
            kwargs={
                "autocommit": True,
                "connect_timeout": connect_timeout,
                "options": f"-c statement_timeout={timeout_ms}",
                "application_name": "huntsman-controller",
                "keepalives": 1,
                "keepalives_idle": 10,
            },
            check=self._check,
            max_lifetime=600.0,
            reconnect_timeout=3600.0 * 24 * 365,
        )

        self._last_ok: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's check before handing out a connection, without a round trip per call.

        A connection that answered a query less than ``CHECK_AFTER_IDLE`` s ago is
        trusted if libpq still sees it as open; an idle one gets ``SELECT ''`` as before.
        A connection that died in between fails its query: the call takes the fallback,
        and the pool throws the broken connection away when it is returned.
        """
        last = self._last_ok.get(conn)
        if conn.broken or conn.closed or last is None:
            ConnectionPool.check_connection(conn)
        elif time.monotonic() - last > CHECK_AFTER_IDLE:
            ConnectionPool.check_connection(conn)

    def open(self) -> None:
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close(timeout=2)

    def _call(self, sql: str, params: tuple[Any, ...], timeout: float) -> Any:
        try:
            with self.pool.connection(timeout=timeout) as conn:
                row = conn.execute(sql, params).fetchone()
                self._last_ok[conn] = time.monotonic()
                return None if row is None else row[0]
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"no database connection within {timeout}s") from exc
        except psycopg.Error as exc:
            sqlstate = exc.sqlstate or ""
            # First: psycopg raises our own SQLSTATE class (unknown to it) as OperationalError.
            if sqlstate.startswith("HM"):
                raise routing_error(sqlstate, exc.diag.message_primary or str(exc)) from exc
            if isinstance(exc, pg_errors.QueryCanceled):
                raise PlanTimeout(f"statement timeout: {exc}") from exc
            if isinstance(exc, psycopg.OperationalError):
                raise DatabaseUnavailable(str(exc).strip()) from exc
            if sqlstate[:2] in ("22", "23"):
                raise DataRejected(f"{sqlstate}: {exc}".strip()) from exc
            raise DatabaseError(f"{sqlstate}: {exc}".strip()) from exc

    def start_call(self, call: dict[str, Any], now: datetime, timeout: float) -> Any:
        """``routing.start_call(p_call, p_now)``: the plan for a live call."""
        return self._call(
            "SELECT routing.start_call(%s::jsonb, %s::timestamptz)", (Jsonb(call), now), timeout
        )

    def record_call(self, cdr: dict[str, Any], timeout: float = 5.0) -> int:
        """``cdr.record_call(p_cdr)``: idempotent on the call uuid; returns the row id."""
        result = self._call("SELECT cdr.record_call(%s::jsonb)", (Jsonb(cdr),), timeout)
        return int(result)

    def record_calls(self, documents: list[str], timeout: float = 5.0) -> None:
        """``cdr.record_call`` for several CDR documents (JSON text) in one round trip.

        One statement, so one transaction: a document the database refuses fails them
        all (``DataRejected`` / ``RoutingError``) and none is stored.
        """
        ids = self._call(  # one JSON array: no per-document escaping as a text[] would need
            "SELECT array_agg(cdr.record_call(d) ORDER BY n)"
            " FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS t(d, n)",
            ("[" + ",".join(documents) + "]",),
            timeout,
        )
        if ids is None or len(ids) != len(documents):
            raise DatabaseError(f"cdr.record_call stored {ids and len(ids)} of {len(documents)}")

    def record_registration(
        self,
        domain: str,
        user: str,
        contact: str,
        registered: bool,
        at: datetime,
        timeout: float = 2.0,
    ) -> None:
        self._call(
            "SELECT routing.record_registration(%s, %s, %s, %s, %s)",
            (domain, user, contact, registered, at),
            timeout,
        )

    def record_device_busy(
        self, domain: str, user: str, busy: bool, at: datetime, timeout: float = 2.0
    ) -> None:
        self._call(
            "SELECT routing.record_device_busy(%s, %s, %s, %s)", (domain, user, busy, at), timeout
        )

    def resync_device_state(
        self,
        node: str,
        busy: list[dict[str, str]],
        registered: list[dict[str, str]],
        at: datetime,
        timeout: float = 5.0,
    ) -> Any:
        """``routing.resync_device_state``: the counts of devices changed, as a dict."""
        return self._call(
            "SELECT routing.resync_device_state(%s, %s::jsonb, %s::jsonb, %s::timestamptz)",
            (node, Jsonb(busy), Jsonb(registered), at),
            timeout,
        )


class QueueFunctions:
    """The ``queue.*`` functions the queue executor calls (``controller.queue_step.QueueDb``),
    on the controller's pool with the same deadlines and error mapping as the other calls."""

    def __init__(self, db: Database, timeout: float = 2.0) -> None:
        self.db = db
        self.timeout = timeout

    def call(self, fn_name: str, *args: Any) -> Any:
        values = tuple(Jsonb(a) if isinstance(a, dict | list) else a for a in args)
        return self.db._call(queue_sql(fn_name), values, self.timeout)
