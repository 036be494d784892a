"""GET /api/v1/accounts/<id>/report?from=&to=&format=json|csv: an account's period report.

Auth: an account token for that account (billing.issue_token('account', <id>)). The report is
billing.account_report (JSON, passed through as PostgreSQL wrote it, so amounts keep their
exact decimals; above 200000 lines: 400 report_too_large, use CSV) or
billing.account_report_rows (CSV streamed through a server-side cursor, closed by a total row).
Private-mode actions are absent from a business account's report. from/to: a date (YYYY-MM-DD, UTC) or an
ISO 8601 instant; a date-only `to` includes that whole day.
Answers: 200, 400 (bad period or format, with the field), 401 (missing/bad token), 403 (a token
of another account or of a device).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
from flask import Blueprint, Response, request, stream_with_context

from huntsman import report
from web.api_errors import error
from web.app import connection
from web.tokens import authenticate, bearer_token

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")


@bp.get("/accounts/<int:account_id>/report")
def account_report(account_id: int) -> Any:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return error(401, "missing_token", "send Authorization: Bearer <account token>")
    with connection() as conn:
        principal = authenticate(conn, token)
        if principal is None:
            return error(401, "invalid_token", "the bearer token is unknown, revoked or malformed")
        if principal.kind != "account" or principal.subject_id != account_id:
            return error(403, "forbidden", "this token does not give access to this account")
        fmt = request.args.get("format", "json")
        if fmt not in ("json", "csv"):
            return error(400, "invalid_parameter", "format must be json or csv", "format")
        try:
            start, end = report.parse_period(request.args.get("from"), request.args.get("to"))
        except report.PeriodError as exc:
            return error(400, "invalid_parameter", str(exc), exc.field)
        if fmt == "json":
            try:
                body = report.fetch_json_text(conn, account_id, start, end)
            except psycopg.errors.ProgramLimitExceeded as exc:
                message = f"{exc.diag.message_primary}; {exc.diag.message_hint}"
                return error(400, "report_too_large", message, "format")
            return Response(body, mimetype="application/json")
    filename = f"account-{account_id}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return Response(
        stream_with_context(_csv_chunks(account_id, start, end)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_chunks(account_id: int, start: datetime, end: datetime) -> Iterator[str]:
    with connection() as conn:
        yield from report.stream_csv(conn, account_id, start, end)
