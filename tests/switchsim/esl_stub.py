"""A minimal scripted ESL controller for tests: accepts the switch's outbound connections."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

import gevent
import gevent.event
from gevent.server import StreamServer

from tests.switchsim.captures import Message, MessageParser


class Session:
    """One outbound connection from the switch, driven by a test script."""

    def __init__(self, sock) -> None:  # type: ignore[no-untyped-def]
        self.sock = sock
        self.parser = MessageParser()
        self.seen = 0
        self.arrived = gevent.event.Event()
        self.eof = False
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.eof = True
                self.arrived.set()
                return
            self.parser.feed(data)
            self.arrived.set()

    def next(self, timeout: float = 5.0) -> Message:
        """The next message from the switch (raises AssertionError on timeout/EOF)."""
        with gevent.Timeout(timeout, AssertionError("no message from the switch")):
            while self.seen >= len(self.parser.messages):
                if self.eof:
                    raise AssertionError("switch closed the socket")
                self.arrived.clear()
                if self.seen < len(self.parser.messages):
                    break
                self.arrived.wait()
        msg = self.parser.messages[self.seen]
        self.seen += 1
        return msg

    def send(self, text: str) -> None:
        """Send one command (the blank line is added)."""
        self.sock.sendall((text.rstrip("\n") + "\n\n").encode())

    def command(self, text: str, timeout: float = 5.0) -> Message:
        """Send a command and return its reply, skipping events that arrive first."""
        self.send(text)
        while True:
            msg = self.next(timeout)
            if msg.content_type in ("command/reply", "api/response"):
                return msg

    def wait_event(self, name: str, timeout: float = 5.0, **match: str) -> dict[str, str]:
        """Skip messages until event ``name`` (with header values ``match``) arrives."""
        while True:
            msg = self.next(timeout)
            if msg.content_type.startswith("text/event"):
                ev = dict(msg.event_headers())
                if ev.get("Event-Name") == name and all(ev.get(k) == v for k, v in match.items()):
                    return ev

    def wait_event_any(self, names: tuple[str, ...], timeout: float = 5.0) -> dict[str, str]:
        """Skip messages until one of the events ``names`` arrives."""
        while True:
            msg = self.next(timeout)
            if msg.content_type.startswith("text/event"):
                ev = dict(msg.event_headers())
                if ev.get("Event-Name") in names and (ev.get("Application") in (None, "bridge")):
                    return ev

    def execute(self, app: str, arg: str = "", event_uuid: str | None = None) -> Message:
        lines = ["sendmsg", "call-command: execute", f"execute-app-name: {app}"]
        if arg:
            lines.append(f"execute-app-arg: {arg}")
        if event_uuid:
            lines.append(f"Event-UUID: {event_uuid}")
        return self.command("\n".join(lines))

    def close(self) -> None:
        self.sock.close()


def reply_text(msg: Message) -> str:
    """``Reply-Text`` of a command/reply, decoded."""
    return unquote(dict(msg.headers).get("Reply-Text", ""))


class StubController:
    """Listens on 127.0.0.1:0 and runs ``script(session)`` for each connection."""

    def __init__(self, script: Callable[[Session], None]) -> None:
        self.script = script
        self.errors: list[BaseException] = []
        self.done = gevent.event.Event()
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_port}"

    def _handle(self, sock, addr) -> None:  # type: ignore[no-untyped-def]
        session = Session(sock)
        try:
            self.script(session)
        except BaseException as exc:  # reported by the test through .errors
            self.errors.append(exc)
        finally:
            session.close()
            self.done.set()

    def stop(self) -> None:
        self.server.stop(timeout=1)


def standard_start(s: Session, events: str = "myevents") -> dict[str, str]:
    """connect + myevents + linger; returns the channel data."""
    reply = s.command("connect")
    data = {k: unquote(v) for k, v in reply.headers}
    s.command(events)
    s.command("linger")
    return data
