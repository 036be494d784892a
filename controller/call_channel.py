"""The caller's channel (A-leg) seen through its outbound Event Socket.

Commands go out through ``EslConnection``; the channel's events come back and
update this object from the reader greenlet.  Completions are matched by the
``Application-UUID`` FreeSWITCH copies from our ``Event-UUID``, never by the
application's name, and every wait has a deadline.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
from gevent import socket

from controller import channel_vars as cv
from controller.errors import CallerGone, CommandTimeout, ConnectionLost
from controller.esl_connection import EslConnection
from controller.esl_frames import (
    Event,
    Frame,
    build_command,
    build_sendmsg_execute,
    build_sendmsg_hangup,
)

COMMAND_TIMEOUT = 5.0
"""Seconds to wait for the reply to one command (FreeSWITCH answers sendmsg at once)."""

GRACE_AFTER_HANGUP = 2.0
"""Seconds to wait for an application's completion once the channel has hung up."""

LINGER_SECONDS = 30

CALL_EVENTS = frozenset(
    {
        cv.EV_CHANNEL_EXECUTE_COMPLETE,
        cv.EV_CHANNEL_ANSWER,
        cv.EV_CHANNEL_BRIDGE,
        cv.EV_CHANNEL_HANGUP,
        cv.EV_CHANNEL_HANGUP_COMPLETE,
    }
)
"""Events of its own channel the call handler reads; the others are dropped unparsed."""

NIXED_EVENTS = " ".join(sorted(cv.MYEVENTS - CALL_EVENTS))
"""``myevents`` subscribes to ~23 event names and FreeSWITCH serialises each event with ~165
headers; ``nixevent`` takes back the ones the handler never reads (about two thirds of a
call's events), in the same write as ``connect`` (no extra round trip)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class CallChannel:
    def __init__(self, sock: socket.socket, log: Any) -> None:
        self.log = log
        self.conn = EslConnection(
            sock,
            on_event=self._on_event,
            on_notice=self._on_notice,
            wanted_events=CALL_EVENTS,
            log=log,
        )
        self._completions: dict[str, gevent.event.AsyncResult] = {}
        self.hungup = gevent.event.Event()
        self.bridged = gevent.event.Event()
        self.hangup_complete: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self.hangup_cause = ""
        self.answered_at: datetime | None = None
        self.bridged_at: datetime | None = None
        self.other_leg = ""
        self.uuid = ""  # the A-leg's Unique-ID, known after ``connect``
        self._unchecked: list[tuple[str, gevent.event.AsyncResult]] = []

    # --- events (reader greenlet: never block here) ----------------------------------------------

    def _on_event(self, event: Event) -> None:
        if self.uuid and event.get(cv.H_UNIQUE_ID) != self.uuid:
            return  # another channel's event (a subscription wider than myevents)
        name = event.name
        if name == cv.EV_CHANNEL_EXECUTE_COMPLETE:
            waiter = self._completions.pop(event.get(cv.H_APPLICATION_UUID), None)
            if waiter is not None:
                waiter.set(event)
        elif name == cv.EV_CHANNEL_ANSWER:
            self.answered_at = self.answered_at or utcnow()
        elif name == cv.EV_CHANNEL_BRIDGE:
            self.bridged_at = self.bridged_at or utcnow()
            self.other_leg = event.get(cv.H_OTHER_LEG_UNIQUE_ID)
            self.bridged.set()
        elif name in (cv.EV_CHANNEL_HANGUP, cv.EV_CHANNEL_HANGUP_COMPLETE):
            self.hangup_cause = event.get(cv.H_HANGUP_CAUSE) or self.hangup_cause
            self.hungup.set()
            if name == cv.EV_CHANNEL_HANGUP_COMPLETE and not self.hangup_complete.ready():
                self.hangup_complete.set(event)

    def _on_notice(self, frame: Frame) -> None:
        # A linger notice means the channel hung up; it can overtake CHANNEL_HANGUP.
        self.hungup.set()
        if self.conn.closed.is_set():
            for waiter in self._completions.values():
                waiter.set_exception(ConnectionLost("event socket closed"))
            self._completions.clear()

    # --- commands ------------------------------------------------------------------------------

    @property
    def gone(self) -> bool:
        return self.hungup.is_set() or self.conn.closed.is_set()

    def start(self) -> None:
        self.conn.start()

    def command(self, text: str, timeout: float | None = None) -> Frame:
        return self.conn.request(build_command(text), timeout or COMMAND_TIMEOUT)

    _SUBSCRIBE = ("myevents", f"nixevent {NIXED_EVENTS}", f"linger {LINGER_SECONDS}")

    def connect(self) -> Frame:
        """``connect`` alone; returns the channel data."""
        return self._pipeline(("connect",))

    def subscribe(self) -> None:
        """``myevents`` (this channel's events only), narrowed with ``nixevent`` to
        ``CALL_EVENTS``, and ``linger``, pipelined.

        Not ``event plain <names>``: the ``event`` command only adds subscriptions and,
        without the session filter, would deliver every channel's events of those names to
        every call. Events that still arrive unasked are dropped unparsed.
        """
        self._pipeline(self._SUBSCRIBE)

    def connect_and_subscribe(self) -> Frame:
        """``connect``, ``myevents``, ``nixevent`` and ``linger`` in one write; returns the
        channel data.

        FreeSWITCH handles a socket's commands strictly in order, so pipelining them
        saves two round trips per call.
        """
        return self._pipeline(("connect", *self._SUBSCRIBE))

    def _pipeline(self, commands: tuple[str, ...]) -> Frame:
        results = self.conn.send(*(build_command(c) for c in commands))
        first = self.conn.wait_reply(results[0], COMMAND_TIMEOUT)
        if commands[0] == "connect":
            self.uuid = first.headers.get(cv.H_UNIQUE_ID, "")
        for result in results[1:]:
            self.conn.wait_reply(result, COMMAND_TIMEOUT)
        return first

    def execute(self, app: str, arg: str | None = None) -> str:
        """Queue an application without waiting for it; returns its Application-UUID."""
        app_uuid = str(uuid.uuid4())
        self.conn.request(build_sendmsg_execute(app, arg, event_uuid=app_uuid), COMMAND_TIMEOUT)
        return app_uuid

    def execute_later(self, app: str, arg: str | None = None) -> None:
        """Send an application without waiting even for its ``+OK``; a ``-ERR`` reply is
        logged when the next command is answered."""
        (result,) = self.conn.send(build_sendmsg_execute(app, arg))
        self._unchecked.append((app, result))

    def _check_unchecked(self) -> None:
        for app, result in self._unchecked:
            if result.ready() and result.successful():
                frame: Frame = result.get()
                if frame.reply_text.startswith("-ERR"):
                    self.log.warning("execute_refused", app=app, reply=frame.reply_text.strip())
        self._unchecked = [(a, r) for a, r in self._unchecked if not r.ready()]

    def execute_wait(
        self,
        app: str,
        arg: str | None,
        *,
        timeout: float,
        after_bridge: float | None = None,
        before: Sequence[tuple[str, str | None]] = (),
    ) -> Event:
        """Run an application and wait for its CHANNEL_EXECUTE_COMPLETE.

        ``timeout`` bounds the wait; once the channel is bridged the bound becomes
        ``after_bridge`` (a bridged call lasts as long as the conversation).  When
        the channel hangs up, the completion gets ``GRACE_AFTER_HANGUP`` seconds
        more, then ``CallerGone``.  ``before``: applications (name, argument) sent
        ahead of it in the same write (FreeSWITCH runs a channel's applications in the
        order received, so a ``set`` rides in front of a ``bridge`` without a syscall or
        round trip of its own); a ``-ERR`` for one of them is logged, not raised.
        """
        app_uuid = str(uuid.uuid4())
        waiter: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._completions[app_uuid] = waiter
        try:
            wires = [build_sendmsg_execute(a, g) for a, g in before]
            wires.append(build_sendmsg_execute(app, arg, event_uuid=app_uuid))
            results = self.conn.send(*wires)
            for (earlier, _), sent in zip(before, results, strict=False):
                self._unchecked.append((earlier, sent))
            self.conn.wait_reply(results[-1], COMMAND_TIMEOUT)
            self._check_unchecked()
            started = time.monotonic()
            hangup_deadline: float | None = None
            while True:
                now = time.monotonic()
                limit = timeout
                if after_bridge is not None and self.bridged.is_set():
                    limit = after_bridge
                deadline = started + limit
                if self.hungup.is_set():
                    hangup_deadline = hangup_deadline or now + GRACE_AFTER_HANGUP
                    deadline = min(deadline, hangup_deadline)
                remaining = deadline - now
                if remaining <= 0:
                    if self.hungup.is_set():
                        raise CallerGone(f"{app} did not complete after the hangup")
                    raise CommandTimeout(f"{app} did not complete within {limit}s")
                watch = [waiter, self.conn.closed]
                if not self.hungup.is_set():
                    watch.append(self.hungup)
                if after_bridge is not None and not self.bridged.is_set():
                    watch.append(self.bridged)
                gevent.wait(watch, timeout=remaining, count=1)
                if waiter.ready():
                    result: Event = waiter.get()
                    return result
                if self.conn.closed.is_set():
                    raise ConnectionLost(f"event socket closed while {app} ran")
        finally:
            self._completions.pop(app_uuid, None)

    def hangup(self, cause: str) -> None:
        self.conn.request(build_sendmsg_hangup(cause), COMMAND_TIMEOUT)

    def wait_hangup_complete(self, timeout: float) -> Event | None:
        gevent.wait([self.hangup_complete, self.conn.closed], timeout=timeout, count=1)
        if self.hangup_complete.ready():
            event: Event = self.hangup_complete.get()
            return event
        return None

    def close(self) -> None:
        self.conn.close()
        self.conn.release_handlers()
