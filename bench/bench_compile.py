"""Benchmark what an edit costs at commit in one large domain (the compiled plans, 0006/0008).

One domain with N devices (default 10,000) in N/50 hunt groups of 20 members, each group with
its own number. Reports the time of the commit that loads it (the first compile), then of
single edits, each in its own transaction, median of --repeat runs:
- a hunt group edit (recompiles the domain's routing part);
- a member added to a group and removed again (0008: redoes that group's legs and its nesters');
- a device rename, for a device in a group and for one in none; a device insert; a device's
  extension change; a device delete (0008: each redoes that device alone);
- a device delete that cascades to a group member (the member's trigger: routing part).

    .venv/bin/python bench/bench_compile.py [--devices 10000] [--repeat 5]

Uses DATABASE_URL when set (a scratch database is created there), else a throwaway embedded
PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import psycopg
from _scratch import scratch_database, server_label

LOAD = """
INSERT INTO cfg.domain (name, gateway) VALUES ('big.bench.test', 'carrier');
INSERT INTO cfg.device (domain_id, name, extension, endpoint, registered)
SELECT d.id, 'Phone ' || e, (10000 + e)::text, 'user/' || (10000 + e) || '@big.bench.test', true
  FROM cfg.domain d CROSS JOIN generate_series(1, {n}) e;
INSERT INTO cfg.hunt_group (domain_id, name, extension, strategy)
SELECT d.id, 'G' || g, (100 + g)::text, 'sequential'
  FROM cfg.domain d CROSS JOIN generate_series(1, {groups}) g;
INSERT INTO cfg.hunt_group_member (domain_id, group_id, kind, device_id, position)
SELECT g.domain_id, g.id, 'device', dv.id, m
  FROM cfg.hunt_group g CROSS JOIN generate_series(0, 19) m
  JOIN cfg.device dv ON dv.domain_id = g.domain_id
                    AND dv.extension = (10001 + ((g.extension::int - 101) * 20 + m) % {n})::text;
INSERT INTO cfg.number (domain_id, e164, target_kind, target_group_id)
SELECT g.domain_id, '+49301' || lpad(g.id::text, 6, '0'), 'group', g.id FROM cfg.hunt_group g;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, groups = args.devices, max(1, args.devices // 50)

    with scratch_database("bench_compile") as url:
        with psycopg.connect(url) as conn:
            conn.execute(LOAD.format(n=n, groups=groups).encode())
            t = time.perf_counter()
            conn.commit()
            print(f"data: 1 domain, {n} devices, {groups} groups of 20 members, {groups} numbers; "
                  f"first compile at commit {time.perf_counter() - t:.2f} s")  # fmt: skip

            def commit_ms(sql: str, params: tuple[object, ...] = ()) -> float:
                conn.execute(sql, params)
                t = time.perf_counter()
                conn.commit()
                return (time.perf_counter() - t) * 1000

            edits: dict[str, list[float]] = {}
            for i in range(args.repeat):
                in_group, in_none = str(10001 + i), str(10000 + n - i)
                new, moved = str(30000 + 2 * i), str(30001 + 2 * i)
                runs = {
                    "hunt group edit (ring timeout)": (
                        "UPDATE cfg.hunt_group SET ring_timeout = %s WHERE extension = '101'",
                        (21 + i,),
                    ),
                    "group member added": (
                        "INSERT INTO cfg.hunt_group_member (domain_id, group_id, kind, device_id, position) "
                        "SELECT g.domain_id, g.id, 'device', d.id, 99 FROM cfg.hunt_group g "
                        "JOIN cfg.device d ON d.domain_id = g.domain_id AND d.extension = %s "
                        "WHERE g.extension = '102'",
                        (str(10000 + n - 10 - i),),
                    ),
                    "group member removed": (
                        "DELETE FROM cfg.hunt_group_member WHERE position = 99 AND device_id = "
                        "(SELECT id FROM cfg.device WHERE extension = %s)",
                        (str(10000 + n - 10 - i),),
                    ),
                    "device rename, in a group": (
                        "UPDATE cfg.device SET name = %s WHERE extension = %s",
                        (f"Renamed {i}", in_group),
                    ),
                    "device rename, in no group": (
                        "UPDATE cfg.device SET name = %s WHERE extension = %s",
                        (f"Renamed {i}", in_none),
                    ),
                    "device insert": (
                        "INSERT INTO cfg.device (domain_id, name, extension, endpoint) "
                        "SELECT id, 'New', %s, 'user/' || %s || '@big.bench.test' FROM cfg.domain",
                        (new, new),
                    ),
                    "device extension change": (
                        "UPDATE cfg.device SET extension = %s WHERE extension = %s",
                        (moved, new),
                    ),
                    "device delete": ("DELETE FROM cfg.device WHERE extension = %s", (moved,)),
                    "device delete, cascading to a group member": (
                        "DELETE FROM cfg.device WHERE extension = %s",
                        (str(10000 + min(n, groups * 20) - i),),  # in the last group
                    ),
                }
                for label, (sql, params) in runs.items():
                    edits.setdefault(label, []).append(commit_ms(sql, params))
            states = conn.execute(
                "SELECT state, count(*) FROM routing.plan_domain GROUP BY state"
            ).fetchall()
        for label, times in edits.items():
            print(f"{label}: commit median {statistics.median(times):.0f} ms "
                  f"(min {min(times):.0f}, max {max(times):.0f}, {len(times)} runs)")  # fmt: skip
        print(f"compiled plans after the edits: {dict(states)}")
        print(f"machine: {platform.node()} {os.cpu_count()} cpus, {platform.python_version()}, "
              f"server {server_label()}")  # fmt: skip


if __name__ == "__main__":
    main()
