"""Outbound Event Socket server: a gevent StreamServer, one greenlet per call.

greenswitch's ``OutboundESLServer`` polls ``accept`` every 100 ms (p50 ~50 ms added
per call); ``StreamServer`` accepts as soon as the socket is readable.  Above
``max_calls`` a connection is closed at once, so FreeSWITCH (with
``socket_resume=true``) runs the dialplan fallback instead of waiting.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import gevent.pool
from gevent import socket
from gevent.server import StreamServer

from controller.call_handler import CallDeps, CallHandler


class CallServer:
    def __init__(self, deps: CallDeps, host: str, port: int) -> None:
        self.deps = deps
        self.max_calls = deps.settings.max_calls
        self.active = 0
        self.group = gevent.pool.Pool(None)
        self.server = StreamServer((host, port), self._handle, spawn=self.group, backlog=1024)

    @property
    def address(self) -> tuple[str, int]:
        addr: tuple[str, int] = self.server.address[:2]
        return addr

    def start(self) -> None:
        self.server.start()
        self.deps.log.info("esl_server_listening", host=self.address[0], port=self.address[1])

    def _handle(self, sock: socket.socket, addr: Any) -> None:
        accepted = time.monotonic()
        if self.active >= self.max_calls:
            self.deps.metrics.calls.labels("rejected").inc()
            self.deps.log.warning("call_rejected", reason="max_calls", active=self.active)
            sock.close()
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.active += 1
        try:
            CallHandler(sock, self.deps, accepted).run()
        finally:
            self.active -= 1

    def stop(self, grace: float) -> None:
        """Stop accepting, let calls finish for up to ``grace`` seconds, then end the rest."""
        self.server.close()
        self.deps.log.info("esl_server_draining", active=self.active, grace=grace)
        self.group.join(timeout=grace)
        if len(self.group):
            self.deps.log.warning("esl_server_killing_calls", active=len(self.group))
            self.group.kill(timeout=5)
