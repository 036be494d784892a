"""Durable CDR spool: every CDR is appended (fsync'd) before the database sees it.

Layout of the spool directory (``HUNTSMAN_CDR_SPOOL``):

* ``spool.jsonl``   one CDR JSON document per line, append-only;
* ``cursor``        byte offset of the first line not yet in the database
                    (one fixed-width line rewritten in place and fsync'd);
* ``rejected.jsonl`` lines the database refused as invalid (kept for a human);
* ``lock``          ``flock``'d by the owning process: one controller per spool.

``Replayer`` writes lines in order with ``cdr.record_call`` (a batch of lines in one
statement when it can, each line on its own when one is refused) and advances the cursor;
when the database is down it backs off and retries the same line.  Because
``record_call`` is idempotent on the call uuid, a crash between the insert and the
cursor update replays a line without duplicating the row.  When everything is
written the spool is truncated (cursor reset to 0 first, so a crash in between
only replays, never skips).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import gevent.lock

from controller.errors import DatabaseUnavailable, DataRejected, HuntsmanError, RoutingError

SPOOL = "spool.jsonl"
CURSOR = "cursor"
REJECTED = "rejected.jsonl"
LOCK = "lock"


def _fsync(fd: int) -> None:
    """fsync in gevent's thread pool: the disk wait (~1 ms) must not stall every call."""
    gevent.get_hub().threadpool.apply(os.fsync, (fd,))


class SpoolLocked(HuntsmanError):
    """Another process owns this spool directory."""


class CdrSpool:
    def __init__(
        self, directory: str | os.PathLike[str], compact_at: int = 4 * 1024 * 1024
    ) -> None:
        self.dir = Path(directory)
        self.compact_at = compact_at
        self._lock = gevent.lock.Semaphore()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise SpoolLocked(f"CDR spool {self.dir} is in use by another process") from exc
        self._path = self.dir / SPOOL
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._repair_tail()
        self._cursor_fd = os.open(self.dir / CURSOR, os.O_RDWR | os.O_CREAT, 0o600)
        self.cursor = self._read_cursor()
        self.depth = self._count_pending()
        self._written = 0  # appends so far ...
        self._synced = 0  # ... and how many of them a completed fsync covers
        self._syncing = False
        self._sync_done = gevent.event.Event()
        self.wakeup = gevent.event.Event()
        if self.depth:
            self.wakeup.set()

    # --- files ---------------------------------------------------------------------------------

    def _repair_tail(self) -> None:
        """Drop a partial last line left by a crash in the middle of a write."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with open(self._path, "rb") as f:
            data = f.read()
        end = data.rfind(b"\n") + 1
        if end != size:
            os.ftruncate(self._fd, end)
            _fsync(self._fd)

    def _read_cursor(self) -> int:
        try:
            value = int(os.pread(self._cursor_fd, 64, 0).strip() or 0)
        except ValueError:
            value = 0
        size = os.fstat(self._fd).st_size
        return value if 0 <= value <= size else 0

    def _write_cursor(self, value: int) -> None:
        # One fixed-width write at offset 0: a 21-byte write within one disk sector is
        # atomic in practice, and it costs no open/rename per batch.
        os.pwrite(self._cursor_fd, b"%020d\n" % value, 0)
        _fsync(self._cursor_fd)
        self.cursor = value

    def _count_pending(self) -> int:
        with open(self._path, "rb") as f:
            f.seek(self.cursor)
            return sum(1 for _ in f)

    # --- API -------------------------------------------------------------------------------------

    def append(self, cdr: dict[str, Any]) -> None:
        """Append one CDR and return once an fsync that began after its write has ended.

        Group commit: appends that arrive while an fsync is running wait for the next
        one, which covers all of them, so the number of fsyncs per second is bounded by
        the disk's latency, not by the call rate.  A failed fsync raises in every
        append that was waiting for it.
        """
        line = json.dumps(cdr, ensure_ascii=True, separators=(",", ":"), default=str)
        with self._lock:  # one write() per line, never interleaved with a compaction
            os.write(self._fd, line.encode("ascii") + b"\n")
            self.depth += 1
            self._written += 1
            mine = self._written
        self._sync_through(mine)
        self.wakeup.set()

    def _sync_through(self, seq: int) -> None:
        """Block until the ``seq``-th write is covered by a completed fsync."""
        while self._synced < seq:
            if self._syncing:
                self._sync_done.wait()  # the running fsync may have begun before our write
                continue
            self._syncing = True
            target = self._written  # every write so far is covered by the fsync below
            done = self._sync_done
            try:
                _fsync(self._fd)
                self._synced = max(self._synced, target)
            finally:
                self._syncing = False
                self._sync_done = gevent.event.Event()
                done.set()

    def pending(self, limit: int = 100) -> list[tuple[int, dict[str, Any] | None, bytes]]:
        """Up to ``limit`` lines after the cursor: (end offset, document or None, raw line)."""
        out: list[tuple[int, dict[str, Any] | None, bytes]] = []
        with open(self._path, "rb") as f:
            f.seek(self.cursor)
            offset = self.cursor
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                offset += len(raw)
                try:
                    doc = json.loads(raw)
                except ValueError:
                    doc = None
                out.append((offset, doc if isinstance(doc, dict) else None, raw))
                if len(out) >= limit:
                    break
        return out

    def ack(self, offset: int, lines: int) -> None:
        """Everything before ``offset`` (``lines`` more lines) is in the database.

        Once everything is written and the file has grown past ``compact_at`` bytes it
        is truncated; appends wait for that (the lock), so no line can be cut off.
        """
        self._write_cursor(offset)
        with self._lock:
            self.depth = max(0, self.depth - lines)
            size = os.fstat(self._fd).st_size
            if offset == size and size >= self.compact_at:
                self._write_cursor(0)
                os.ftruncate(self._fd, 0)
                _fsync(self._fd)
                self.depth = 0

    def reject(self, raw: bytes) -> None:
        with open(self.dir / REJECTED, "ab") as f:
            f.write(raw if raw.endswith(b"\n") else raw + b"\n")
            f.flush()
            _fsync(f.fileno())

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._cursor_fd)
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)


class Replayer:
    """Greenlet body: drain the spool into the database, in order, forever."""

    def __init__(
        self,
        spool: CdrSpool,
        record: Callable[[dict[str, Any]], int],
        *,
        log: Any,
        on_written: Callable[[], None] | None = None,
        on_rejected: Callable[[], None] | None = None,
        on_depth: Callable[[int], None] | None = None,
        max_backoff: float = 5.0,
        record_many: Callable[[list[str]], None] | None = None,
        gather: float = 0.0,
    ) -> None:
        self.spool = spool
        self.record = record
        self.record_many = record_many
        self.gather = gather
        self.log = log
        self.on_written = on_written
        self.on_rejected = on_rejected
        self.on_depth = on_depth
        self.max_backoff = max_backoff
        self.stopping = False

    def run(self) -> None:
        backoff = 0.05
        while not self.stopping:
            self.spool.wakeup.wait(timeout=1.0)
            if self.gather and self.record_many is not None:
                # Let the CDRs of calls ending together pile up: one round trip and one
                # cursor fsync for all of them instead of one each (they are already durable).
                gevent.sleep(self.gather)
            self.spool.wakeup.clear()
            if self.on_depth is not None:
                self.on_depth(self.spool.depth)
            if self.drain_once():
                backoff = 0.05
                continue
            gevent.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
            self.spool.wakeup.set()

    def drain_once(self) -> bool:
        """Write pending lines until done or the database fails; True if the spool is empty."""
        while True:
            batch = self.spool.pending()
            if not batch:
                return True
            done = self.spool.cursor
            count = 0
            try:
                if self._record_together(batch):
                    done, count = batch[-1][0], len(batch)
                    continue
                for offset, doc, raw in batch:
                    if doc is None:
                        self._reject(raw, "not a JSON object")
                    else:
                        try:
                            self.record(doc)
                            if self.on_written is not None:
                                self.on_written()
                        except (RoutingError, DataRejected) as exc:
                            self._reject(raw, str(exc))
                    done = offset
                    count += 1
            except DatabaseUnavailable as exc:
                self.log.warning("cdr_replay_deferred", error=str(exc), depth=self.spool.depth)
                return False
            except HuntsmanError as exc:
                self.log.error("cdr_replay_failed", error=str(exc), depth=self.spool.depth)
                return False
            finally:
                if done != self.spool.cursor:
                    self.spool.ack(done, count)
                if self.on_depth is not None:
                    self.on_depth(self.spool.depth)

    def _record_together(self, batch: list[tuple[int, dict[str, Any] | None, bytes]]) -> bool:
        """Write a batch of valid documents in one round trip (one transaction).

        False when there is no batch writer, a line is not a document, or the database
        refused one of them: the caller then writes them one by one (``record_call``
        is idempotent) and sets the bad one aside.
        """
        if self.record_many is None or len(batch) < 2 or any(d is None for _, d, _ in batch):
            return False
        try:
            self.record_many([raw.decode("ascii", "replace") for _, _, raw in batch])
        except (RoutingError, DataRejected):
            return False
        if self.on_written is not None:
            for _ in batch:
                self.on_written()
        return True

    def _reject(self, raw: bytes, why: str) -> None:
        self.spool.reject(raw)
        self.log.error("cdr_rejected", reason=why[:300])
        if self.on_rejected is not None:
            self.on_rejected()
