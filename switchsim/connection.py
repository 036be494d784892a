"""A socket with ordered writes (one writer greenlet) and a command reader."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import gevent
import gevent.queue

from switchsim.frames import Command, CommandParser

_CLOSE = object()


class Connection:
    """Wraps a connected socket: :meth:`send` queues bytes, :meth:`commands` yields commands."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._writer = gevent.spawn(self._write_loop)

    def send(self, data: bytes) -> None:
        """Queue bytes for the peer (dropped once the connection is closing)."""
        if not self.closed:
            self._queue.put(data)

    def close(self) -> None:
        """Flush what is queued, then close the socket."""
        if not self.closed:
            self.closed = True
            self._queue.put(_CLOSE)

    def wait_closed(self, timeout: float | None = None) -> None:
        """Block until everything queued was written and the socket closed."""
        self._writer.join(timeout=timeout)

    def abort(self) -> None:
        """Close at once without flushing."""
        self.closed = True
        self._writer.kill(block=False)
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _write_loop(self) -> None:
        queue = self._queue
        while True:
            item = queue.get()
            # What was queued meanwhile goes out in the same write, in order.
            chunks: list[bytes] = []
            while item is not _CLOSE:
                chunks.append(item)
                if queue.empty():
                    break
                item = queue.get()
            try:
                if chunks:
                    self.sock.sendall(b"".join(chunks))
            except OSError:
                self.closed = True
                self._shutdown()
                return
            if item is _CLOSE:
                self._shutdown()
                return

    def commands(self) -> Iterator[Command]:
        """Commands read from the peer until it closes (or the socket fails)."""
        parser = CommandParser()
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            yield from parser.feed(data)
