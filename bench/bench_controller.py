"""Load benchmark of one controller process driven by the FreeSWITCH emulator.

One ``python -m controller`` process (real sockets, real PostgreSQL, the CDR spool) takes calls
placed at a fixed rate by switchsim load generators running in their own processes (so the
controller and the generators do not share one interpreter).  One run reports:

- offered rate, calls placed, achieved setups/s, failures by kind (timeout, fallback,
  no bridge, not answered);
- connect -> bridge p50/p99: from FreeSWITCH's socket connect to the ``bridge`` command it
  received (real ms, emulator clock; includes planning in PostgreSQL);
- plan latency p50/p99 (the controller's histogram, interpolated inside a bucket);
- controller CPU ms per call (utime+stime from /proc/<pid>/stat) and the generators' CPU;
- CDRs written per second and whether every CDR landed (rows in cdr.call);
- the exact command, the machine and its load average before and after.

    .venv/bin/python bench/bench_controller.py --duration 60 --cps 200

Loopback only; every run is bounded (per-call timeout, drain deadline) and stops by itself.
Uses DATABASE_URL when set (a scratch database is created there), else a throwaway embedded
PostgreSQL. Not run by the test suite.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import psycopg  # noqa: E402
from _scratch import database, server  # noqa: E402

from switchsim import Behaviour, Switch  # noqa: E402
from switchsim.load import first_bridge_latency  # noqa: E402

# A generator spawns several greenlets per call: no spawning-stack capture for each (a
# debugging aid of gevent, on by default).
gevent.config.track_greenlet_tree = False

ROOT = Path(__file__).resolve().parents[1]
DID = "+4930123456"
SEED = """
INSERT INTO cfg.domain (name) VALUES ('bench.example');
INSERT INTO cfg.device (domain_id, name, extension, endpoint, registered)
SELECT d.id, 'Phone ' || e, e::text, 'user/' || e || '@bench.example', true
FROM cfg.domain d CROSS JOIN generate_series(1001, 1004) e;
INSERT INTO cfg.hunt_group (domain_id, name, strategy, ring_timeout)
SELECT id, 'Sales', 'simultaneous', 20 FROM cfg.domain;
INSERT INTO cfg.hunt_group_member (domain_id, group_id, kind, device_id, position)
SELECT g.domain_id, g.id, 'device', dev.id, row_number() OVER (ORDER BY dev.id)
FROM cfg.hunt_group g JOIN cfg.device dev ON dev.domain_id = g.domain_id;
INSERT INTO cfg.number (domain_id, e164, target_kind, target_group_id)
SELECT domain_id, '{did}', 'group', id FROM cfg.hunt_group;
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@contextmanager
def seeded_database(admin_url: str) -> Iterator[str]:
    """A migrated scratch database with the benchmark's number and group (dropped at the end)."""
    with database(admin_url, "bench_controller") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SEED.format(did=DID).encode())
        yield url


def cdr_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM cdr.call").fetchone()
        return int(row[0]) if row else 0


def scrape(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text: str = resp.read().decode()
        return text


def histogram_quantile(text: str, name: str, q: float) -> float | None:
    """Quantile ``q`` (ms) of ``huntsman_<name>_seconds``, linear inside its bucket."""
    buckets = []
    prefix = f'huntsman_{name}_seconds_bucket{{le="'
    for line in text.splitlines():
        if line.startswith(prefix):
            le, value = line[len(prefix) :].split('"}', 1)
            buckets.append((float(le), float(value)))
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return round(lower * 1000, 2)  # above the largest finite bucket
            share = (rank - below) / (count - below) if count > below else 1.0
            return round((lower + (le - lower) * share) * 1000, 2)
        lower, below = le, count
    return None


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


# --- generator process ----------------------------------------------------------------------


def generate(args: argparse.Namespace) -> dict[str, Any]:
    """One load generator: calls ``k, k+N, k+2N, ...`` of the run, on the shared schedule."""
    sw = Switch(time_scale=args.time_scale, hostname="bench", event_profile=args.event_profile)
    for ext in (1001, 1002, 1003, 1004):
        behaviour = (
            Behaviour.answer(after=args.answer_after, hangup_after=args.talk)
            if ext == 1001
            else Behaviour.no_answer()
        )
        sw.endpoints.set(f"user/{ext}@bench.example", behaviour)
    latencies: list[float] = []
    failures: dict[str, int] = {}
    ok = 0
    placed = 0
    lag_max = 0.0

    def fail(kind: str) -> None:
        failures[kind] = failures.get(kind, 0) + 1

    def one(i: int) -> None:
        nonlocal ok
        call = sw.place_call(
            controllers=args.controller,
            destination=DID,
            caller_number=f"+49170{i:07d}",
            caller_name=f"Bench {i}",
            domain="bench.example",
            variables={"socket_resume": "true"},
        )
        try:
            res = call.wait(timeout=args.call_timeout)
        except TimeoutError:
            fail("timeout")
            return
        if res.fallback_ran:
            fail("fallback")
        elif not res.bridges:
            fail(f"no_bridge:{res.hangup_cause}")
        elif res.answered_by is None:
            fail(f"not_answered:{res.bridges[0].cause}")
        else:
            latency = first_bridge_latency(res, args.time_scale)
            if latency is None:
                fail("no_bridge_command")
                return
            ok += 1
            latencies.append(latency)

    def forget() -> None:  # keep the heap (and GC pauses) flat: only the results are kept
        while True:
            gevent.sleep(1.0)
            sw.forget_finished()

    pruner = gevent.spawn(forget)
    # The emulator stands in for FreeSWITCH (C, no collector): keep its GC pauses out of the
    # measured latency.  The imports and the switch stay for the whole run, so they leave the
    # collector's view (a full pass walked them: ~30 ms every ~1.5 s), and collections are
    # rarer (a call's objects are freed by reference counting; the young generation only
    # needs to catch the odd cycle).
    gc.freeze()
    gc.set_threshold(5000, 20, 50)
    times0 = os.times()
    start = args.start_at
    calls = gevent.pool.Group()  # finished greenlets leave it: the heap stays flat
    n = int(args.duration * args.cps)
    for i in range(args.worker, n, args.workers):
        due = start + i / args.cps
        delay = due - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)
        else:
            lag_max = max(lag_max, -delay)
        calls.spawn(one, i)
        placed += 1
    placed_until = time.monotonic()
    calls.join(timeout=args.call_timeout + 30)
    unfinished = len(calls)
    if unfinished:
        failures["unfinished"] = unfinished
    done_at = time.monotonic()
    pruner.kill()
    sw.close()
    return {
        "placed": placed,
        "ok": ok,
        "failures": failures,
        "latencies_ms": latencies,
        "placed_until": placed_until,
        "done_at": done_at,
        "max_lag_s": round(lag_max, 3),
        "cpu_s": (os.times().user - times0.user) + (os.times().system - times0.system),
        "cpu_system_s": os.times().system - times0.system,
    }


# --- the run ----------------------------------------------------------------------------------


def start_generators(
    args: argparse.Namespace, port: int, start_at: float
) -> list[subprocess.Popen[bytes]]:
    procs = []
    for k in range(args.generators):
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--generator",
            f"--worker={k}",
            f"--workers={args.generators}",
            f"--controller=127.0.0.1:{port}",
            f"--start-at={start_at}",
            f"--cps={args.cps}",
            f"--duration={args.duration}",
            f"--time-scale={args.time_scale}",
            f"--answer-after={args.answer_after}",
            f"--talk={args.talk}",
            f"--call-timeout={args.call_timeout}",
            f"--event-profile={args.event_profile}",
        ]
        if args.profile_generator:
            cmd.append(f"--profile-generator={args.profile_generator}")
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE))
    return procs


def run(args: argparse.Namespace, db_url: str, workdir: Path) -> dict[str, Any]:
    port = free_port()
    metrics_port = free_port()
    env = dict(
        os.environ,
        HUNTSMAN_ESL_LISTEN=f"127.0.0.1:{port}",
        DATABASE_URL=db_url,
        HUNTSMAN_CDR_SPOOL=str(workdir / "spool"),
        HUNTSMAN_METRICS_PORT=str(metrics_port),
        HUNTSMAN_LOG_LEVEL="warning",
        HUNTSMAN_MAX_CALLS=str(args.max_calls),
        HUNTSMAN_DB_POOL_SIZE=str(args.pool),
        PYTHONPATH=str(ROOT),
    )
    cmd = [sys.executable, "-m", "controller"]
    if args.profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "controller"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    generators: list[subprocess.Popen[bytes]] = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the controller did not start") from None
                time.sleep(0.1)
        time.sleep(0.5)  # let the readiness probe's call end before measuring
        cdr0 = cdr_count(db_url)
        load_before = loadavg()
        start_at = time.monotonic() + 2.0  # generators import and start meanwhile
        generators = start_generators(args, port, start_at)
        time.sleep(max(0.0, start_at - time.monotonic()))
        cpu0 = cpu_seconds(proc.pid)
        outputs = []
        for g in generators:
            out, _ = g.communicate(timeout=args.duration + args.call_timeout + 120)
            outputs.append(json.loads(out))
        cpu = cpu_seconds(proc.pid) - cpu0
        done_at = max(o["done_at"] for o in outputs)
        load_after = loadavg()

        placed = sum(o["placed"] for o in outputs)
        ok = sum(o["ok"] for o in outputs)
        failures: dict[str, int] = {}
        for o in outputs:
            for kind, count in o["failures"].items():
                failures[kind] = failures.get(kind, 0) + count
        latencies = [x for o in outputs for x in o["latencies_ms"]]
        placing = max(o["placed_until"] for o in outputs) - start_at
        wall = done_at - start_at
        gen_cpu = sum(o["cpu_s"] for o in outputs)
        gen_sys = sum(o["cpu_system_s"] for o in outputs)

        # Every call the controller handled to the end leaves one CDR; a call the dialplan
        # fallback took (the controller never decided) or that never ended may leave none.
        expected = placed - sum(
            failures.get(kind, 0) for kind in ("timeout", "unfinished", "fallback")
        )
        drain_deadline = time.monotonic() + 120
        while cdr_count(db_url) - cdr0 < expected and time.monotonic() < drain_deadline:
            time.sleep(0.2)
        drained_in = time.monotonic() - done_at
        cdrs = cdr_count(db_url) - cdr0
        scraped = scrape(metrics_port)
        return {
            "offered_cps": args.cps,
            "duration_s": args.duration,
            "calls_placed": placed,
            "placing_rate_cps": round(placed / max(placing, 1e-9), 1),
            "max_generator_lag_s": max(o["max_lag_s"] for o in outputs),
            "setups_ok": ok,
            "achieved_setups_per_s": round(ok / max(placing, 1e-9), 1),
            "failed_calls": placed - ok,
            "failures": failures,
            "connect_to_bridge_ms": {
                "p50": pct(latencies, 0.50),
                "p99": pct(latencies, 0.99),
                "max": pct(latencies, 1.0),
            },
            "plan_ms_from_histogram": {
                "p50": histogram_quantile(scraped, "plan", 0.5),
                "p99": histogram_quantile(scraped, "plan", 0.99),
            },
            "controller_accept_to_bridge_ms_from_histogram": {
                "p50": histogram_quantile(scraped, "connect_to_bridge", 0.5),
                "p99": histogram_quantile(scraped, "connect_to_bridge", 0.99),
            },
            "controller_cpu_ms_per_call": round(cpu / max(placed, 1) * 1000, 3),
            "controller_cpu_share_of_one_core": round(cpu / wall, 2),
            "generators": args.generators,
            "generator_cpu_ms_per_call": round(gen_cpu / max(placed, 1) * 1000, 3),
            "generator_cpu_share_of_one_core": round(gen_cpu / wall, 2),
            "generator_cpu_kernel_share": round(gen_sys / max(gen_cpu, 1e-9), 2),
            "event_profile": args.event_profile,
            "cdr_rows": cdrs,
            "cdr_expected": expected,
            "all_cdrs_landed": cdrs >= expected,
            "cdr_rows_per_s": round(cdrs / max(wall + drained_in, 1e-9), 1),
            "cdr_drain_after_last_call_s": round(drained_in, 2),
            "time_scale": args.time_scale,
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "command": shlex.join([sys.executable, *sys.argv]),
            "machine": machine(),
        }
    finally:
        for g in generators:
            if g.poll() is None:
                g.kill()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load (default 20)")
    p.add_argument("--cps", type=float, default=50.0, help="new calls per second (default 50)")
    p.add_argument("--time-scale", type=float, default=0.1, help="emulator time scale")
    p.add_argument("--answer-after", type=float, default=1.0, help="simulated s to answer")
    p.add_argument("--talk", type=float, default=5.0, help="simulated s of conversation")
    p.add_argument("--call-timeout", type=float, default=30.0, help="real s per call")
    p.add_argument("--max-calls", type=int, default=5000)
    p.add_argument("--pool", type=int, default=4, help="HUNTSMAN_DB_POOL_SIZE")
    p.add_argument("--generators", type=int, default=1, help="load generator processes")
    p.add_argument(
        "--event-profile",
        choices=("full", "fast"),
        default="full",
        help="emulator events: full fidelity, or 'fast' (see switchsim.events.FAST_PROFILE)",
    )
    p.add_argument("--profile", help="write a cProfile of the controller to this file")
    p.add_argument("--profile-generator", help="write a cProfile of generator 0 to this file")
    # internal: one generator process
    p.add_argument("--generator", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--controller", help=argparse.SUPPRESS)
    p.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.generator:
        if args.profile_generator and args.worker == 0:
            import cProfile

            with cProfile.Profile() as prof:
                result = generate(args)
            prof.dump_stats(args.profile_generator)
        else:
            result = generate(args)
        print(json.dumps(result))
        return
    with (
        tempfile.TemporaryDirectory(prefix="bench-controller-") as tmp,
        server() as admin,
        seeded_database(admin) as url,
    ):
        result = run(args, url, Path(tmp))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
