"""Agents and queues in the JSON API (issue 4): log in, log out, break, a queue's status.

POST /api/v1/agents/<id>/login, POST /api/v1/agents/<id>/logout and
POST /api/v1/agents/<id>/break (body {"on": true|false, "reason": "..."}; reason optional, at most
80 characters, no control characters) call queue.login_agent / queue.logout_agent /
queue.set_break with the server's clock as p_now and answer 200 with what the function returns:
{"agent_id", "state", "changed"}. GET /api/v1/queues/<id>/status answers queue.status(id, now).

Auth (`Authorization: Bearer hmt_<id>_<secret>`):
- a device token (billing.issue_token('device', <cfg.device.id>)) acts only on its own agent: the
  agent whose device is that device, or whose user owns that device; it does not read queues;
- a domain_admin token (billing.issue_token('domain_admin', <cfg.domain.id>)) acts on every agent
  and reads every queue of its domain.
Answers: 400 {error, message, field} (an id that is not a positive integer, a bad body), 401
(missing or bad token), 403 (an account token, or a device token for a queue: wrong_token_kind;
another domain, or a device token and another agent: forbidden), 404 (unknown agent or queue).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import psycopg
from flask import Blueprint, Response, request
from psycopg.rows import tuple_row

from web.api_errors import error
from web.app import connection
from web.tokens import Principal, authenticate, bearer_token

bp = Blueprint("api_queues", __name__, url_prefix="/api/v1")

_KINDS = ("device", "domain_admin")
_ID_RE = re.compile(r"[1-9][0-9]{0,17}")  # a positive bigint
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_REASON_MAX = 80

# (agent's domain, token device's domain, whether the agent is the token device's own)
_AGENT_SCOPE_SQL = """
    SELECT a.domain_id, d.domain_id,
           coalesce(a.device_id = d.id OR a.user_id = d.user_id, false)
      FROM queue.agent a LEFT JOIN cfg.device d ON d.id = %(device_id)s
     WHERE a.id = %(agent_id)s
"""


def _parse_id(value: str) -> int | None:
    return int(value) if _ID_RE.fullmatch(value) else None


def _json(body: str) -> Response:
    """A JSON document as PostgreSQL wrote it (jsonb::text)."""
    return Response(body, mimetype="application/json")


def _principal(conn: psycopg.Connection[Any]) -> Principal | Response:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return error(
            401, "missing_token", "send Authorization: Bearer <device or domain_admin token>"
        )
    principal = authenticate(conn, token)
    if principal is None:
        return error(401, "invalid_token", "the bearer token is unknown, revoked or malformed")
    if principal.kind not in _KINDS:
        return error(
            403, "wrong_token_kind", "agents and queues need a device or domain_admin token"
        )
    return principal


def _check_agent(
    conn: psycopg.Connection[Any], principal: Principal, agent_id: int
) -> Response | None:
    """None when the principal may act on the agent, else the 404/403 answer."""
    device_id = principal.subject_id if principal.kind == "device" else None
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_AGENT_SCOPE_SQL, {"agent_id": agent_id, "device_id": device_id})
        row = cur.fetchone()
    if row is None:
        return error(404, "unknown_agent", f"agent {agent_id} does not exist", "agent_id")
    agent_domain, device_domain, own = row
    token_domain = device_domain if principal.kind == "device" else principal.subject_id
    if agent_domain != token_domain:
        return error(403, "forbidden", f"agent {agent_id} belongs to another domain")
    if principal.kind == "device" and not own:
        return error(403, "forbidden", "a device token acts only on the device's own agent")
    return None


def _break_args(body: Any) -> tuple[bool, str | None] | Response:
    if not isinstance(body, dict):
        return error(
            400, "invalid_body", 'the body must be a JSON object {"on": true|false, ...}', "body"
        )
    on = body.get("on")
    if not isinstance(on, bool):
        return error(400, "invalid_body", "on must be true or false", "on")
    reason = body.get("reason")
    if reason is not None:
        if not isinstance(reason, str):
            return error(400, "invalid_body", "reason must be a string", "reason")
        if len(reason) > _REASON_MAX:
            message = f"reason is {len(reason)} characters long: at most {_REASON_MAX}"
            return error(400, "invalid_body", message, "reason")
        if _CONTROL_RE.search(reason):
            return error(
                400, "invalid_body", "reason must not contain control characters", "reason"
            )
    return on, reason


def _authorized_agent(conn: psycopg.Connection[Any], agent_id_text: str) -> int | Response:
    """The agent id, when the request's token may act on that agent; else the answer to give."""
    principal = _principal(conn)
    if isinstance(principal, Response):
        return principal
    agent_id = _parse_id(agent_id_text)
    if agent_id is None:
        return error(400, "invalid_id", "the agent id must be a positive integer", "agent_id")
    refusal = _check_agent(conn, principal, agent_id)
    return agent_id if refusal is None else refusal


def _change_agent(
    conn: psycopg.Connection[Any], sql: str, agent_id: int, **params: Any
) -> Response:
    """Run one queue.* agent function (jsonb::text, with %(agent_id)s and %(now)s) and answer it."""
    try:
        with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(sql, {"agent_id": agent_id, "now": datetime.now(UTC), **params})
            row = cur.fetchone()
    except psycopg.errors.NoDataFound:  # the agent was deleted meanwhile
        return error(404, "unknown_agent", f"agent {agent_id} does not exist", "agent_id")
    assert row is not None
    return _json(row[0])


_LOGIN_SQL = "SELECT queue.login_agent(%(agent_id)s, %(now)s)::text"
_LOGOUT_SQL = "SELECT queue.logout_agent(%(agent_id)s, %(now)s)::text"


def _log_agent(agent_id: str, sql: str) -> Response:
    with connection() as conn:
        agent = _authorized_agent(conn, agent_id)
        if isinstance(agent, Response):
            return agent
        return _change_agent(conn, sql, agent)


@bp.post("/agents/<agent_id>/login")
def login_agent(agent_id: str) -> Response:
    return _log_agent(agent_id, _LOGIN_SQL)


@bp.post("/agents/<agent_id>/logout")
def logout_agent(agent_id: str) -> Response:
    return _log_agent(agent_id, _LOGOUT_SQL)


@bp.post("/agents/<agent_id>/break")
def set_break(agent_id: str) -> Response:
    with connection() as conn:
        agent = _authorized_agent(conn, agent_id)
        if isinstance(agent, Response):
            return agent
        args = _break_args(request.get_json(silent=True))
        if isinstance(args, Response):
            return args
        on, reason = args
        return _change_agent(
            conn,
            "SELECT queue.set_break(%(agent_id)s, %(on)s, %(reason)s, %(now)s)::text",
            agent,
            on=on,
            reason=reason,
        )


@bp.get("/queues/<queue_id>/status")
def queue_status(queue_id: str) -> Response:
    with connection() as conn:
        principal = _principal(conn)
        if isinstance(principal, Response):
            return principal
        if principal.kind != "domain_admin":
            return error(
                403, "wrong_token_kind", "a queue's status is read with a domain_admin token"
            )
        parsed = _parse_id(queue_id)
        if parsed is None:
            return error(400, "invalid_id", "the queue id must be a positive integer", "queue_id")
        with conn.cursor(row_factory=tuple_row) as cur:
            cur.execute("SELECT domain_id FROM queue.queue WHERE id = %s", (parsed,))
            row = cur.fetchone()
            if row is None:
                return error(404, "unknown_queue", f"queue {parsed} does not exist", "queue_id")
            if row[0] != principal.subject_id:
                return error(403, "forbidden", f"queue {parsed} belongs to another domain")
            cur.execute("SELECT queue.status(%s, %s)::text", (parsed, datetime.now(UTC)))
            status = cur.fetchone()
    assert status is not None
    return _json(status[0])
