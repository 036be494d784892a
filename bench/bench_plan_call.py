"""Benchmark `routing.plan_call` on 1,000 domains x (100 devices, 10 groups, 3 schedules, 5 rules).

Reports, in one run:
- in the database: p50/p99 of `routing.plan_call` timed with clock_timestamp() around each call
  inside one PL/pgSQL loop (no client round trip), and how many sampled calls the compiled plans
  (migration 0006) answer (the rest fall back to routing.build_plan);
- from Python (psycopg, prepared statements, one connection): p50/p99 of a plan_call round trip
  and of a `SELECT 1` round trip measured in the same run (the floor);
- two reference functions timed the same way in the same loop, to show what any planner in a
  PL/pgSQL function costs before it plans anything (created in the scratch database only):
  `bench_floor.lookup`, a SECURITY DEFINER function (pinned search_path, like plan_call) that
  returns the call's plan precomputed by plan_call, found by one primary-key lookup (a perfect
  cache: no configuration or device state read at all); and `bench_floor.resolve`, which first
  resolves the domain and the number's first matching alternative exactly as
  routing.plan_compiled does (two index lookups, caller and schedule conditions) and then returns
  the same precomputed plan (a planner that stops after finding the route).

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
import time
import uuid

import psycopg
from _scratch import scratch_database, server_label

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


FLOORS = """
CREATE SCHEMA bench_floor;
CREATE TABLE bench_floor.memo (
    domain text, destination text, caller_number text, plan jsonb NOT NULL,
    PRIMARY KEY (domain, destination, caller_number)
);
CREATE FUNCTION bench_floor.lookup(p_call jsonb, p_now timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = routing, pg_temp
AS $$
DECLARE
    v_plan jsonb;
BEGIN
    SELECT m.plan INTO v_plan FROM bench_floor.memo m
     WHERE m.domain = lower(p_call->>'domain') AND m.destination = p_call->>'destination'
       AND m.caller_number = p_call->>'caller_number';
    RETURN v_plan;
END
$$;
CREATE FUNCTION bench_floor.resolve(p_call jsonb, p_now timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = routing, pg_temp
AS $$
DECLARE
    v_domain text := lower(p_call->>'domain');
    v_dest text := p_call->>'destination';
    v_caller text := p_call->>'caller_number';
    v_plan jsonb;
    r record;
BEGIN
    SELECT pd.domain_id, a.chain INTO r
      FROM routing.plan_domain pd
      LEFT JOIN LATERAL (
            SELECT x.chain FROM routing.plan_alt x
             WHERE x.domain_id = pd.domain_id AND x.dest = v_dest
               AND CASE x.caller_match
                       WHEN 'any' THEN true
                       WHEN 'exact' THEN v_caller = x.caller_value
                       WHEN 'prefix' THEN starts_with(v_caller, x.caller_value)
                       WHEN 'pattern' THEN v_caller ~ x.caller_value
                   END
               AND (x.schedule_id IS NULL OR routing.in_schedule(x.schedule_id, p_now) = x.schedule_in)
             ORDER BY x.alt_no
             LIMIT 1) a ON true
     WHERE pd.domain_name = v_domain AND pd.state = 'fresh';
    SELECT m.plan INTO v_plan FROM bench_floor.memo m
     WHERE m.domain = v_domain AND m.destination = v_dest AND m.caller_number = v_caller
       AND r.chain IS NOT NULL;
    RETURN v_plan;
END
$$;
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--domains", type=int, default=1000)
    args = parser.parse_args()

    with scratch_database("bench_plan") as url:
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
            conn.execute(FLOORS)
            for call in dict.fromkeys(
                json.dumps({k: v for k, v in json.loads(c).items() if k != "uuid"}) for c in calls
            ):
                conn.execute(
                    """INSERT INTO bench_floor.memo
                       SELECT %(c)s::jsonb->>'domain', %(c)s::jsonb->>'destination',
                              %(c)s::jsonb->>'caller_number',
                              routing.plan_call(%(c)s::jsonb || '{"uuid": "00000000-0000-0000-0000-000000000000"}',
                                                %(t)s::timestamptz)""",
                    {"c": call, "t": "2026-12-01 10:00+01"},
                )
            conn.commit()
            timed = {
                "SELECT 1": "SELECT 1",
                "plan_call": "SELECT routing.plan_call(%s::jsonb, %s::timestamptz)",
                "bench_floor.lookup": "SELECT bench_floor.lookup(%s::jsonb, %s::timestamptz)",
                "bench_floor.resolve": "SELECT bench_floor.resolve(%s::jsonb, %s::timestamptz)",
            }
            times: dict[str, list[float]] = {name: [] for name in timed}
            for _round in range(2):  # the first round warms caches and prepares
                for series in times.values():
                    series.clear()
                for call in calls:
                    for name, sql in timed.items():
                        params = None if name == "SELECT 1" else (call, "2026-12-01 10:00+01")
                        t = time.perf_counter()
                        row = conn.execute(sql, params, prepare=True).fetchone()
                        times[name].append((time.perf_counter() - t) * 1000)
                        if row is None or row[0] is None:
                            raise SystemExit(f"{name} returned nothing for {call}")
        f50, f99 = percentile(times["SELECT 1"], 0.5), percentile(times["SELECT 1"], 0.99)
        print(f"from Python: SELECT 1 round trip p50 {f50:.3f} ms, p99 {f99:.3f} ms")
        for name in ("plan_call", "bench_floor.lookup", "bench_floor.resolve"):
            series = times[name]
            r50, r99 = percentile(series, 0.5), percentile(series, 0.99)
            print(f"from Python: {name} round trip p50 {r50:.3f} ms, p99 {r99:.3f} ms "
                  f"(mean {statistics.fmean(series):.3f} ms); / SELECT 1: "
                  f"p50 {r50 / f50:.2f}x, p99 {r99 / f99:.2f}x")  # fmt: skip
        print(f"machine: {platform.node()} {os.cpu_count()} cpus, {platform.python_version()}, "
              f"server {server_label()}")  # fmt: skip


if __name__ == "__main__":
    main()
