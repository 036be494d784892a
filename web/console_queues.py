"""Console pages of call queues: the domain's queues, one queue's agents, and agent actions.

GET  /console/queues                     queues of the admin's domain: callers, agents by state
GET  /console/queues/<id>                one queue (queue.status): callers and agents, with buttons
POST /console/queues/<id>/agents/<agent>/<action>   action: login | logout | break-on | break-off

Actions call queue.login_agent / queue.logout_agent / queue.set_break with the server's clock and
answer 303 back to the queue with a flash message. A queue or agent that does not exist, belongs
to another domain, or (for an action) is not a member of that queue is 404: an admin cannot tell
another tenant's ids from unused ones.

With htmx (vendored, web/static/), both pages refresh their `live` block every few seconds and
the action forms post in the background: the 303 is followed with `HX-Request`, so the answer is
the queue page's `live` block, flash messages included (web/fragments.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import psycopg
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from psycopg.rows import tuple_row
from werkzeug.wrappers import Response

from web.app import connection
from web.fragments import render_page

bp = Blueprint("console_queues", __name__, url_prefix="/console")

STATES = ("available", "reserved", "on_call", "wrap_up", "on_break", "logged_out")
STATE_LABELS = {
    "available": "Available",
    "reserved": "Ringing",
    "on_call": "On a call",
    "wrap_up": "Wrap-up",
    "on_break": "On break",
    "logged_out": "Logged out",
}
REASON_MAX = 80
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# action -> (SQL with %(agent)s, %(now)s and for breaks %(reason)s, done, unchanged)
_ACTIONS: dict[str, tuple[str, str, str]] = {
    "login": (
        "SELECT queue.login_agent(%(agent)s, %(now)s)",
        "{name} is logged in.",
        "{name} was already logged in.",
    ),
    "logout": (
        "SELECT queue.logout_agent(%(agent)s, %(now)s)",
        "{name} is logged out.",
        "{name} was already logged out.",
    ),
    "break-on": (
        "SELECT queue.set_break(%(agent)s, true, %(reason)s, %(now)s)",
        "{name} is on break.",
        "{name} was already on break.",
    ),
    "break-off": (
        "SELECT queue.set_break(%(agent)s, false, NULL, %(now)s)",
        "{name} is back from break.",
        "{name} was not on break.",
    ),
}

_QUEUE_IN_DOMAIN_SQL = "SELECT 1 FROM queue.queue WHERE id = %s AND domain_id = %s"
_MEMBER_SQL = """
    SELECT a.name FROM queue.member m
      JOIN queue.queue q ON q.id = m.queue_id
      JOIN queue.agent a ON a.id = m.agent_id
     WHERE m.queue_id = %s AND m.agent_id = %s AND q.domain_id = %s
"""


def agent_name(agent: dict[str, Any]) -> str:
    return str(agent.get("name") or f"Agent {agent['agent_id']}")


def _since(value: str | None, now: datetime) -> int | None:
    """Seconds since an instant written by PostgreSQL into a jsonb document."""
    if not value:
        return None
    return max(0, int((now - datetime.fromisoformat(value)).total_seconds()))


@bp.app_template_filter("duration")
def duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@bp.get("/")
@login_required
def index() -> Response:
    return redirect(url_for("console_queues.queues"))


@bp.get("/queues")
@login_required
def queues() -> str:
    now = datetime.now(UTC)
    with connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            "SELECT queue.status(q.id, %s) FROM queue.queue q WHERE q.domain_id = %s"
            " ORDER BY q.name, q.id",
            (now, current_user.domain_id),
        )
        statuses = [row[0] for row in cur.fetchall()]
    return render_page(
        "console/queues.html", "live", statuses=statuses, states=STATES, state_labels=STATE_LABELS
    )


def _queue_status(conn: psycopg.Connection[Any], queue_id: int, now: datetime) -> dict[str, Any]:
    """queue.status of a queue of the admin's domain; 404 for any other queue."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_QUEUE_IN_DOMAIN_SQL, (queue_id, current_user.domain_id))
        if cur.fetchone() is None:
            abort(404)
        cur.execute("SELECT queue.status(%s, %s)", (queue_id, now))
        row = cur.fetchone()
    assert row is not None
    status: dict[str, Any] = row[0]
    return status


def _render_queue(queue_id: int, errors: dict[int, str] | None = None, code: int = 200) -> Any:
    now = datetime.now(UTC)
    with connection() as conn:
        status = _queue_status(conn, queue_id, now)
    agents = [
        {**a, "display_name": agent_name(a), "for_seconds": _since(a["since"], now)}
        for a in status["agent_list"]
    ]
    page = render_page(
        "console/queue.html",
        "live",
        status=status,
        agents=agents,
        states=STATES,
        state_labels=STATE_LABELS,
        errors=errors or {},
        reason_max=REASON_MAX,
    )
    return page, code


@bp.get("/queues/<int:queue_id>")
@login_required
def queue(queue_id: int) -> Any:
    return _render_queue(queue_id)


def _reason_error(reason: str) -> str | None:
    if len(reason) > REASON_MAX:
        return f"The reason is {len(reason)} characters long: at most {REASON_MAX}."
    if _CONTROL_RE.search(reason):
        return "The reason must not contain control characters."
    return None


@bp.post("/queues/<int:queue_id>/agents/<int:agent_id>/<action>")
@login_required
def agent_action(queue_id: int, agent_id: int, action: str) -> Any:
    if action not in _ACTIONS:
        abort(404)
    sql, done, unchanged = _ACTIONS[action]
    reason = request.form.get("reason", "").strip() or None
    problem = _reason_error(reason) if action == "break-on" and reason else None
    with connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_MEMBER_SQL, (queue_id, agent_id, current_user.domain_id))
        member = cur.fetchone()
        if member is None:
            abort(404)
        if problem is None:
            try:
                cur.execute(sql, {"agent": agent_id, "now": datetime.now(UTC), "reason": reason})
            except psycopg.errors.NoDataFound:  # deleted since the membership check
                abort(404)
            row = cur.fetchone()
    if problem is not None:
        return _render_queue(queue_id, {agent_id: problem}, 422)
    assert row is not None
    result: dict[str, Any] = row[0]
    name = member[0] or f"Agent {agent_id}"
    if result["changed"]:
        flash(done.format(name=name), "info")
    elif result["state"] == "logged_out" and action.startswith("break"):
        flash(f"{name} is logged out: log in first.", "warning")
    else:
        flash(unchanged.format(name=name), "warning")
    return redirect(url_for("console_queues.queue", queue_id=queue_id), code=303)
