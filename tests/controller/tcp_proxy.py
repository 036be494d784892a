"""A TCP proxy for tests that can cut every connection and refuse new ones (an outage).

The upstream is ``(host, port)`` or the path of a unix socket (PostgreSQL's local socket).
"""

from __future__ import annotations

import gevent
import gevent.pool
from gevent import socket
from gevent.server import StreamServer
from psycopg import conninfo as pg_conninfo


class TcpProxy:
    def __init__(self, upstream: tuple[str, int] | str) -> None:
        self.upstream = upstream
        self.up = True
        self.stalled = False
        self.accepted = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._server = StreamServer(("127.0.0.1", 0), self._handle, spawn=gevent.pool.Pool(None))
        self._server.start()

    @property
    def port(self) -> int:
        port: int = self._server.address[1]
        return port

    def _handle(self, client: socket.socket, _addr: object) -> None:
        if not self.up:
            client.close()
            return
        try:
            if isinstance(self.upstream, str):  # a unix socket path
                server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                server.connect(self.upstream)
            else:
                server = socket.create_connection(self.upstream, timeout=2)
        except OSError:
            client.close()
            return
        self.accepted += 1
        pair = (client, server)
        self._pairs.append(pair)
        pumps = [gevent.spawn(self._pump, client, server), gevent.spawn(self._pump, server, client)]
        gevent.joinall(pumps, count=1)
        self._close(pair)
        gevent.killall(pumps)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    return
                if not self.stalled:  # a stalled proxy swallows bytes: a black hole
                    dst.sendall(data)
        except OSError:
            return

    def _close(self, pair: tuple[socket.socket, socket.socket]) -> None:
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        if pair in self._pairs:
            self._pairs.remove(pair)

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until ``restore``."""
        self.up = False
        for pair in list(self._pairs):
            self._close(pair)

    def stall(self) -> None:
        """Keep connections open but deliver nothing either way (a hung peer, no RST)."""
        self.stalled = True

    def restore(self) -> None:
        self.up = True
        self.stalled = False

    def close(self) -> None:
        self.cut()
        self._server.stop(timeout=1)


def postgres_proxy(url: str) -> tuple[TcpProxy, str]:
    """A proxy in front of the PostgreSQL of ``url``, and the URL that goes through it."""
    params = pg_conninfo.conninfo_to_dict(url)
    host = str(params.get("host") or "")
    port = str(params.get("port") or "5432")
    upstream: tuple[str, int] | str
    if host.startswith("/"):
        upstream = f"{host}/.s.PGSQL.{port}"
    else:
        upstream = (host or "127.0.0.1", int(port))
    proxy = TcpProxy(upstream)
    params.update(host="127.0.0.1", port=str(proxy.port))
    return proxy, pg_conninfo.make_conninfo(**params)
