"""`huntsman report`: an account's period report as CSV or JSON, or its signed webhook.

    huntsman report --account ID --from DATE --to DATE [--format csv|json] [--output FILE]
    huntsman report --account ID --from DATE --to DATE --webhook

The report comes from SQL (billing.account_report / billing.account_report_rows /
billing.webhook_payload): private-mode actions are absent from a business account's report,
CSV, JSON and webhook, and the totals are computed without them. DATE is YYYY-MM-DD (UTC
midnight) or an ISO 8601 instant; a date-only --to includes that whole day.

The webhook POSTs the exact text of billing.webhook_payload with
`X-Huntsman-Signature: sha256=<hex HMAC-SHA256(account secret, body)>` to the account's URL.
The web API (web/api_reports.py) uses the same functions.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

SIGNATURE_HEADER = "X-Huntsman-Signature"


class PeriodError(ValueError):
    """A report period that cannot be used; `field` names the parameter at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _parse_instant(value: str | None, field: str, *, end: bool) -> datetime:
    if value is None or not value.strip():
        raise PeriodError(f"{field} is required (YYYY-MM-DD or an ISO 8601 instant)", field)
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            instant = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return instant + timedelta(days=1) if end else instant
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(
            f"{field} = {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant", field
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def parse_period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[start, end) from two DATE strings; a date-only end includes that whole day."""
    period = _parse_instant(start, "from", end=False), _parse_instant(end, "to", end=True)
    if period[0] >= period[1]:
        raise PeriodError("the period is empty: from must be before to", "to")
    return period


def fetch_json_text(
    conn: psycopg.Connection[Any], account_id: int, start: datetime, end: datetime
) -> str:
    """billing.account_report as PostgreSQL writes it (exact decimals)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT billing.account_report(%s, %s, %s)::text", (account_id, start, end))
        row = cur.fetchone()
    assert row is not None
    return str(row[0])


def stream_csv(
    conn: psycopg.Connection[Any], account_id: int, start: datetime, end: datetime
) -> Iterator[str]:
    """billing.account_report_rows as CSV (header, lines, total row) in chunks, written by
    PostgreSQL's COPY (fast, no size limit, flat memory). Times are written in UTC. The
    connection must not be in autocommit mode (SET LOCAL needs the transaction)."""
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    query = sql.SQL(
        "COPY (SELECT * FROM billing.account_report_rows({}, {}, {}))"
        " TO STDOUT WITH (FORMAT csv, HEADER)"
    ).format(sql.Literal(account_id), sql.Literal(start), sql.Literal(end))
    with conn.cursor().copy(query) as copy:
        for chunk in copy:
            yield bytes(chunk).decode()


def sign(secret: str, body: bytes) -> str:
    """The X-Huntsman-Signature value of a webhook body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookResult:
    url: str
    status: int
    body_bytes: int


class WebhookError(RuntimeError):
    """The account has no webhook, or the receiver did not accept the POST."""


def send_webhook(
    conn: psycopg.Connection[Any],
    account_id: int,
    start: datetime,
    end: datetime,
    *,
    timeout: float = 10.0,
) -> WebhookResult:
    """POST the signed period report to the account's webhook URL; raises WebhookError."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT url, secret FROM billing.webhook_target(%s)", (account_id,))
        target = cur.fetchone()
        if target is None:
            raise WebhookError(f"account {account_id} has no webhook (billing.account_webhook)")
        cur.execute("SELECT billing.webhook_payload(%s, %s, %s)::text", (account_id, start, end))
        row = cur.fetchone()
    assert row is not None
    url, secret = str(target[0]), str(target[1])
    body = str(row[0]).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            "X-Huntsman-Account": str(account_id),
            "User-Agent": "huntsman-report",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"webhook {url} answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookError(f"webhook {url} failed: {exc}") from exc
    if not 200 <= status < 300:
        raise WebhookError(f"webhook {url} answered {status}")
    return WebhookResult(url=url, status=status, body_bytes=len(body))


def run(args: argparse.Namespace) -> int:
    """Entry point of `huntsman report`."""
    from huntsman import database

    try:
        start, end = parse_period(args.date_from, args.date_to)
    except PeriodError as exc:
        print(f"huntsman report: {exc}", file=sys.stderr)
        return 2
    db = database.resolve()
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        with psycopg.connect(db.url) as conn:
            if args.webhook:
                result = send_webhook(conn, args.account, start, end)
                print(f"webhook sent to {result.url}: {result.status} ({result.body_bytes} bytes)")
                return 0
            if args.format == "json":
                out.write(fetch_json_text(conn, args.account, start, end) + "\n")
            else:
                for chunk in stream_csv(conn, args.account, start, end):
                    out.write(chunk)
    except WebhookError as exc:
        print(f"huntsman report: {exc}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc)
        hint = f" ({exc.diag.message_hint})" if exc.diag.message_hint else ""
        print(f"huntsman report: {message}{hint}", file=sys.stderr)
        return 1
    finally:
        if out is not sys.stdout:
            out.close()
        database.stop(db)
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `report` to the `huntsman` command's subparsers (huntsman/cli.py)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="period report of a billing account (CSV/JSON), or send its signed webhook",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--account", type=int, required=True, help="billing.account id")
    parser.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD or ISO instant")
    parser.add_argument(
        "--to", dest="date_to", required=True, help="YYYY-MM-DD (inclusive) or ISO instant"
    )
    parser.add_argument("--format", choices=("csv", "json"), default="json")
    parser.add_argument("--output", "-o", help="write to this file instead of stdout")
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="POST the signed report to the account's webhook URL instead of printing it",
    )
    parser.set_defaults(func=run)
    return parser
