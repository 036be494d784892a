"""One Event Socket connection over a gevent socket: a reader greenlet, replies in order.

FreeSWITCH answers commands strictly in order on one socket, so replies are matched
FIFO; events may arrive between a command and its reply and go to ``on_event``,
which runs in the reader greenlet and must not block.  Frames are parsed by
``esl_frames`` (bounded Content-Length, split-then-decode headers).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.lock
from gevent import socket

from controller import channel_vars as cv
from controller.errors import (
    CommandFailed,
    CommandTimeout,
    ConnectionLost,
    FrameError,
)
from controller.esl_frames import Event, Frame, FrameReader, event_name, parse_event

EventHandler = Callable[[Event], None]
FrameHandler = Callable[[Frame], None]
READ_SIZE = 65536


class EslConnection:
    def __init__(
        self,
        sock: socket.socket,
        *,
        on_event: EventHandler | None = None,
        on_notice: FrameHandler | None = None,
        wanted_events: frozenset[str] | None = None,
        log: Any = None,
    ) -> None:
        self.sock = sock
        self._on_event = on_event
        self._on_notice = on_notice
        self._wanted = None if wanted_events is None else {e.encode() for e in wanted_events}
        self._log = log
        self._reader = FrameReader()
        self._pending: collections.deque[gevent.event.AsyncResult] = collections.deque()
        self._send_lock = gevent.lock.Semaphore()
        self._greenlet: gevent.Greenlet | None = None
        self.auth_requested = gevent.event.Event()
        self.closed = gevent.event.Event()
        self.error: BaseException | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._read_loop)

    # --- reading ---------------------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while True:
                data = self.sock.recv(READ_SIZE)
                if not data:
                    break
                for frame in self._reader.feed(data):
                    self._dispatch(frame)
        except FrameError as exc:
            self.error = exc.with_traceback(None)
            if self._log is not None:
                self._log.warning("esl_frame_rejected", error=str(exc))
        except OSError as exc:
            # Kept without its traceback: frames -> self -> error -> frames would be a
            # cycle, and every call's objects would wait for a full GC pass to be freed.
            self.error = exc.with_traceback(None)
        finally:
            self._shutdown()

    def _dispatch(self, frame: Frame) -> None:
        ctype = frame.content_type
        if ctype in (cv.CT_COMMAND_REPLY, cv.CT_API_RESPONSE):
            if self._pending:
                self._pending.popleft().set(frame)
        elif ctype == cv.CT_EVENT_PLAIN:
            if self._wanted is not None and event_name(frame.body) not in self._wanted:
                return  # not parsed at all: most events of a call are of no interest
            if self._on_event is not None:
                self._on_event(parse_event(frame))
        elif ctype == cv.CT_AUTH_REQUEST:
            self.auth_requested.set()
        elif ctype == cv.CT_DISCONNECT_NOTICE:
            if self._on_notice is not None:
                self._on_notice(frame)
        elif ctype == cv.CT_RUDE_REJECTION:
            raise FrameError("rude rejection: " + frame.body[:200].decode("utf-8", "replace"))

    def _shutdown(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.auth_requested.set()
        while self._pending:
            self._pending.popleft().set_exception(ConnectionLost("event socket closed"))
        try:
            self.sock.close()
        except OSError:
            pass
        if self._on_notice is not None:
            self._on_notice(Frame(headers={cv.H_CONTENT_TYPE: "local/closed"}))

    # --- writing ---------------------------------------------------------------------------

    def send(self, *wires: bytes) -> list[gevent.event.AsyncResult]:
        """Write commands in one go (pipelined); one pending reply per command, in order."""
        if self.closed.is_set():
            raise ConnectionLost("event socket closed")
        results = [gevent.event.AsyncResult() for _ in wires]
        with self._send_lock:
            self._pending.extend(results)
            try:
                self.sock.sendall(b"".join(wires))
            except OSError as exc:
                self._shutdown()
                raise ConnectionLost(f"send failed: {exc}") from exc
        return results

    def wait_reply(self, result: gevent.event.AsyncResult, timeout: float) -> Frame:
        """The reply for one sent command.  ``-ERR`` raises ``CommandFailed``; a timeout
        closes the connection (a late reply would be matched to the next command)."""
        try:
            frame: Frame = result.get(timeout=timeout)
        except gevent.Timeout:
            self.close()
            raise CommandTimeout(f"no reply within {timeout}s") from None
        if frame.content_type == cv.CT_COMMAND_REPLY and frame.reply_text.startswith("-ERR"):
            raise CommandFailed(frame.reply_text.strip())
        return frame

    def request(self, wire: bytes, timeout: float) -> Frame:
        """Send one command and wait for its reply (``command/reply`` or ``api/response``)."""
        (result,) = self.send(wire)
        return self.wait_reply(result, timeout)

    def request_many(self, wires: list[bytes], timeout: float) -> list[Frame]:
        """Pipeline several commands: one write, then every reply in order."""
        return [self.wait_reply(r, timeout) for r in self.send(*wires)]

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._shutdown()  # the reader greenlet then ends on its own (recv returns b"")

    def release_handlers(self) -> None:
        """Drop the event and notice handlers once closed (they are bound methods of the
        owner, which holds this connection: without this the pair is a reference cycle that
        only a full GC pass frees, and those passes stall every call for tens of ms)."""
        self._on_event = None
        self._on_notice = None


def connect_tcp(host: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConnectionLost(f"cannot connect to {host}:{port}: {exc}") from exc
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
