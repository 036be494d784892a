"""Benchmark the queue's wave picking: one queue of 5,000 agents with 200 waiting callers.

Reports:
1. in the database: p50/p95/p99/max of ``queue.next_wave`` (choose + reserve one wave, one
   transaction) timed with clock_timestamp() around the call inside the server (no round trip),
   and the client round trip of the same call; ``queue.wave_result`` (release) likewise;
2. ``--pickers`` (default 4) processes picking concurrently for ``--duration`` seconds (default
   300), each with its own connection and 50 of the callers: picks/s, client p50/p99 and the
   number of double offers.  Each picker records, per agent it got, the interval from the
   moment its ``next_wave`` returned (reservation committed) to the moment before it calls
   ``wave_result`` (release not yet committed), on the machine's monotonic clock: that
   interval lies inside the reservation in the database, so two overlapping intervals for
   one agent are a double offer (no false positives).

The database holds 50,000 finished waves (500,000 legs) of history first, as one in service
does (and so that plans are made with realistic statistics).  Callers behave like real ones: a caller is rung wave after wave (nobody answers; no-answers
do not send agents on break in this queue) and leaves after 20 waves (300 s of 15 s waves),
replaced by a new caller.

3. end to end (``--e2e-calls``, default 200, at ``--e2e-rate`` calls/s, default 20): the
   FreeSWITCH emulator (real time) dials a queue controller running
   ``controller.queue_step.run_queue_step`` over real ESL sockets (the adapters of
   ``tests/queue/queue_harness.py``; the controller's call handler does not delegate queue
   steps yet); a queue of 500 agents who answer after 1 s: call setups/s, arrival -> first
   ring and arrival -> answer p50/p99.  It runs in a child process (gevent, patched first).

    .venv/bin/python bench/bench_queue.py [--duration 300] [--pickers 4] [--picks 3000]
                                          [--e2e-calls 200] [--e2e-rate 20]

Uses DATABASE_URL when set (a scratch database is created there and dropped), else a
throwaway embedded PostgreSQL.
"""

from __future__ import annotations

import sys

if "--e2e" in sys.argv:  # the end-to-end child runs the emulator: gevent before psycopg
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import closing  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402
from _scratch import database, server  # noqa: E402

AGENTS = 5000
HISTORY = 50000
CALLERS = 200
WAVES_PER_CALLER = 20

POPULATE = """
INSERT INTO cfg.domain (name) VALUES ('queue.bench.test');
INSERT INTO cfg.device (domain_id, name, extension, endpoint, registered)
SELECT d.id, 'agent ' || g, (10000 + g)::text, 'user/' || (10000 + g) || '@queue.bench.test', true
  FROM cfg.domain d, generate_series(1, {agents}) g;
INSERT INTO queue.queue (domain_id, name, extension, wave_fraction, wave_min, wave_max,
                         wave_ring_seconds, max_no_answer, max_wait_seconds, lease_seconds)
SELECT id, 'Big queue', '5000', 0.1, 1, 10, 15, 0, 86400, 600 FROM cfg.domain;
INSERT INTO queue.agent (domain_id, device_id, name, state, idle_since, state_since)
SELECT dev.domain_id, dev.id, dev.name, 'available',
       timestamptz '2026-11-26 08:00+00' + make_interval(secs => dev.id), now()
  FROM cfg.device dev;
INSERT INTO queue.member (domain_id, queue_id, agent_id)
SELECT a.domain_id, q.id, a.id FROM queue.agent a, queue.queue q;
-- history, as a database in service has it: {history} finished waves of 10 legs
INSERT INTO queue.wave (call_uuid, domain_id, queue_id, number, idle_agents, size, ring_seconds,
                        started_at, ended_at, outcome)
SELECT md5(g::text)::uuid, q.domain_id, q.id, 1, 5000, 10, 15,
       timestamptz '2026-11-25 08:00+00' + make_interval(secs => g),
       timestamptz '2026-11-25 08:00+00' + make_interval(secs => g + 15), 'no_answer'
  FROM queue.queue q, generate_series(1, {history}) g;
INSERT INTO queue.wave_leg (wave_id, leg, call_uuid, agent_id, device_id, target, outcome)
SELECT w.id, l, w.call_uuid, a.id, a.device_id, 'user/x@queue.bench.test', 'no_answer'
  FROM queue.wave w CROSS JOIN generate_series(1, 10) l
  JOIN queue.agent a ON a.id = 1 + (w.id * 10 + l) % {agents};
ANALYZE;
"""

TIMED = """
CREATE FUNCTION pg_temp.timed(p_fn text, p_call uuid, p_wave integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    r  jsonb;
BEGIN
    IF p_fn = 'next_wave' THEN
        r := queue.next_wave(p_call, clock_timestamp());
    ELSE
        r := queue.wave_result(p_call, p_wave, NULL, '{}', clock_timestamp());
    END IF;
    RETURN jsonb_build_object('ms', extract(epoch FROM clock_timestamp() - t0) * 1000, 'r', r);
END
$$;
"""


def double_offers(holds: list[tuple[int, int, int, str]]) -> int:
    """Holds are (agent, start_ns, end_ns, caller); count holds starting before an earlier
    hold of the same agent (by another caller) ended."""
    by_agent: dict[int, list[tuple[int, int, str]]] = {}
    for agent, start, end, caller in holds:
        by_agent.setdefault(agent, []).append((start, end, caller))
    bad = 0
    for spans in by_agent.values():
        spans.sort()
        busy_until, holder = -1, ""
        for start, end, caller in spans:
            if start < busy_until and caller != holder:
                bad += 1
            if end > busy_until:
                busy_until, holder = end, caller
    return bad


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fmt(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 50):.3f} ms  p95 {pct(values, 95):.3f} ms  "
        f"p99 {pct(values, 99):.3f} ms  max {max(values):.3f} ms  (n={len(values)})"
    )


class Caller:
    """A waiting call: rung up to WAVES_PER_CALLER times, then replaced by a new one."""

    def __init__(self, conn: psycopg.Connection[Any], queue_id: int, tag: str) -> None:
        self.conn = conn
        self.queue_id = queue_id
        self.tag = tag
        self.uuid = ""
        self.waves = 0
        self.renew()

    def renew(self) -> None:
        if self.uuid:
            self.conn.execute("SELECT queue.call_ended(%s::uuid, clock_timestamp())", (self.uuid,))
        self.uuid = str(uuid.uuid4())
        self.waves = 0
        self.conn.execute(
            "SELECT queue.enter(%s::uuid, %s::bigint, NULL, clock_timestamp(), %s)",
            (self.uuid, self.queue_id, self.tag),
        )


def picker(url: str, queue_id: int, index: int, callers: int, duration: float, out: Any) -> None:
    """One concurrent picker (own process, own connection)."""
    latencies: list[float] = []
    holds: list[tuple[int, int, int, str]] = []
    picks = empty = 0
    with psycopg.connect(url, autocommit=True, prepare_threshold=0) as conn:
        mine = [Caller(conn, queue_id, f"picker-{index}") for _ in range(callers)]
        deadline = time.monotonic() + duration
        i = 0
        while time.monotonic() < deadline:
            caller = mine[i % len(mine)]
            i += 1
            t0 = time.perf_counter()
            row = conn.execute(
                "SELECT queue.next_wave(%s::uuid, clock_timestamp())", (caller.uuid,)
            ).fetchone()
            got = time.monotonic_ns()
            latencies.append((time.perf_counter() - t0) * 1000)
            assert row is not None
            wave = row[0]
            if wave["action"] != "ring":
                empty += 1
                if wave["action"] in ("gone", "overflow"):
                    caller.renew()
                continue
            picks += 1
            caller.waves = wave["waves"][-1]
            release = time.monotonic_ns()
            holds.extend((leg["agent_id"], got, release, caller.uuid) for leg in wave["legs"])
            conn.execute(
                "SELECT queue.wave_result(%s::uuid, %s, NULL, '{}', clock_timestamp())",
                (caller.uuid, caller.waves),
            )
            if caller.waves >= WAVES_PER_CALLER:
                caller.renew()
        for caller in mine:
            conn.execute("SELECT queue.call_ended(%s::uuid, clock_timestamp())", (caller.uuid,))
    out.put({"picks": picks, "empty": empty, "latencies": latencies, "holds": holds})


def single_picker(url: str, queue_id: int, picks: int) -> dict[str, list[float]]:
    result: dict[str, list[float]] = {
        "next_wave_db": [],
        "next_wave_rtt": [],
        "release_db": [],
        "select1_rtt": [],
    }
    with psycopg.connect(url, autocommit=True, prepare_threshold=0) as conn:
        conn.execute(TIMED)
        callers = [Caller(conn, queue_id, "single") for _ in range(CALLERS)]
        for _ in range(50):  # warm-up (plans, caches)
            conn.execute("SELECT 1")
        for i in range(picks):
            caller = callers[i % CALLERS]
            t0 = time.perf_counter()
            row = conn.execute(
                "SELECT pg_temp.timed('next_wave', %s::uuid, NULL)", (caller.uuid,)
            ).fetchone()
            rtt = (time.perf_counter() - t0) * 1000
            assert row is not None
            timed = row[0]
            wave = timed["r"]
            if wave["action"] != "ring":
                raise SystemExit(f"expected a wave, got {wave}")
            if i >= 50:
                result["next_wave_db"].append(float(timed["ms"]))
                result["next_wave_rtt"].append(rtt)
            caller.waves = wave["waves"][-1]
            row = conn.execute(
                "SELECT pg_temp.timed('wave_result', %s::uuid, %s)", (caller.uuid, caller.waves)
            ).fetchone()
            assert row is not None
            if i >= 50:
                result["release_db"].append(float(row[0]["ms"]))
            if caller.waves >= WAVES_PER_CALLER:
                caller.renew()
            t0 = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            result["select1_rtt"].append((time.perf_counter() - t0) * 1000)
        for caller in callers:
            conn.execute("SELECT queue.call_ended(%s::uuid, clock_timestamp())", (caller.uuid,))
    return result


E2E_AGENTS = 500


def end_to_end(admin: str, calls: int, rate: float) -> None:
    """Child process: emulator + queue controller on a database of its own."""
    import gevent

    from switchsim import Behaviour, Switch
    from tests.queue.queue_harness import QueueServer

    with database(admin, "bench_queue_e2e") as url, closing(Switch(time_scale=1.0)) as sw:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(POPULATE.format(agents=E2E_AGENTS, history=0).encode())
            conn.execute(
                "UPDATE queue.queue SET wave_fraction = 0.02, wave_min = 2, wave_max = 8, "
                "wave_ring_seconds = 10, wrap_up_seconds = 1, lease_seconds = 60"
            )
            row = conn.execute("SELECT id FROM queue.queue").fetchone()
            assert row is not None
            queue_id = int(row[0])
        for n in range(1, E2E_AGENTS + 1):
            target = f"user/{10000 + n}@queue.bench.test"
            sw.endpoints.set(target, Behaviour.answer(after=1.0, hangup_after=2.0))
        ctl = QueueServer(sw, url, queue_id, name="bench", pool_size=8)
        address = ctl.start()
        placed: list[tuple[float, Any]] = []

        def place(i: int) -> None:
            gevent.sleep(i / rate)
            t = sw.clock.now()
            placed.append(
                (
                    t,
                    sw.place_call(
                        controllers=address, destination="5000", domain="queue.bench.test"
                    ),
                )
            )

        t0 = time.monotonic()
        gevent.joinall([gevent.spawn(place, i) for i in range(calls)])
        results = [(t, c.wait(timeout=120)) for t, c in placed]
        elapsed = time.monotonic() - t0
        ctl.stop()
        first_leg: dict[str, float] = {}
        answer: dict[str, float] = {}
        for leg in sw.legs:
            if leg.a_leg and leg.started_at is not None:
                first_leg[leg.a_leg] = min(first_leg.get(leg.a_leg, leg.started_at), leg.started_at)
            if leg.a_leg and leg.answered_at is not None:
                answer[leg.a_leg] = leg.answered_at
        to_ring = [(first_leg[r.uuid] - t) * 1000 for t, r in results if r.uuid in first_leg]
        to_answer = [(answer[r.uuid] - t) * 1000 for t, r in results if r.uuid in answer]
        answered = sum(1 for _, r in results if r.answered_by)
        print(
            f"3. end to end, {calls} calls at {rate:.0f}/s into a queue of {E2E_AGENTS} agents "
            "(emulator in real time, run_queue_step over ESL, one process):"
        )
        window = max(t for t, _ in placed) - min(t for t, _ in placed)
        print(
            f"   answered by an agent      : {answered}/{calls} "
            f"(arrivals over {window:.1f} s = {calls / max(window, 1e-9):.1f} setups/s sustained); "
            f"controller errors: {len(ctl.errors)}; all done in {elapsed:.1f} s"
        )
        print(f"   arrival -> first ring     : {fmt(to_ring)}")
        print(f"   arrival -> answer (1 s)   : {fmt(to_answer)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=300.0, help="seconds of concurrent picking"
    )
    parser.add_argument("--pickers", type=int, default=4)
    parser.add_argument("--picks", type=int, default=3000, help="picks of the single-picker run")
    parser.add_argument("--e2e-calls", type=int, default=200, help="0 skips the end-to-end run")
    parser.add_argument("--e2e-rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--e2e", metavar="ADMIN_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.e2e:
        end_to_end(args.e2e, args.e2e_calls, args.e2e_rate)
        return

    with server() as admin, database(admin, "bench_queue") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            conn.execute(POPULATE.format(agents=AGENTS, history=HISTORY).encode())
            row = conn.execute("SELECT id FROM queue.queue").fetchone()
            assert row is not None
            queue_id = int(row[0])
        print(
            f"PostgreSQL {version[0] if version else '?'}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs; one queue of {AGENTS} agents, {CALLERS} callers waiting, "
            "waves of ceil(idle * 0.1) bounded 1..10"
        )

        single = single_picker(url, queue_id, args.picks)
        print("1. one picker (choose + reserve one wave = one transaction):")
        print(f"   next_wave in the database : {fmt(single['next_wave_db'])}")
        print(f"   next_wave round trip      : {fmt(single['next_wave_rtt'])}")
        print(f"   wave_result (release) db  : {fmt(single['release_db'])}")
        print(f"   floor: SELECT 1 round trip: {fmt(single['select1_rtt'])}")

        out: Any = multiprocessing.get_context("fork").Queue()
        per = CALLERS // args.pickers
        procs = [
            multiprocessing.get_context("fork").Process(
                target=picker, args=(url, queue_id, n, per, args.duration, out)
            )
            for n in range(args.pickers)
        ]
        t0 = time.monotonic()
        for p in procs:
            p.start()
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.monotonic() - t0
        picks = sum(r["picks"] for r in results)
        lat = [x for r in results for x in r["latencies"]]
        holds = [h for r in results for h in r["holds"]]
        doubles = double_offers(holds)
        with psycopg.connect(url) as conn:
            leftover = conn.execute(
                "SELECT count(*) FROM queue.agent WHERE state <> 'available'"
            ).fetchone()
        assert leftover is not None
        print(
            f"2. {args.pickers} concurrent pickers for {args.duration:.0f} s "
            f"({CALLERS} callers, {per} each):"
        )
        print(
            f"   waves picked and released : {picks} ({picks / elapsed:.0f}/s), "
            f"{sum(r['empty'] for r in results)} polls without a wave"
        )
        print(f"   next_wave round trip      : {fmt(lat)}")
        print(
            f"   double offers             : {doubles} (over {picks} waves, {len(holds)} agent "
            f"offers); agents left reserved: {leftover[0]}"
        )
        print(f"   mean wave size            : {len(holds) / max(1, picks):.1f} agents")
        if doubles != 0:
            raise SystemExit("DOUBLE OFFERS FOUND")
        if args.e2e_calls > 0:
            root = Path(__file__).resolve().parent.parent
            env = {**os.environ, "PYTHONPATH": str(root)}
            command = [sys.executable, str(Path(__file__).resolve()), "--e2e", admin]
            command += ["--e2e-calls", str(args.e2e_calls), "--e2e-rate", str(args.e2e_rate)]
            subprocess.run(command, check=True, env=env, cwd=root)


if __name__ == "__main__":
    main()
