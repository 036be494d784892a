"""The inbound Event Socket server (what ``mod_event_socket`` listens with on 8021)."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from gevent.server import StreamServer

from switchsim import frames
from switchsim.api import ApiExecutor
from switchsim.connection import Connection
from switchsim.events import Event

if TYPE_CHECKING:
    from switchsim.switch import Switch


class InboundSession:
    """One client of the inbound socket: auth, subscriptions, api/bgapi, exit."""

    def __init__(self, switch: Switch, sock: socket.socket, password: str) -> None:
        self.switch = switch
        self.conn = Connection(sock)
        self.password = password
        self.authed = False
        self.format = "plain"
        self.names: set[str] = set()
        self.api = ApiExecutor(switch, self._deliver)
        self.busy = False
        self.held: list[Event] = []

    def _deliver(self, event: Event) -> None:
        if self.busy:
            self.held.append(event)
            return
        self.conn.send(frames.event_frame(event.headers, event.body, self.format, event.plain))

    def _on_event(self, event: Event) -> None:
        if self.conn.closed or event.name == "BACKGROUND_JOB":
            return
        wanted = "ALL" in self.names or event.name in self.names
        if event.name == "CUSTOM" and event.subclass:
            wanted = "ALL" in self.names or event.subclass in self.names
        if wanted:
            self._deliver(event)

    def _reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        self.conn.send(frames.command_reply(text, extra or []))

    def _bye(self) -> None:
        self.conn.send(frames.disconnect_notice())
        self.conn.close()

    def run(self) -> None:
        """Serve the client until it leaves."""
        self.conn.send(frames.auth_request())
        self.switch.subscribe(self._on_event)
        try:
            for cmd in self.conn.commands():
                if not self._handle(cmd):
                    break
        finally:
            self.switch.unsubscribe(self._on_event)
            self.conn.close()
            self.conn.wait_closed(timeout=5)

    def _handle(self, cmd: frames.Command) -> bool:
        name = cmd.name.lower()
        if not self.authed:
            if name == "auth":
                if cmd.args == self.password:
                    self.authed = True
                    self._reply("+OK accepted")
                    return True
                self._reply("-ERR invalid")
                self._bye()
                return False
            self._reply("-ERR command not found")
            return True
        if name == "event":
            parts = cmd.args.split()
            if parts and parts[0].lower() in ("plain", "json", "xml"):
                self.format = "json" if parts[0].lower() == "json" else "plain"
                parts = parts[1:]
            self.names.update(p for p in parts if p.upper() != "CUSTOM")
            self._reply(f"+OK event listener enabled {self.format}")
        elif name == "nixevent":
            for p in cmd.args.split():
                self.names.discard(p)
            self._reply("+OK events nixed")
        elif name == "noevents":
            self.names.clear()
            self._reply("+OK no longer listening for events")
        elif name == "api":
            # FreeSWITCH serves commands and events from one loop: while a blocking api
            # runs (e.g. originate), no event reaches this client; they follow the reply.
            self.busy = True
            try:
                body = self.api.api(cmd.args)
            finally:
                self.busy = False
            self.conn.send(frames.api_response(body))
            held, self.held = self.held, []
            for event in held:
                self._deliver(event)
        elif name == "bgapi":
            job = self.api.bgapi(
                cmd.args,
                cmd.header("Job-UUID"),
                lambda: "BACKGROUND_JOB" in self.names or "ALL" in self.names,
            )
            self._reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])
        elif name == "exit":
            self._reply("+OK bye")
            self._bye()
            return False
        elif name in ("filter", "log", "nolog", "divert_events"):
            self._reply("+OK")
        else:
            self._reply("-ERR command not found")
        return True


class InboundServer:
    """A gevent StreamServer spawning one :class:`InboundSession` per client."""

    def __init__(self, switch: Switch, host: str, port: int, password: str) -> None:
        self.switch = switch
        self.password = password
        self._server = StreamServer((host, port), self._handle)

    def _handle(self, sock: socket.socket, address: tuple[str, int]) -> None:
        InboundSession(self.switch, sock, self.password).run()

    def start(self) -> tuple[str, int]:
        """Listen; return (host, port)."""
        self._server.start()
        host, port = self._server.address[:2]
        return host, port

    def stop(self) -> None:
        """Stop listening."""
        self._server.stop(timeout=1)
