"""POST /api/v1/usage: a device reports non-voice usage (SMS, MMS, data session).

Auth: a device token (`Authorization: Bearer hmt_<id>_<secret>`, billing.issue_token('device', ...)).
Body: the event of billing.record_usage (docs in db/sql/routines/billing/record_usage.sql);
device_id is taken from the token (a different device_id in the body is refused).
Answers: 200 {"usage_id": N} (the same id again for a replayed event_id), 400 with the field at
fault, 401 for a missing or bad token, 403 for a token that is not a device token.
"""

from __future__ import annotations

from typing import Any

import psycopg
from flask import Blueprint, jsonify, request
from psycopg.types.json import Jsonb

from web.api_errors import error
from web.app import connection
from web.tokens import authenticate, bearer_token

bp = Blueprint("api_usage", __name__, url_prefix="/api/v1")


@bp.post("/usage")
def post_usage() -> Any:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return error(401, "missing_token", "send Authorization: Bearer <device token>")
    event = request.get_json(silent=True)
    with connection() as conn:
        principal = authenticate(conn, token)
        if principal is None:
            return error(401, "invalid_token", "the bearer token is unknown, revoked or malformed")
        if principal.kind != "device":
            return error(403, "wrong_token_kind", "usage is reported with a device token")
        if not isinstance(event, dict):
            return error(400, "invalid_event", "the body must be a JSON object", "event")
        if "device_id" in event and event["device_id"] != principal.subject_id:
            return error(
                400, "invalid_event", "device_id does not match the token's device", "device_id"
            )
        event = {**event, "device_id": principal.subject_id}
        try:
            with conn.transaction():
                row = conn.execute("SELECT billing.record_usage(%s)", (Jsonb(event),)).fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate in ("HMB01", "HMB02"):
                field = exc.diag.column_name or "event"
                return error(400, "invalid_event", exc.diag.message_primary or str(exc), field)
            raise
    assert row is not None
    return jsonify(usage_id=row[0])
