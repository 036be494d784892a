"""A minimal queue controller for end-to-end tests: real ESL over real sockets, real database.

The emulator dials this server like the ``socket`` app; each call runs
``controller.queue_step.run_queue_step`` through small adapters:

* ``controller.queue_step.ChannelSession`` adapts the controller's ``CallChannel`` (outbound
  ESL) to ``QueueSession``;
* ``PoolDb`` runs ``queue.*`` functions (``queue_step.queue_sql``) on a psycopg pool of its own
  (one per "controller");
* ``SimClock`` reads the emulator's simulated clock, so leases and wrap-ups follow its time scale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import gevent
from gevent import socket
from gevent.server import StreamServer
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from controller import channel_vars as cv
from controller.call_channel import CallChannel
from controller.plan import CallerId, QueueStep
from controller.queue_step import (
    ChannelSession,
    QueueContext,
    QueueOutcome,
    handle_feature_code,
    is_feature_code,
    queue_sql,
    run_queue_step,
)
from switchsim import Switch


class QuietLog:
    """Stands in for the structlog logger."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return lambda *args, **kwargs: self if name == "bind" else None


class SimClock:
    def __init__(self, sw: Switch) -> None:
        self.sw = sw

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.sw.clock.epoch(), UTC)

    def sleep(self, seconds: float) -> None:
        self.sw.clock.sleep(seconds)


class PoolDb:
    def __init__(self, url: str, size: int = 4) -> None:
        self.pool = ConnectionPool(
            url, min_size=1, max_size=size, kwargs={"autocommit": True}, open=True
        )
        self.calls = 0

    def call(self, fn_name: str, *args: Any) -> Any:
        sql = queue_sql(fn_name)
        values = [Jsonb(a) if isinstance(a, (dict, list)) else a for a in args]
        self.calls += 1
        with self.pool.connection() as conn:
            row = conn.execute(sql, values).fetchone()
        assert row is not None
        return row[0]

    def close(self) -> None:
        self.pool.close()


@dataclass
class QueueServer:
    """One "controller": an outbound ESL server running queue steps with its own DB pool."""

    sw: Switch
    url: str
    queue_id: int
    name: str = "ctl"
    pool_size: int = 4
    outcomes: dict[str, QueueOutcome] = field(default_factory=dict)
    feature_results: list[Mapping[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = PoolDb(self.url, self.pool_size)
        self.clock = SimClock(self.sw)
        self.server = StreamServer(("127.0.0.1", 0), self._handle, backlog=1024)

    def start(self) -> str:
        self.server.start()
        host, port = self.server.address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.server.stop(timeout=2)
        self.db.close()

    def _handle(self, sock: socket.socket, addr: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as controller.server does
        channel = CallChannel(sock, QuietLog())
        channel.start()
        call_uuid = ""
        try:
            reply = channel.connect()
            channel.subscribe()
            call_uuid = reply.headers.get(cv.H_UNIQUE_ID, "")
            destination = reply.headers.get(cv.H_CALLER_DESTINATION_NUMBER, "")
            session = ChannelSession(channel, time_scale=self.sw.clock.time_scale)
            if is_feature_code(destination):
                domain = reply.headers.get(cv.CV_DOMAIN_NAME, "")
                user = reply.headers.get(cv.CV_SIP_FROM_USER, "")
                self.feature_results.append(
                    handle_feature_code(session, domain, user, destination, self.db, self.clock)
                )
                return
            ctx = QueueContext(
                call_uuid=call_uuid,
                caller_id=CallerId(name="Caller", number="+4917000000"),
                controller_id=self.name,
            )
            outcome = run_queue_step(session, QueueStep(self.queue_id), ctx, self.db, self.clock)
            self.outcomes[call_uuid] = outcome
            if not channel.gone:
                cause = "NORMAL_CLEARING"
                if (
                    outcome.kind == "overflow"
                    and outcome.step
                    and outcome.step.get("type") == "hangup"
                ):
                    cause = str(outcome.step.get("cause") or "NO_ANSWER")
                channel.hangup(cause)
        except Exception as exc:  # recorded: the test fails on any
            self.errors.append(f"{call_uuid}: {exc!r}")
        finally:
            channel.wait_hangup_complete(self.sw.clock.real(30) + 1)
            channel.close()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        gevent.sleep(0.02)
