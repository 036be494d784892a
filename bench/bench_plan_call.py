"""Benchmark `routing.plan_call` on 1,000 domains x (100 devices, 10 groups, 3 schedules, 5 rules).

Reports, in one run:
- in the database: p50/p99 of `routing.plan_call` timed with clock_timestamp() around each call
  inside one PL/pgSQL loop (no client round trip), and how many sampled calls the compiled plans
  (migration 0006) answer (the rest fall back to routing.build_plan);
- from Python (psycopg, prepared statements, one connection): p50/p99 of a plan_call round trip
  and of a `SELECT 1` round trip measured in the same run (the floor).

    .venv/bin/python bench/bench_plan_call.py [--calls 20000] [--domains 1000]

Uses DATABASE_URL when set (a scratch database is created there), else a throwaway embedded
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from huntsman import migrations

POPULATE = """
INSERT INTO cfg.domain (name, time_zone, gateway)
SELECT format('d%s.bench.test', d), (ARRAY['Europe/Berlin','America/New_York','UTC'])[1 + d % 3],
       'carrier'
FROM generate_series(1, {domains}) d;

INSERT INTO cfg.device (domain_id, name, extension, endpoint, registered, dnd, busy,
                        last_call_ended)
SELECT dom.id, format('Phone %s', e), (1000 + e)::text,
       format('user/%s@%s', 1000 + e, dom.name),
       e % 13 <> 0, e % 17 = 0, e % 19 = 0,
       timestamptz '2026-11-26 08:00+00' - make_interval(mins => (e * 7) % 600)
FROM cfg.domain dom CROSS JOIN generate_series(0, 99) e;

INSERT INTO cfg.hunt_group (domain_id, name, extension, strategy, ring_timeout)
SELECT dom.id, format('Group %s', g), (200 + g)::text,
       (ARRAY['simultaneous','sequential','enterprise','random','round_robin','longest_idle',
              'weighted_random','simultaneous','sequential','longest_idle']::cfg.hunt_strategy[])[g + 1],
       20
FROM cfg.domain dom CROSS JOIN generate_series(0, 9) g;

INSERT INTO cfg.hunt_group_member (domain_id, group_id, kind, device_id, position, weight, delay)
SELECT g.domain_id, g.id, 'device', dev.id, m, 1 + m, CASE WHEN m >= 8 THEN 5 ELSE 0 END
FROM cfg.hunt_group g
CROSS JOIN generate_series(0, 9) m
JOIN cfg.device dev ON dev.domain_id = g.domain_id
                   AND dev.extension = (1000 + (((g.extension::int - 200) * 10 + m) % 100))::text;

-- The groups overflow in a chain of three: Group 0 -> Group 1 -> Group 2 -> voicemail.
UPDATE cfg.hunt_group g SET overflow_kind = 'voicemail', overflow_mailbox = 'main'
WHERE g.extension = '202';
UPDATE cfg.hunt_group g SET overflow_kind = 'group', overflow_group_id = nxt.id
FROM cfg.hunt_group nxt
WHERE nxt.domain_id = g.domain_id AND g.extension IN ('200', '201')
  AND nxt.extension = (g.extension::int + 1)::text;

INSERT INTO cfg.number (domain_id, e164, label, target_kind, target_group_id)
SELECT g.domain_id, format('+49301%s%s', lpad(g.domain_id::text, 5, '0'), g.extension::int - 200),
       g.name, 'group', g.id
FROM cfg.hunt_group g;

INSERT INTO cfg.schedule (domain_id, name, time_zone)
SELECT dom.id, format('Schedule %s', s), dom.time_zone
FROM cfg.domain dom CROSS JOIN generate_series(0, 2) s;

INSERT INTO cfg.schedule_window (domain_id, schedule_id, iso_dow, start_time, end_time)
SELECT s.domain_id, s.id, dow, time '08:00' + make_interval(hours => s.id::int % 3), time '18:00'
FROM cfg.schedule s CROSS JOIN generate_series(1, 5) dow;

INSERT INTO cfg.schedule_exception (domain_id, schedule_id, on_date, name)
SELECT s.domain_id, s.id, date '2026-12-25', 'Christmas' FROM cfg.schedule s;

INSERT INTO cfg.routing_rule (domain_id, number_id, position, name, caller_match, caller_value,
                              schedule_id, schedule_match, action, target_group_id)
SELECT n.domain_id, n.id, r, format('Rule %s', r),
       (ARRAY['prefix','pattern','any','exact','prefix']::cfg.caller_match[])[r + 1],
       (ARRAY['+1', '^\\+4917', NULL, '+4930555000', '+33'])[r + 1],
       CASE WHEN r = 2 THEN (SELECT min(s.id) FROM cfg.schedule s WHERE s.domain_id = n.domain_id) END,
       'out', 'group',
       (SELECT g.id FROM cfg.hunt_group g WHERE g.domain_id = n.domain_id AND g.extension = '209')
FROM cfg.number n CROSS JOIN generate_series(0, 4) r
WHERE n.e164 LIKE '%0';
ANALYZE;
"""

IN_DB_TIMING = """
CREATE TEMP TABLE bench_timing (ms double precision);
DO $$
DECLARE
    v_call jsonb;
    v_t0 timestamptz;
    v_plan jsonb;
    v_i int;
    v_domains int := (SELECT count(*) FROM cfg.domain);
BEGIN
    FOR v_i IN 1..{calls} LOOP
        v_call := jsonb_build_object(
            'uuid', md5(v_i::text)::uuid,
            'domain', format('d%s.bench.test', 1 + (v_i * 7919) % v_domains),
            'destination', format('+49301%s%s', lpad((1 + (v_i * 7919) % v_domains)::text, 5, '0'),
                                  v_i % 10),
            'caller_number', (ARRAY['+4930555000', '+4917012345', '+12125550100', '+33140000000'])[1 + v_i % 4]);
        v_t0 := clock_timestamp();
        v_plan := routing.plan_call(v_call, timestamptz '2026-12-01 10:00+01' + make_interval(hours => v_i % 24));
        INSERT INTO bench_timing VALUES (extract(epoch FROM clock_timestamp() - v_t0) * 1000);
        IF jsonb_array_length(v_plan->'steps') = 0 THEN
            RAISE EXCEPTION 'empty plan for %', v_call;
        END IF;
    END LOOP;
END $$;
"""

COMPILED_SHARE = """
SELECT count(*) FILTER (WHERE c.plan IS NOT NULL), count(*)
FROM generate_series(1, {calls}) v_i,
     LATERAL (SELECT count(*) AS n FROM cfg.domain) dn,
     LATERAL routing.plan_compiled(
         jsonb_build_object(
             'uuid', md5(v_i::text)::uuid,
             'domain', format('d%s.bench.test', 1 + (v_i * 7919) % dn.n),
             'destination', format('+49301%s%s', lpad((1 + (v_i * 7919) % dn.n)::text, 5, '0'), v_i % 10),
             'caller_number', (ARRAY['+4930555000', '+4917012345', '+12125550100', '+33140000000'])[1 + v_i % 4]),
         timestamptz '2026-12-01 10:00+01' + make_interval(hours => v_i % 24)) c
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--domains", type=int, default=1000)
    args = parser.parse_args()

    server = None
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        from huntsman.database import start_embedded

        server = start_embedded(
            Path(tempfile.mkdtemp(prefix="bench-plan-")) / "pg", cleanup_mode="delete"
        )
        admin = server.url
    dbname = f"bench_plan_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    url = psycopg.conninfo.make_conninfo(admin, dbname=dbname)
    try:
        migrations.migrate(url)
        t0 = time.perf_counter()
        with psycopg.connect(url) as conn:
            conn.execute(POPULATE.replace("{domains}", str(args.domains)))
            conn.commit()
            counts = conn.execute(
                """SELECT (SELECT count(*) FROM cfg.domain), (SELECT count(*) FROM cfg.device),
                          (SELECT count(*) FROM cfg.hunt_group), (SELECT count(*) FROM cfg.schedule),
                          (SELECT count(*) FROM cfg.routing_rule)"""
            ).fetchone()
        print(
            f"data: {counts[0]} domains, {counts[1]} devices, {counts[2]} groups, "  # type: ignore[index]
            f"{counts[3]} schedules, {counts[4]} rules (built and compiled in {time.perf_counter() - t0:.1f} s)"  # type: ignore[index]
        )

        with psycopg.connect(url) as conn:
            conn.execute(IN_DB_TIMING.replace("{calls}", str(min(args.calls, 5000))))  # warm-up
            conn.execute("DROP TABLE bench_timing")
            conn.execute(IN_DB_TIMING.replace("{calls}", str(args.calls)))
            p50, p99, mean = conn.execute(
                """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                          percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), avg(ms)
                   FROM bench_timing"""
            ).fetchone()  # type: ignore[misc]
        print(f"in database: plan_call p50 {p50:.3f} ms, p99 {p99:.3f} ms, mean {mean:.3f} ms "
              f"({args.calls} calls)")  # fmt: skip
        with psycopg.connect(url) as conn:
            compiled, total = conn.execute(COMPILED_SHARE.replace("{calls}", "2000")).fetchone()  # type: ignore[misc]
        print(f"answered from the compiled plans (routing.plan_compiled): {compiled} of {total} "
              "sampled calls; the others by routing.build_plan")  # fmt: skip

        calls = []
        with psycopg.connect(url) as conn:
            domains = args.domains
            for i in range(args.calls):
                d = 1 + (i * 7919) % domains
                calls.append(
                    json.dumps(
                        {
                            "uuid": str(uuid.UUID(int=i + 1)),
                            "domain": f"d{d}.bench.test",
                            "destination": f"+49301{d:05d}{i % 10}",
                            "caller_number": ["+4930555000", "+4917012345", "+12125550100"][i % 3],
                        }
                    )
                )
            floor: list[float] = []
            plan: list[float] = []
            for _round in range(2):  # the first round warms caches and prepares
                floor.clear()
                plan.clear()
                for call in calls:
                    t = time.perf_counter()
                    conn.execute("SELECT 1", prepare=True).fetchone()
                    floor.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    conn.execute(
                        "SELECT routing.plan_call(%s::jsonb, %s::timestamptz)",
                        (call, "2026-12-01 10:00+01"),
                        prepare=True,
                    ).fetchone()
                    plan.append((time.perf_counter() - t) * 1000)
        f50, f99 = percentile(floor, 0.5), percentile(floor, 0.99)
        r50, r99 = percentile(plan, 0.5), percentile(plan, 0.99)
        print(f"from Python: SELECT 1 round trip p50 {f50:.3f} ms, p99 {f99:.3f} ms")
        print(f"from Python: plan_call round trip p50 {r50:.3f} ms, p99 {r99:.3f} ms "
              f"(mean {statistics.fmean(plan):.3f} ms)")  # fmt: skip
        print(f"ratio plan_call / SELECT 1: p50 {r50 / f50:.2f}x, p99 {r99 / f99:.2f}x")
        print(f"machine: {platform.node()} {os.cpu_count()} cpus, {platform.python_version()}, "
              f"server {'DATABASE_URL' if server is None else 'embedded PostgreSQL'}")  # fmt: skip
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        if server is not None:
            server.embedded.cleanup()


if __name__ == "__main__":
    main()
