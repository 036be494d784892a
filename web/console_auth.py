"""Console sign-in (Flask-Login): administrators of one domain, email and password.

GET/POST /console/login and POST /console/logout. Passwords are checked with
werkzeug.security against console.admin_user.password_hash; an unknown email costs the same
hash check as a known one. Repeated failures lock the (client IP, email) pair for a while
(web/login_throttle.py: in memory, per process). The session remembers the admin's id and a
fingerprint of the password hash, so changing an admin's password ends their other sessions and
deleting an admin (or the domain) ends them at the next request. A session ends 12 hours
(PERMANENT_SESSION_LIFETIME) after its last request.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import psycopg
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from psycopg.rows import tuple_row
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from web.app import connection
from web.login_throttle import LoginThrottle

bp = Blueprint("console_auth", __name__, url_prefix="/console")

_THROTTLE_KEY = "huntsman_login_throttle"
_ADMIN_SQL = """
    SELECT a.id, a.domain_id, d.name, a.email, a.password_hash
      FROM console.admin_user a JOIN cfg.domain d ON d.id = a.domain_id
"""


@dataclass(frozen=True)
class Admin:
    """The signed-in administrator (Flask-Login's user)."""

    id: int
    domain_id: int
    domain_name: str
    email: str
    password_hash: str

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}.{_fingerprint(self.password_hash)}"


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:20]


@cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so that both answers take as long."""
    return generate_password_hash("not the password of anyone")


def _fetch_admin(conn: psycopg.Connection[Any], where: str, value: Any) -> Admin | None:
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(f"{_ADMIN_SQL} WHERE {where} = %s", (value,))
        row = cur.fetchone()
    return Admin(*row) if row else None


def _load_admin(session_id: str) -> Admin | None:
    admin_id, _, fingerprint = session_id.partition(".")
    if not admin_id.isdigit() or len(admin_id) > 18:
        return None
    with connection() as conn:
        admin = _fetch_admin(conn, "a.id", int(admin_id))
    if admin is None or not hmac.compare_digest(fingerprint, _fingerprint(admin.password_hash)):
        return None
    return admin


def init_app(app: Flask) -> None:
    """Flask-Login and the lockout of the console."""
    manager = LoginManager(app)
    manager.login_view = "console_auth.login"
    manager.login_message = "Please sign in to see this page."
    manager.user_loader(_load_admin)
    app.extensions[_THROTTLE_KEY] = LoginThrottle(
        max_failures=app.config["CONSOLE_LOGIN_MAX_FAILURES"],
        window=timedelta(seconds=app.config["CONSOLE_LOGIN_WINDOW_SECONDS"]),
        lockout=timedelta(seconds=app.config["CONSOLE_LOGIN_LOCKOUT_SECONDS"]),
    )


def _throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions[_THROTTLE_KEY]
    return throttle


def safe_next(target: str | None) -> str | None:
    """`target` when it is a console page one may GET (no open redirect, no POST-only URL of an
    action that asked for a sign-in), else None."""
    if not target or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:
        return None
    return target


def _locked_answer(form: LoginForm, until: datetime, now: datetime) -> tuple[str, int, Any]:
    minutes = max(1, round((until - now).total_seconds() / 60))
    form.form_errors.append(
        f"Too many failed sign-ins: try again in {minutes} minute{'s' if minutes > 1 else ''}."
    )
    seconds = max(1, int((until - now).total_seconds()))
    return render_template("console/login.html", form=form), 429, {"Retry-After": str(seconds)}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("console_queues.queues"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("console/login.html", form=form)
    email = form.email.data.strip().lower()
    ip = request.remote_addr or "unknown"
    now = datetime.now(UTC)
    throttle = _throttle()
    until = throttle.locked_until(ip, email, now)
    if until is not None:
        return _locked_answer(form, until, now)
    # Counted as a failure before the check, with no yield to other greenlets since the
    # lockout test above: parallel guesses cannot outrun the lockout. Success clears it.
    throttle.record_failure(ip, email, now)
    with connection() as conn:
        admin = _fetch_admin(conn, "a.email", email)
    stored = admin.password_hash if admin else _dummy_hash()
    if admin is None or not check_password_hash(stored, form.password.data):
        until = throttle.locked_until(ip, email, now)
        if until is not None:
            return _locked_answer(form, until, now)
        form.form_errors.append("Wrong email or password.")
        return render_template("console/login.html", form=form)
    throttle.record_success(ip, email)
    session.clear()  # nothing from before the sign-in survives it
    session.permanent = True  # expires PERMANENT_SESSION_LIFETIME after the last request
    login_user(admin)
    flash(f"Signed in as {admin.email}.", "info")
    target = safe_next(request.args.get("next")) or url_for("console_queues.queues")
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("console_auth.login"), code=303)
