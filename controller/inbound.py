"""Inbound Event Socket client to one FreeSWITCH: registrations, busy state, api/bgapi.

Connects, authenticates, subscribes to ``CUSTOM sofia::register sofia::unregister
sofia::expire CHANNEL_CREATE CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB`` and feeds
registration and busy changes to the database.  Reconnects with exponential
backoff.  ``bgapi`` results are matched by the client-chosen ``Job-UUID``.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
import gevent.queue

from controller import channel_vars as cv
from controller.errors import CommandFailed, ConnectionLost, EslError, HuntsmanError
from controller.esl_connection import EslConnection, connect_tcp
from controller.esl_frames import Event, Frame, build_bgapi, build_command
from controller.settings import FreeswitchNode

SUBSCRIPTION = (
    "event plain CUSTOM sofia::register sofia::unregister sofia::expire "
    "CHANNEL_CREATE CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB"
)

_SOFIA_USER = re.compile(r"sofia/[^/]+/([A-Za-z0-9_.+\-]{1,64})@([A-Za-z0-9.\-]{1,253})")

INBOUND_EVENTS = frozenset(
    {cv.EV_CUSTOM, cv.EV_CHANNEL_CREATE, cv.EV_CHANNEL_HANGUP_COMPLETE, cv.EV_BACKGROUND_JOB}
)

RegistrationSink = Callable[[str, str, str, bool, datetime], None]
BusySink = Callable[[str, str, bool, datetime], None]


def _at(event: Event) -> datetime:
    raw = event.get(cv.H_EVENT_DATE_TIMESTAMP)
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw) / 1_000_000, UTC)
    return datetime.now(UTC)


def registration_change(event: Event) -> tuple[str, str, str, bool] | None:
    """(domain, user, contact, registered) from a sofia::* event, or None."""
    sub = event.get(cv.H_EVENT_SUBCLASS)
    if sub not in (cv.SUB_SOFIA_REGISTER, cv.SUB_SOFIA_UNREGISTER, cv.SUB_SOFIA_EXPIRE):
        return None
    user = next((v for k in cv.SOFIA_USER_KEYS if (v := event.get(k))), "")
    domain = next((v for k in cv.SOFIA_DOMAIN_KEYS if (v := event.get(k))), "").lower()
    if not user or not domain:
        return None
    return domain, user, event.get(cv.SOFIA_CONTACT), sub == cv.SUB_SOFIA_REGISTER


def device_of(event: Event) -> tuple[str, str] | None:
    """(domain, user) of the device a channel belongs to, or None.

    Legs rung through ``user/<ext>@<domain>`` carry ``dialed_user``/``dialed_domain``;
    calls placed by an authenticated phone carry ``user_name``/``domain_name``; an
    outbound ``sofia/<profile>/<user>@<domain>`` leg is recognised by its channel name.
    """
    for user_key, domain_key in (
        (cv.CV_DIALED_USER, cv.CV_DIALED_DOMAIN),
        (cv.CV_USER_NAME, cv.CV_DOMAIN_NAME),
    ):
        user, domain = event.get(user_key), event.get(domain_key)
        if user and domain:
            return domain.lower(), user
    if event.get(cv.H_CALL_DIRECTION) == cv.DIRECTION_OUTBOUND:
        match = _SOFIA_USER.fullmatch(event.get(cv.H_CHANNEL_NAME))
        if match:
            return match.group(2).lower(), match.group(1)
    return None


class InboundClient:
    def __init__(
        self,
        node: FreeswitchNode,
        *,
        on_registration: RegistrationSink | None,
        on_busy: BusySink | None,
        log: Any,
        on_reconnect: Callable[[], None] | None = None,
        connect_timeout: float = 3.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.node = node
        self.on_registration = on_registration
        self.on_busy = on_busy
        self.log = log.bind(node=node.name)
        self.on_reconnect = on_reconnect
        self.connect_timeout = connect_timeout
        self.max_backoff = max_backoff
        self.conn: EslConnection | None = None
        self.ready = gevent.event.Event()
        self._jobs: dict[str, gevent.event.AsyncResult] = {}
        self._work: gevent.queue.Queue[Event] = gevent.queue.Queue(maxsize=10000)
        self._busy_count: dict[tuple[str, str], int] = {}
        self._channels: dict[str, tuple[str, str]] = {}
        self._stopping = False
        self._greenlets: list[gevent.Greenlet] = []

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._greenlets = [gevent.spawn(self._run), gevent.spawn(self._worker)]

    def stop(self) -> None:
        self._stopping = True
        if self.conn is not None:
            self.conn.close()
        gevent.killall(self._greenlets, timeout=2)

    def _run(self) -> None:
        backoff = 0.2
        first = True
        while not self._stopping:
            if not first and self.on_reconnect is not None:
                self.on_reconnect()
            first = False
            try:
                self._session()
                backoff = 0.2
            except HuntsmanError as exc:
                self.log.warning("inbound_esl_failed", error=str(exc))
            self.ready.clear()
            if self._stopping:
                break
            gevent.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, self.max_backoff)

    def _session(self) -> None:
        sock = connect_tcp(self.node.host, self.node.port, self.connect_timeout)
        conn = EslConnection(
            sock,
            on_event=self._on_event,
            on_notice=self._on_notice,
            wanted_events=INBOUND_EVENTS,
            log=self.log,
        )
        self.conn = conn
        conn.start()
        try:
            if not conn.auth_requested.wait(timeout=self.connect_timeout) or conn.closed.is_set():
                raise ConnectionLost("no auth/request from FreeSWITCH")
            try:
                conn.request(build_command(f"auth {self.node.password}"), self.connect_timeout)
            except CommandFailed as exc:
                raise EslError(f"authentication refused: {exc}") from exc
            conn.request(build_command(SUBSCRIPTION), self.connect_timeout)
            self._busy_count.clear()
            self._channels.clear()
            self.ready.set()
            self.log.info("inbound_esl_connected")
            conn.closed.wait()
            self.log.warning("inbound_esl_lost")
        finally:
            self.ready.clear()
            conn.close()
            for job in self._jobs.values():
                job.set_exception(ConnectionLost("inbound event socket closed"))
            self._jobs.clear()

    # --- events --------------------------------------------------------------------------------

    def _on_notice(self, frame: Frame) -> None:
        pass

    def _on_event(self, event: Event) -> None:
        if event.name == cv.EV_BACKGROUND_JOB:
            job = self._jobs.pop(event.get(cv.H_JOB_UUID), None)
            if job is not None:
                job.set(event.body)
            return
        try:
            self._work.put_nowait(event)
        except gevent.queue.Full:
            self.log.error("inbound_event_dropped", event=event.name)

    def _worker(self) -> None:
        while True:
            event = self._work.get()
            try:
                self.handle(event)
            except HuntsmanError as exc:
                self.log.warning("inbound_event_failed", event_name=event.name, error=str(exc))
            except Exception as exc:
                self.log.exception("inbound_event_crashed", error=repr(exc))

    def handle(self, event: Event) -> None:
        """Apply one event (registration change or channel start/end) to the database."""
        if event.name == cv.EV_CUSTOM:
            change = registration_change(event)
            if change is not None and self.on_registration is not None:
                domain, user, contact, registered = change
                self.on_registration(domain, user, contact, registered, _at(event))
            return
        unique_id = event.get(cv.H_UNIQUE_ID)
        if event.name == cv.EV_CHANNEL_CREATE:
            device = device_of(event)
            if device is None or unique_id in self._channels:
                return
            self._channels[unique_id] = device
            count = self._busy_count.get(device, 0) + 1
            self._busy_count[device] = count
            if count == 1 and self.on_busy is not None:
                self.on_busy(device[0], device[1], True, _at(event))
        elif event.name == cv.EV_CHANNEL_HANGUP_COMPLETE:
            device = self._channels.pop(unique_id, None)
            if device is None:
                return
            count = self._busy_count.get(device, 1) - 1
            if count <= 0:
                self._busy_count.pop(device, None)
                if self.on_busy is not None:
                    self.on_busy(device[0], device[1], False, _at(event))
            else:
                self._busy_count[device] = count

    # --- api -----------------------------------------------------------------------------------

    def api(self, command: str, timeout: float = 5.0) -> str:
        conn = self.conn
        if conn is None or not self.ready.is_set():
            raise ConnectionLost(f"not connected to {self.node.name}")
        frame = conn.request(build_command(f"api {command}"), timeout)
        return frame.body.decode("utf-8", "replace")

    def bgapi(self, command: str, timeout: float = 30.0) -> str:
        conn = self.conn
        if conn is None or not self.ready.is_set():
            raise ConnectionLost(f"not connected to {self.node.name}")
        job_uuid = str(uuid.uuid4())
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._jobs[job_uuid] = result
        try:
            conn.request(build_bgapi(command, job_uuid), 5.0)
            body: str = result.get(timeout=timeout)
            return body
        except gevent.Timeout:
            raise EslError(f"bgapi {command.split()[0]} gave no result within {timeout}s") from None
        finally:
            self._jobs.pop(job_uuid, None)
