"""Inbound Event Socket client to one FreeSWITCH: registrations, busy state, api/bgapi.

Connects, authenticates, subscribes to ``CUSTOM sofia::register sofia::unregister
sofia::expire CHANNEL_CREATE CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB`` and feeds
registration and busy changes to the database.  Reconnects with exponential
backoff.  ``bgapi`` results are matched by the client-chosen ``Job-UUID``.

Events lost while the socket is down, or dropped because the database refused the
write, would leave a device busy or (un)registered for good.  So after every
(re)connect, and once the database answers again after a failed write, the client
reads ``show channels as json`` and ``show registrations as json`` and resyncs the
database with them (``routing.resync_device_state``).  It subscribes before it reads,
and the resync runs in the event worker: the events that arrive meanwhile are applied
after it, dated no earlier than the snapshot, so the newer state always wins.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
import gevent.queue

from controller import channel_vars as cv
from controller.device_state import (
    SOFIA_USER,
    Device,
    busy_devices,
    registered_devices,
    resync_lists,
    show_rows,
)
from controller.errors import (
    CommandFailed,
    ConnectionLost,
    DatabaseUnavailable,
    EslError,
    HuntsmanError,
)
from controller.esl_connection import EslConnection, connect_tcp
from controller.esl_frames import Event, Frame, build_bgapi, build_command
from controller.settings import FreeswitchNode

SUBSCRIPTION = (
    "event plain CUSTOM sofia::register sofia::unregister sofia::expire "
    "CHANNEL_CREATE CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB"
)

INBOUND_EVENTS = frozenset(
    {cv.EV_CUSTOM, cv.EV_CHANNEL_CREATE, cv.EV_CHANNEL_HANGUP_COMPLETE, cv.EV_BACKGROUND_JOB}
)

RegistrationSink = Callable[[str, str, str, bool, datetime], None]
BusySink = Callable[[str, str, bool, datetime], None]
ResyncSink = Callable[[str, list[dict[str, str]], list[dict[str, str]], datetime], Any]
"""(node name, busy list, registered list, at) -> ``routing.resync_device_state``."""
LiveState = tuple[set[Device], dict[Device, str]]
"""(busy devices, {registered device: contact}) of a node."""


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
        match = SOFIA_USER.fullmatch(event.get(cv.H_CHANNEL_NAME))
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
        on_resync: ResyncSink | None = None,
        peers: Callable[[], LiveState | None] | None = None,
        connect_timeout: float = 3.0,
        max_backoff: float = 30.0,
        resync_retry: float = 1.0,
    ) -> None:
        """``peers()`` gives the live state of the controller's other FreeSWITCH nodes (None
        while one of them is not connected): a resync writes the union, since the database
        keeps one busy/registered flag per device, not one per node."""
        self.node = node
        self.on_registration = on_registration
        self.on_busy = on_busy
        self.log = log.bind(node=node.name)
        self.on_reconnect = on_reconnect
        self.on_resync = on_resync
        self.peers = peers
        self.connect_timeout = connect_timeout
        self.max_backoff = max_backoff
        self.resync_retry = resync_retry
        self.conn: EslConnection | None = None
        self.ready = gevent.event.Event()
        self._jobs: dict[str, gevent.event.AsyncResult] = {}
        # Events, and the number of a session whose snapshot is due (queued before it subscribes).
        self._work: gevent.queue.Queue[Event | int] = gevent.queue.Queue(maxsize=10000)
        self._busy_count: dict[Device, int] = {}
        self._channels: dict[str, Device] = {}
        self._registered: dict[Device, str] = {}
        self._session_no = 0
        self._complete = False  # the state above was read from a snapshot of this session
        self._synced_at: datetime | None = None
        self.resync_due = False  # after a failed database write: resync when it answers again
        self._next_resync = 0.0
        self._resync_backoff = resync_retry
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
            self._busy_count.clear()
            self._channels.clear()
            self._registered.clear()
            self._complete = False
            self._session_no += 1
            # Before subscribing: every event of this subscription queues behind the snapshot.
            self._work.put(self._session_no)
            conn.request(build_command(SUBSCRIPTION), self.connect_timeout)
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
                job.set(event)
            return
        try:
            self._work.put_nowait(event)
        except gevent.queue.Full:
            self.log.error("inbound_event_dropped", event=event.name)

    def _worker(self) -> None:
        while True:
            wait = None  # disconnected: the next session queues its own snapshot
            if self.resync_due and self.ready.is_set():
                wait = max(0.0, self._next_resync - time.monotonic())
            try:
                item: Event | int | None = self._work.get(timeout=wait)
            except gevent.queue.Empty:
                item = None
            if isinstance(item, int):  # a session subscribed: its snapshot is due
                if self.on_resync is None or item != self._session_no:
                    continue  # no database, or that session is gone (the next one queued its own)
                if not self.ready.wait(self.connect_timeout) or item != self._session_no:
                    continue
                self.resync_due, self._next_resync = True, 0.0
            if self.resync_due and time.monotonic() >= self._next_resync and self.ready.is_set():
                self._try_resync()
            if isinstance(item, Event):
                self._apply(item)

    def _apply(self, event: Event) -> None:
        try:
            self.handle(event)
        except DatabaseUnavailable as exc:
            self.log.warning("inbound_event_failed", event_name=event.name, error=str(exc))
            if not self.resync_due and self.on_resync is not None:
                self.resync_due = True
                self._next_resync = time.monotonic() + self.resync_retry
                self._resync_backoff = self.resync_retry
        except HuntsmanError as exc:
            self.log.warning("inbound_event_failed", event_name=event.name, error=str(exc))
        except Exception as exc:
            self.log.exception("inbound_event_crashed", error=repr(exc))

    def _try_resync(self) -> None:
        try:
            self.resync()
        except DatabaseUnavailable as exc:  # still down: try again later
            self._next_resync = time.monotonic() + self._resync_backoff
            self._resync_backoff = min(self._resync_backoff * 2, self.max_backoff)
            self.log.warning("device_resync_failed", error=str(exc))
            return
        except HuntsmanError as exc:  # lost connection (the next one resyncs) or a refusal
            self.log.warning("device_resync_failed", error=str(exc))
        except Exception as exc:
            self.log.exception("device_resync_crashed", error=repr(exc))
        self.resync_due = False
        self._resync_backoff = self.resync_retry

    def resync(self) -> None:
        """Read this node's channels and registrations, then write the devices' state.

        Dated by the later of the two results: an event between the two snapshots is applied
        afterwards with that date, and wins, as the state it reports is newer than the snapshot.

        The in-memory channel table is rebuilt from the snapshot, so an event that the
        snapshot already reflects (CHANNEL_CREATE of a listed channel, HANGUP_COMPLETE of
        an unlisted one) changes nothing when it is handled afterwards.
        """
        # bgapi, for the BACKGROUND_JOB's timestamp: the snapshot is dated by the switch's
        # clock, the one its events carry, so the ordering rule compares like with like.
        channel_job = self.bgapi_event(cv.API_SHOW_CHANNELS, self.connect_timeout * 2)
        registration_job = self.bgapi_event(cv.API_SHOW_REGISTRATIONS, self.connect_timeout * 2)
        channels = busy_devices(show_rows(channel_job.body))
        registered = registered_devices(show_rows(registration_job.body))
        at = _at(registration_job)
        self._channels = channels
        self._busy_count = {}
        for device in channels.values():
            self._busy_count[device] = self._busy_count.get(device, 0) + 1
        self._registered = registered
        self._complete = True
        self._synced_at = at
        if self.on_resync is None:
            return
        busy, registrations = set(self._busy_count), dict(registered)
        if self.peers is not None:
            others = self.peers()
            if others is None:
                # What this node has is written now; what it lacks is cleared by the other
                # node's resync once it is back (it writes the union of both).
                self.log.info("device_resync_partial", reason="another node is not connected")
                for domain, user in set(self._busy_count):
                    if self.on_busy is not None:
                        self.on_busy(domain, user, True, at)
                for (domain, user), contact in registered.items():
                    if self.on_registration is not None:
                        self.on_registration(domain, user, contact, True, at)
                return
            busy |= others[0]
            for device, contact in others[1].items():
                registrations.setdefault(device, contact)
        result = self.on_resync(self.node.name, *resync_lists(busy, registrations), at)
        self.log.info("device_resync", result=result, channels=len(channels))

    def live_state(self) -> LiveState | None:
        """Busy devices and registrations of this node, None unless connected and resynced."""
        if not self.ready.is_set() or not self._complete:
            return None
        return set(self._busy_count), dict(self._registered)

    def _event_at(self, event: Event) -> datetime:
        """The event's instant, never before the last snapshot (which it may postdate)."""
        at = _at(event)
        return at if self._synced_at is None or at >= self._synced_at else self._synced_at

    def handle(self, event: Event) -> None:
        """Apply one event (registration change or channel start/end) to the database."""
        if event.name == cv.EV_CUSTOM:
            change = registration_change(event)
            if change is None:
                return
            domain, user, contact, registered = change
            if registered:
                self._registered[(domain, user)] = contact
            else:
                self._registered.pop((domain, user), None)
            if self.on_registration is not None:
                self.on_registration(domain, user, contact, registered, self._event_at(event))
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
                self.on_busy(device[0], device[1], True, self._event_at(event))
        elif event.name == cv.EV_CHANNEL_HANGUP_COMPLETE:
            device = self._channels.pop(unique_id, None)
            if device is None:
                return
            count = self._busy_count.get(device, 1) - 1
            if count <= 0:
                self._busy_count.pop(device, None)
                if self.on_busy is not None:
                    self.on_busy(device[0], device[1], False, self._event_at(event))
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
        return self.bgapi_event(command, timeout).body

    def bgapi_event(self, command: str, timeout: float = 30.0) -> Event:
        """The BACKGROUND_JOB event of ``bgapi command``: its body, and the instant (on the
        switch's clock) the result was ready."""
        conn = self.conn
        if conn is None or not self.ready.is_set():
            raise ConnectionLost(f"not connected to {self.node.name}")
        job_uuid = str(uuid.uuid4())
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._jobs[job_uuid] = result
        try:
            conn.request(build_bgapi(command, job_uuid), 5.0)
            event: Event = result.get(timeout=timeout)
            return event
        except gevent.Timeout:
            raise EslError(f"bgapi {command.split()[0]} gave no result within {timeout}s") from None
        finally:
            self._jobs.pop(job_uuid, None)
