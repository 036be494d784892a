"""The durable CDR spool: fsync'd appends, ordered replay, crash recovery, no duplicates."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import structlog

from controller.cdr_spool import CdrSpool, Replayer, SpoolLocked
from controller.errors import DatabaseUnavailable, routing_error

LOG = structlog.get_logger("test")


class FakeDb:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.down = False
        self.invalid: set[str] = set()
        self.batches: list[int] = []

    def record(self, cdr: dict[str, Any]) -> int:
        if self.down:
            raise DatabaseUnavailable("down")
        if cdr["uuid"] in self.invalid:
            raise routing_error("HMC01", "bad")
        if cdr["uuid"] not in self.rows:  # idempotent on uuid, like cdr.record_call
            self.rows[cdr["uuid"]] = cdr
            self.order.append(cdr["uuid"])
        return list(self.rows).index(cdr["uuid"]) + 1

    def record_many(self, documents: list[str]) -> None:
        """One statement for several documents: all stored, or none (one transaction)."""
        import json

        self.batches.append(len(documents))
        docs = [json.loads(d) for d in documents]
        if self.down:
            raise DatabaseUnavailable("down")
        if any(d["uuid"] in self.invalid for d in docs):
            raise routing_error("HMC01", "bad")
        for d in docs:
            self.record(d)


def cdr(n: int) -> dict[str, Any]:
    return {"uuid": f"u{n}", "caller_name": "Zoë \u202e"}


def test_outage_then_replay_in_order(tmp_path: Path) -> None:
    spool, db = CdrSpool(tmp_path, compact_at=0), FakeDb()
    rep = Replayer(spool, db.record, log=LOG)
    db.down = True
    for i in range(5):
        spool.append(cdr(i))
    assert rep.drain_once() is False
    assert spool.depth == 5 and db.rows == {}
    db.down = False
    assert rep.drain_once() is True
    assert db.order == [f"u{i}" for i in range(5)]
    assert spool.depth == 0
    assert (tmp_path / "spool.jsonl").stat().st_size == 0  # compacted
    assert db.rows["u0"]["caller_name"] == "Zoë \u202e"


def test_survives_restart_without_loss_or_duplicates(tmp_path: Path) -> None:
    db = FakeDb()
    spool = CdrSpool(tmp_path)
    for i in range(3):
        spool.append(cdr(i))
    Replayer(spool, db.record, log=LOG).drain_once()
    db.down = True
    for i in range(3, 6):
        spool.append(cdr(i))
    spool.close()
    # a crash mid-write leaves a partial last line: it is dropped, the rest is replayed
    with open(tmp_path / "spool.jsonl", "ab") as f:
        f.write(b'{"uuid": "half')
    db.down = False
    spool2 = CdrSpool(tmp_path)
    assert spool2.depth == 3
    Replayer(spool2, db.record, log=LOG).drain_once()
    assert db.order == [f"u{i}" for i in range(6)]


def test_crash_between_insert_and_cursor_replays_without_duplicates(tmp_path: Path) -> None:
    db = FakeDb()
    spool = CdrSpool(tmp_path)
    spool.append(cdr(1))
    spool.append(cdr(2))
    db.record(cdr(1))  # written, but the cursor never moved (crash)
    spool.close()
    spool2 = CdrSpool(tmp_path)
    Replayer(spool2, db.record, log=LOG).drain_once()
    assert db.order == ["u1", "u2"]


def test_invalid_cdr_is_set_aside_not_retried_forever(tmp_path: Path) -> None:
    db = FakeDb()
    db.invalid.add("u1")
    spool = CdrSpool(tmp_path)
    for i in range(3):
        spool.append(cdr(i))
    with open(tmp_path / "spool.jsonl", "ab") as f:
        f.write(b"not json\n")
    spool.depth += 1
    assert Replayer(spool, db.record, log=LOG).drain_once() is True
    assert db.order == ["u0", "u2"]
    rejected = (tmp_path / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 2 and '"u1"' in rejected[0]


def test_one_process_per_spool(tmp_path: Path) -> None:
    spool = CdrSpool(tmp_path)
    with pytest.raises(SpoolLocked):
        CdrSpool(tmp_path)
    spool.close()
    CdrSpool(tmp_path).close()


def test_cursor_past_end_is_reset(tmp_path: Path) -> None:
    spool = CdrSpool(tmp_path)
    spool.append(cdr(1))
    spool.close()
    (tmp_path / "cursor").write_text("999999")
    spool2 = CdrSpool(tmp_path)
    assert spool2.cursor == 0 and spool2.depth == 1
    assert os.path.exists(tmp_path / "lock")


def test_appends_during_replay_and_compaction_are_never_lost(tmp_path: Path) -> None:
    """Calls keep ending while the replayer drains and truncates the spool."""
    import gevent

    db = FakeDb()
    spool = CdrSpool(tmp_path, compact_at=0)
    rep = Replayer(spool, db.record, log=LOG)
    runner = gevent.spawn(rep.run)

    def writer(start: int) -> None:
        for i in range(start, start + 100):
            spool.append(cdr(i))
            gevent.sleep(0)

    gevent.joinall([gevent.spawn(writer, k * 100) for k in range(5)])
    deadline = gevent.Timeout(10)
    with deadline:
        while len(db.rows) < 500 or spool.depth:
            gevent.sleep(0.01)
    rep.stopping = True
    runner.kill()
    assert sorted(db.rows) == sorted(f"u{i}" for i in range(500))
    assert spool.depth == 0


def test_concurrent_appends_share_fsyncs_and_return_only_once_covered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gevent

    from controller import cdr_spool

    spool = CdrSpool(tmp_path)
    covered: list[int] = []  # file size at the start of each completed fsync
    fsyncs = 0

    def slow_fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        size = os.fstat(fd).st_size
        gevent.sleep(0.01)  # a disk that takes its time
        covered.append(size)

    monkeypatch.setattr(cdr_spool, "_fsync", slow_fsync)
    returned: dict[str, int] = {}

    def one(n: int) -> None:
        spool.append(cdr(n))
        returned[f"u{n}"] = max(covered, default=0)

    gevent.joinall([gevent.spawn(one, n) for n in range(50)], timeout=10, raise_error=True)
    ends, offset = {}, 0
    for line in (tmp_path / "spool.jsonl").read_bytes().splitlines(keepends=True):
        offset += len(line)
        ends[line.split(b'"uuid":"', 1)[1].split(b'"', 1)[0].decode()] = offset
    assert len(returned) == 50
    assert all(returned[u] >= ends[u] for u in ends)  # acknowledged only once fsync'd
    assert fsyncs < 10  # grouped: not one fsync per CDR


def test_a_failed_fsync_fails_every_append_waiting_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gevent

    from controller import cdr_spool

    spool = CdrSpool(tmp_path)

    def broken_fsync(fd: int) -> None:
        gevent.sleep(0.01)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(cdr_spool, "_fsync", broken_fsync)
    jobs = [gevent.spawn(spool.append, cdr(n)) for n in range(5)]
    gevent.joinall(jobs, timeout=10)
    assert all(isinstance(j.exception, OSError) for j in jobs)


@pytest.mark.parametrize(
    ("invalid", "down", "stored", "rejected"),
    [
        pytest.param(set(), False, [f"u{i}" for i in range(6)], [], id="one-batch-all-stored"),
        pytest.param({"u3"}, False, ["u0", "u1", "u2", "u4", "u5"], ["u3"], id="bad-one-set-aside"),
        pytest.param(set(), True, [], [], id="database-down-nothing-acked"),
    ],
)
def test_replay_in_batches(
    tmp_path: Path, invalid: set[str], down: bool, stored: list[str], rejected: list[str]
) -> None:
    db = FakeDb()
    db.invalid, db.down = invalid, down
    spool = CdrSpool(tmp_path)
    for i in range(6):
        spool.append(cdr(i))
    written: list[int] = []
    rep = Replayer(
        spool, db.record, log=LOG, record_many=db.record_many, on_written=lambda: written.append(1)
    )
    assert rep.drain_once() is not down
    assert db.order == stored
    assert db.batches == [6]  # one round trip for the batch
    assert len(written) == len(stored)
    assert spool.depth == (6 if down else 0)
    assert spool.cursor == (0 if down else (tmp_path / "spool.jsonl").stat().st_size)
    lines = (tmp_path / "rejected.jsonl").read_text() if rejected else ""
    assert all(f'"{u}"' in lines for u in rejected)


def test_replayer_gathers_cdrs_of_calls_ending_together(tmp_path: Path) -> None:
    import gevent

    db = FakeDb()
    spool = CdrSpool(tmp_path)
    rep = Replayer(spool, db.record, log=LOG, record_many=db.record_many, gather=0.05)
    runner = gevent.spawn(rep.run)
    for i in range(3):
        spool.append(cdr(i))  # wakes the replayer: it waits `gather` for the rest
        gevent.sleep(0.005)
    with gevent.Timeout(5):
        while len(db.rows) < 3:
            gevent.sleep(0.01)
    rep.stopping = True
    runner.kill()
    assert db.batches == [3] and db.order == ["u0", "u1", "u2"]
