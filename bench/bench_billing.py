"""Billing benchmark (not part of the test suite).

1. CDR writes through cdr.record_call with billing on (a domain whose device is a two-number
   billing phone with a 6-rule policy and prefix rates: every CDR is rated and allocated by
   billing.charge_call) and off (a domain with no billing phone: charge_call finds nobody), in
   the same run:
   a. server side: cdr.record_call run by the server, 250 CDRs per statement and transaction
      (the SQL cost per CDR without client round trips);
   b. client side: C connections, each CDR its own autocommit transaction, as the controller
      writes them (pipelined).
2. The period report of an account holding 1,000,000 charged CDRs (generated set-based with
   INSERT ... SELECT generate_series, 5 % of them private): billing.account_report (JSON) and
   billing.account_report_rows (CSV, streamed as `huntsman report --format csv` does) for one
   month (~80,000 lines) and for the whole year (950,000 visible lines; JSON refuses more than
   200,000 lines, a jsonb value being capped at 256 MB).

    .venv/bin/python bench/bench_billing.py [--cdrs 20000] [--clients 4] [--report-rows 1000000]

Uses DATABASE_URL (a superuser URL: the benchmark creates and drops its own database) or else an
embedded throwaway PostgreSQL (huntsman.database.start_embedded, deleted at the end).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _scratch import scratch_database  # noqa: E402

from huntsman import report  # noqa: E402

START = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


def setup(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Domain bill.example: Alice's two-number phone, 6 rules, prefix rates on two accounts.
    Domain nobill.example: a device and a number, no billing phone."""

    def one(sql: str, *params: Any) -> int:
        row = conn.execute(sql, params).fetchone()
        assert row is not None
        return int(row[0])

    ids: dict[str, int] = {}
    d = ids["domain"] = one("INSERT INTO cfg.domain (name) VALUES ('bill.example') RETURNING id")
    user = one("INSERT INTO cfg.app_user (domain_id, name) VALUES (%s, 'Alice') RETURNING id", d)
    ids["n_personal"] = one(
        "INSERT INTO cfg.number (domain_id, e164) VALUES (%s, '+4930111111') RETURNING id", d
    )
    ids["n_business"] = one(
        "INSERT INTO cfg.number (domain_id, e164) VALUES (%s, '+4930222222') RETURNING id", d
    )
    ids["device"] = one(
        "INSERT INTO cfg.device (domain_id, user_id, name, extension, endpoint)"
        " VALUES (%s, %s, 'Alice', '1001', 'user/1001@bill.example') RETURNING id",
        d,
        user,
    )
    personal = ids["personal"] = one(
        "INSERT INTO billing.account (domain_id, name, kind, owner_kind, owner_name, currency)"
        " VALUES (%s, 'Alice', 'personal', 'person', 'Alice', 'EUR') RETURNING id",
        d,
    )
    business = ids["business"] = one(
        "INSERT INTO billing.account (domain_id, name, kind, owner_kind, owner_name, currency)"
        " VALUES (%s, 'ACME', 'business', 'organisation', 'ACME GmbH', 'EUR') RETURNING id",
        d,
    )
    phone = ids["phone"] = one(
        "INSERT INTO billing.phone (domain_id, name, device_id, default_account_id)"
        " VALUES (%s, 'Alice mobile', %s, %s) RETURNING id",
        d,
        ids["device"],
        personal,
    )
    conn.execute(
        "INSERT INTO billing.phone_number (domain_id, phone_id, number_id, account_id, contact_type)"
        " VALUES (%s, %s, %s, %s, 'personal'), (%s, %s, %s, %s, 'business')",
        (d, phone, ids["n_personal"], personal, d, phone, ids["n_business"], business),
    )
    schedule = one(
        "INSERT INTO cfg.schedule (domain_id, name, time_zone) VALUES (%s, 'Office', 'Europe/Berlin')"
        " RETURNING id",
        d,
    )
    for dow in range(1, 6):
        conn.execute(
            "INSERT INTO cfg.schedule_window (domain_id, schedule_id, iso_dow, start_time, end_time)"
            " VALUES (%s, %s, %s, '08:00', '18:00')",
            (d, schedule, dow),
        )
    rules = [
        ("premium to personal", {"destination_class": "premium"}, personal),
        ("sms on business", {"action": "sms", "number_id": ids["n_business"]}, business),
        ("data work", {"action": "data", "host_category": "work"}, business),
        ("UK office hours", {"destination_country": "GB", "schedule_id": schedule}, business),
        ("France", {"destination_prefix": "+33"}, business),
        ("business number", {"number_id": ids["n_business"]}, business),
    ]
    for position, (name, criteria, account) in enumerate(rules):
        cols = ", ".join(criteria)
        marks = ", ".join(["%s"] * len(criteria))
        conn.execute(
            f"INSERT INTO billing.policy_rule (domain_id, phone_id, position, name, account_id, {cols})"
            f" VALUES (%s, %s, %s, %s, %s, {marks})",
            (d, phone, position, name, account, *criteria.values()),
        )
    for account in (personal, business):
        for prefix, price, inc in (
            ("", "0.02", (60, 60)),
            ("+44", "0.05", (30, 6)),
            ("+447", "0.15", (30, 6)),
            ("+33", "0.04", (1, 1)),
            ("+49", "0.01", (60, 60)),
        ):
            conn.execute(
                "INSERT INTO billing.rate (domain_id, account_id, action, prefix, price,"
                " initial_increment, subsequent_increment, connection_fee)"
                " VALUES (%s, %s, 'outgoing_call', %s, %s, %s, %s, 0.01)",
                (d, account, prefix, price, *inc),
            )
    nd = ids["nobill_domain"] = one(
        "INSERT INTO cfg.domain (name) VALUES ('nobill.example') RETURNING id"
    )
    ids["nobill_number"] = one(
        "INSERT INTO cfg.number (domain_id, e164) VALUES (%s, '+4930999999') RETURNING id", nd
    )
    ids["nobill_device"] = one(
        "INSERT INTO cfg.device (domain_id, name, extension, endpoint)"
        " VALUES (%s, 'Bob', '2001', 'user/2001@nobill.example') RETURNING id",
        nd,
    )
    conn.commit()
    return ids


DESTINATIONS = ["+442071234567", "+447700900123", "+33612345678", "+4989123456", "+12125550123"]


def cdr(i: int, domain: str, device: int, number: int, caller: str) -> dict[str, Any]:
    start = START + timedelta(seconds=i * 7)
    billsec = (i * 37) % 400
    return {
        "uuid": str(uuid.uuid4()),
        "domain": domain,
        "caller_number": caller,
        "caller_name": "Alice",
        "destination": DESTINATIONS[i % len(DESTINATIONS)],
        "route": {"kind": "outbound"},
        "start_at": start.isoformat(),
        "answer_at": (start + timedelta(seconds=3)).isoformat(),
        "end_at": (start + timedelta(seconds=3 + billsec)).isoformat(),
        "billsec": billsec,
        "duration": 3 + billsec,
        "hangup_cause": "NORMAL_CLEARING",
        "disposition": "answered",
        "plan": {
            "plan_version": 1,
            "billing": {"direction": "outbound", "device_id": device, "number_id": number},
        },
        "legs": [],
    }


def server_side(
    url: str, n: int, domain: str, device: int, numbers: tuple[int, int], batch: int = 250
) -> float:
    """CDRs per second of record_call run by the server in statements of `batch` CDRs (one
    transaction each): the SQL cost per CDR without client round trips."""
    sql = """
        SELECT count(cdr.record_call(jsonb_build_object(
            'uuid', gen_random_uuid(), 'domain', %(domain)s::text, 'caller_number', '+4930111111',
            'destination', (ARRAY['+442071234567','+447700900123','+33612345678','+4989123456',
                                  '+12125550123'])[1 + g %% 5],
            'start_at', %(start)s::timestamptz + g * interval '7 s',
            'answer_at', %(start)s::timestamptz + g * interval '7 s' + interval '3 s',
            'end_at', %(start)s::timestamptz + g * interval '7 s' + (3 + g * 37 %% 400) * interval '1 s',
            'billsec', g * 37 %% 400, 'duration', 3 + g * 37 %% 400, 'disposition', 'answered',
            'plan', jsonb_build_object('billing', jsonb_build_object(
                'direction', 'outbound', 'device_id', %(device)s::bigint,
                'number_id', CASE WHEN g %% 2 = 0 THEN %(n1)s::bigint ELSE %(n2)s::bigint END)))))
          FROM generate_series(%(first)s::int, %(last)s::int) AS g
    """
    with psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        for first in range(1, n + 1, batch):
            conn.execute(
                sql,
                {
                    "domain": domain,
                    "start": START,
                    "device": device,
                    "n1": numbers[0],
                    "n2": numbers[1],
                    "first": first,
                    "last": min(first + batch - 1, n),
                },
            )
            conn.commit()
        return n / (time.perf_counter() - t0)


def client_side(url: str, n: int, clients: int, make: Callable[[int], dict[str, Any]]) -> float:
    """CDRs per second with `clients` connections, one autocommit transaction per CDR."""
    docs = [Jsonb(make(i)) for i in range(n)]
    chunks = [docs[k::clients] for k in range(clients)]
    errors: list[BaseException] = []

    def worker(chunk: list[Jsonb]) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                with conn.pipeline(), conn.cursor() as cur:
                    for doc in chunk:
                        cur.execute("SELECT cdr.record_call(%s)", (doc,))
        except BaseException as exc:  # noqa: BLE001 (re-raised below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return n / elapsed


def generate_report_data(conn: psycopg.Connection[Any], ids: dict[str, int], rows: int) -> None:
    """`rows` answered CDRs of 2025 on the business number, each with its charge row (5 % in
    private mode), set-based."""
    conn.execute(
        """
        INSERT INTO cdr.call (domain_id, call_uuid, caller_number, destination, start_at, answer_at,
                              end_at, billsec, duration, disposition, plan)
        SELECT %(d)s, gen_random_uuid(), '+4930222222',
               (ARRAY['+442071234567','+447700900123','+33612345678','+4989123456'])[1 + g %% 4],
               ts, ts + interval '3 s', ts + (3 + g %% 600) * interval '1 s', g %% 600, 3 + g %% 600,
               'answered', '{"billing": {"direction": "outbound"}}'::jsonb
          FROM generate_series(1, %(n)s) AS g,
               LATERAL (SELECT '2025-01-01 00:00+00'::timestamptz
                               + (g::float8 / %(n)s) * interval '365 days' AS ts) t
        """,
        {"d": ids["domain"], "n": rows},
    )
    conn.execute(
        """
        INSERT INTO billing.charge (domain_id, call_id, phone_id, account_id, action, number_id,
            number, counterpart, destination_class, started_at, quantity, unit, billed_quantity,
            amount, currency, rate_id, rate_prefix, decided_by, rule_id, private, explanation)
        SELECT c.domain_id, c.id, %(phone)s, %(business)s, 'outgoing_call', %(number)s,
               '+4930222222', c.destination, 'standard', c.start_at, c.billsec, 'second',
               ceil(c.billsec / 6.0) * 6, round(0.01 + ceil(c.billsec / 6.0) * 6 * 0.05 / 60, 4),
               'EUR', NULL, '+44',
               CASE WHEN c.id %% 20 = 0 THEN 'private_mode' ELSE 'rule' END,
               CASE WHEN c.id %% 20 = 0 THEN NULL ELSE 1 END,
               c.id %% 20 = 0,
               '{"decision": {"decided_by": "rule"}, "rating": {"prefix": "+44"}}'::jsonb
          FROM cdr.call c
         WHERE c.domain_id = %(d)s AND c.start_at < '2026-01-01'
        """,
        {
            "d": ids["domain"],
            "phone": ids["phone"],
            "business": ids["business"],
            "number": ids["n_business"],
        },
    )
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE cdr.call")
    conn.execute("VACUUM ANALYZE billing.charge")
    conn.autocommit = False


def timed(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> tuple[float, int]:
    """Seconds to run `sql` and fetch everything to the client, and the bytes/rows received."""
    t0 = time.perf_counter()
    cur = conn.execute(sql, params)
    rows = cur.fetchall()
    elapsed = time.perf_counter() - t0
    size = len(rows[0][0]) if len(rows) == 1 and isinstance(rows[0][0], str) else len(rows)
    return elapsed, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cdrs", type=int, default=20000, help="CDRs per write measurement")
    parser.add_argument("--clients", type=int, default=4, help="connections for client-side writes")
    parser.add_argument("--report-rows", type=int, default=1_000_000)
    args = parser.parse_args()

    with scratch_database("huntsman_bench") as url:
        with psycopg.connect(url) as conn:
            server = conn.execute("SHOW server_version").fetchone()
            ids = setup(conn)
        print(f"PostgreSQL {server[0] if server else '?'}; {os.cpu_count()} CPUs")
        print(f"\n== CDR writes through cdr.record_call ({args.cdrs} CDRs per figure) ==")
        on = ("bill.example", ids["device"], (ids["n_personal"], ids["n_business"]))
        off = ("nobill.example", ids["nobill_device"], (ids["nobill_number"], ids["nobill_number"]))
        for label, (domain, device, numbers) in (("billing off", off), ("billing on ", on)):
            rate = server_side(url, args.cdrs, domain, device, numbers)
            print(f"  server side, 250 CDR/statement  {label}: {rate:9,.0f} CDR/s")
        for label, (domain, device, numbers) in (("billing off", off), ("billing on ", on)):
            caller = "+4930111111" if domain == "bill.example" else "+4930999999"

            def make(
                i: int,
                domain: str = domain,
                device: int = device,
                numbers: tuple[int, int] = numbers,
                caller: str = caller,
            ) -> dict[str, Any]:
                return cdr(i, domain, device, numbers[i % 2], caller)

            rate = client_side(url, args.cdrs, args.clients, make)
            print(f"  client side, {args.clients} conn, 1 tx/CDR  {label}: {rate:9,.0f} CDR/s")
        with psycopg.connect(url) as conn:
            charged = conn.execute("SELECT count(*) FROM billing.charge").fetchone()
            print(f"  charge rows written: {charged[0] if charged else 0:,}")

        print(
            f"\n== Period report of an account with {args.report_rows:,} CDRs (2025, 5 % private) =="
        )
        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            generate_report_data(conn, ids, args.report_rows)
            print(f"  generated in {time.perf_counter() - t0:.1f} s")
            account = ids["business"]
            for period_label, start, end in (
                ("one month (March 2025)", "2025-03-01", "2025-04-01"),
                ("whole year (2025)     ", "2025-01-01", "2026-01-01"),
            ):
                try:
                    seconds, size = timed(
                        conn,
                        "SELECT billing.account_report(%s, %s, %s)::text",
                        (account, start, end),
                    )
                    print(f"  JSON {period_label}: {seconds:6.2f} s ({size / 1e6:,.1f} MB)")
                except psycopg.errors.ProgramLimitExceeded as exc:
                    conn.rollback()
                    print(f"  JSON {period_label}: refused, {exc.diag.message_hint}")
                t0 = time.perf_counter()
                size = sum(len(chunk) for chunk in report.stream_csv(conn, account, start, end))
                conn.rollback()
                print(
                    f"  CSV  {period_label}: {time.perf_counter() - t0:6.2f} s "
                    f"({size / 1e6:,.1f} MB, streamed to the client and formatted)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
