"""What every console page shares: error pages and response headers.

Console answers (paths under /console/) carry a Content-Security-Policy that allows only the
console's own files (no inline script, no framing), are never cached, and errors are HTML pages
in the console's layout. Other paths (the JSON API, /healthz) are left as they are.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

bp = Blueprint("console_pages", __name__)

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _in_console() -> bool:
    return request.path == "/console" or request.path.startswith("/console/")


@bp.after_app_request
def _console_headers(response: Response) -> Response:
    if _in_console():
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        response.vary.add("HX-Request")  # a page or its fragment (web/fragments.py)
    return response


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Any:
    message = (
        "The form had no valid security token (it may have expired). Reload the page and try again."
    )
    return render_template("console/error.html", title="Form refused", message=message), 400


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _not_found(exc: HTTPException) -> Any:
    if not _in_console():
        return exc
    if exc.code == 404:
        title, message = "Not found", "There is nothing here, or it is not yours to see."
    else:
        title, message = "Method not allowed", "This page does not accept that request."
    return render_template("console/error.html", title=title, message=message), exc.code
