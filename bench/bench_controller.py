"""Load benchmark of one controller process driven by the FreeSWITCH emulator.

One ``python -m controller`` process (real sockets, real PostgreSQL, the CDR spool) takes calls
placed by switchsim at a fixed rate. The run reports:

- call setups/s achieved and failures (no bridge, fallback, wrong cause, timeout);
- p50/p99 connect -> bridge: from FreeSWITCH's socket connect to the ``bridge`` it received,
  measured on the emulator's clock (includes planning in PostgreSQL);
- controller CPU per call (utime+stime of the process from /proc, divided by calls);
- CDR write rate (rows in cdr.call over the run) and how long the spool took to drain.

    .venv/bin/python bench/bench_controller.py --duration 30 --cps 100

Uses DATABASE_URL when set (a scratch database is created there), else a throwaway embedded
PostgreSQL. Not run by the test suite.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import gevent  # noqa: E402
import psycopg  # noqa: E402
from psycopg import conninfo as pg_conninfo  # noqa: E402

from huntsman import migrations  # noqa: E402
from switchsim import Behaviour, Switch  # noqa: E402

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


def scratch_database(admin_url: str) -> str:
    name = f"bench_controller_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = pg_conninfo.conninfo_to_dict(admin_url)
    params["dbname"] = name
    url = pg_conninfo.make_conninfo(**params)
    migrations.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED.format(did=DID).encode())
    return url


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
    """Upper bound (ms) of the bucket holding quantile ``q`` of ``huntsman_<name>_seconds``."""
    buckets = []
    prefix = f'huntsman_{name}_seconds_bucket{{le="'
    for line in text.splitlines():
        if line.startswith(prefix):
            le, value = line[len(prefix) :].split('"}', 1)
            buckets.append((float(le), float(value)))
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    for le, count in buckets:
        if count >= q * total:
            return le * 1000
    return None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


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

        sw = Switch(time_scale=args.time_scale, hostname="bench")
        for ext in (1001, 1002, 1003, 1004):
            behaviour = (
                Behaviour.answer(after=args.answer_after, hangup_after=args.talk)
                if ext == 1001
                else Behaviour.no_answer()
            )
            sw.endpoints.set(f"user/{ext}@bench.example", behaviour)

        latencies: list[float] = []
        failures: dict[str, int] = {}
        done = 0
        cdr0 = cdr_count(db_url)
        cpu0 = cpu_seconds(proc.pid)
        gen0 = cpu_seconds(os.getpid())

        def one(i: int) -> None:
            nonlocal done
            call = sw.place_call(
                controllers=f"127.0.0.1:{port}",
                destination=DID,
                caller_number=f"+49170{i:07d}",
                caller_name=f"Bench {i}",
                domain="bench.example",
                variables={"socket_resume": "true"},
            )
            try:
                res = call.wait(timeout=args.call_timeout)
            except Exception as exc:  # a timeout or an emulator error is a failed call
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                return
            done += 1
            if res.fallback_ran or not res.bridges or res.answered_by is None:
                key = "fallback" if res.fallback_ran else f"no_bridge:{res.hangup_cause}"
                failures[key] = failures.get(key, 0) + 1
                return
            if res.connected_at is not None:
                sim = res.bridges[0].started_at - res.connected_at
                latencies.append(sim * args.time_scale)

        t0 = time.monotonic()
        greenlets = []
        n = int(args.duration * args.cps)
        for i in range(n):
            target = t0 + i / args.cps
            delay = target - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            greenlets.append(gevent.spawn(one, i))
        placed_in = time.monotonic() - t0
        gevent.joinall(greenlets, timeout=args.call_timeout + 30)
        calls_done_at = time.monotonic()
        cpu = cpu_seconds(proc.pid) - cpu0
        gen_cpu = cpu_seconds(os.getpid()) - gen0
        wall = calls_done_at - t0

        drain_deadline = time.monotonic() + 120
        # calls the dialplan fallback took never reached the controller: no CDR from it
        expected = done - failures.get("fallback", 0)
        while cdr_count(db_url) - cdr0 < expected and time.monotonic() < drain_deadline:
            time.sleep(0.2)
        drained_in = time.monotonic() - calls_done_at
        cdrs = cdr_count(db_url) - cdr0
        sw.close()
        scraped = scrape(metrics_port)
        return {
            "calls_placed": n,
            "target_cps": args.cps,
            "achieved_cps": round(n / placed_in, 1),
            "completed": done,
            "failures": failures,
            "connect_to_bridge_ms": {
                "p50": round(pct(latencies, 0.50) * 1000, 2),
                "p99": round(pct(latencies, 0.99) * 1000, 2),
                "mean": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
            },
            "controller_cpu_ms_per_call": round(cpu / max(done, 1) * 1000, 3),
            "controller_cpu_share_of_one_core": round(cpu / wall, 2),
            "load_generator_cpu_share_of_one_core": round(gen_cpu / wall, 2),
            "cdr_rows": cdrs,
            "cdr_rows_per_s": round(cdrs / max(calls_done_at - t0 + drained_in, 1e-9), 1),
            "cdr_drain_after_last_call_s": round(drained_in, 2),
            "controller_side_ms": {
                "accept_to_bridge_p50": histogram_quantile(scraped, "connect_to_bridge", 0.5),
                "accept_to_bridge_p99": histogram_quantile(scraped, "connect_to_bridge", 0.99),
                "plan_p50": histogram_quantile(scraped, "plan", 0.5),
                "plan_p99": histogram_quantile(scraped, "plan", 0.99),
            },
            "time_scale": args.time_scale,
        }
    finally:
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
    p.add_argument("--profile", help="write a cProfile of the controller to this file")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-controller-") as tmp:
        workdir = Path(tmp)
        admin = os.environ.get("DATABASE_URL")
        embedded = None
        if not admin:
            from huntsman.database import start_embedded

            embedded = start_embedded(workdir / "pgdata", cleanup_mode="delete")
            admin = embedded.url
        try:
            result = run(args, scratch_database(admin), workdir)
        finally:
            if embedded is not None:
                embedded.embedded.cleanup()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
