"""The Flask application factory: configuration, the database pool, CSRF, the blueprints.

The console (web/console_*.py, HTML pages for administrators) signs in with a session cookie:
HttpOnly, SameSite=Lax, and Secure when HUNTSMAN_SECURE_COOKIES=1 (behind HTTPS). Every console
form carries a CSRF token; the bearer-token JSON API blueprints are exempt.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
from flask import Flask, current_app, jsonify
from flask_wtf.csrf import CSRFProtect
from psycopg_pool import ConnectionPool

log = logging.getLogger("huntsman.web")

_POOL_KEY = "huntsman_pool"
_POOL_LOCK_KEY = "huntsman_pool_lock"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application. `test_config` overrides the settings read from the environment
    (DATABASE_URL, HUNTSMAN_SECRET_KEY)."""
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        SECRET_KEY=os.environ.get("HUNTSMAN_SECRET_KEY"),
        DB_POOL_MAX=int(os.environ.get("HUNTSMAN_WEB_DB_POOL", "10")),
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_flag(os.environ.get("HUNTSMAN_SECURE_COOKIES")),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        CONSOLE_LOGIN_MAX_FAILURES=5,
        CONSOLE_LOGIN_WINDOW_SECONDS=15 * 60,
        CONSOLE_LOGIN_LOCKOUT_SECONDS=15 * 60,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config["SECRET_KEY"]:
        log.warning(
            "HUNTSMAN_SECRET_KEY is not set: using an ephemeral key (sessions end on restart)"
        )
        app.config["SECRET_KEY"] = secrets.token_hex(32)

    app.extensions[_POOL_LOCK_KEY] = threading.Lock()

    from web import api_queues, api_reports, api_usage, console_auth, console_pages, console_queues

    csrf = CSRFProtect(app)
    for blueprint in (api_usage.bp, api_reports.bp, api_queues.bp):
        csrf.exempt(blueprint)  # bearer-token API: no cookies, no CSRF
        app.register_blueprint(blueprint)
    console_auth.init_app(app)
    for blueprint in (console_pages.bp, console_auth.bp, console_queues.bp):
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def healthz() -> Any:
        with connection() as conn:
            conn.execute("SELECT 1")
        return jsonify(status="ok")

    return app


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def get_pool(app: Flask | None = None) -> ConnectionPool:
    """The application's connection pool, opened on first use."""
    app = app or current_app
    pool = app.extensions.get(_POOL_KEY)
    if pool is not None:
        return pool
    with app.extensions[_POOL_LOCK_KEY]:  # the first requests arrive together: open one pool
        pool = app.extensions.get(_POOL_KEY)
        if pool is None:
            url = app.config["DATABASE_URL"]
            if not url:
                raise RuntimeError("DATABASE_URL is not configured")
            pool = ConnectionPool(
                url, min_size=1, max_size=app.config["DB_POOL_MAX"], open=True, name="huntsman-web"
            )
            app.extensions[_POOL_KEY] = pool
    return pool


def close_pool(app: Flask) -> None:
    pool = app.extensions.pop(_POOL_KEY, None)
    if pool is not None:
        pool.close()


@contextmanager
def connection() -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection inside a transaction (committed when the block ends without error)."""
    with get_pool().connection() as conn:
        yield conn
