"""JSON error answers of the API: one shape, `{"error": code, "message": ..., "field": ...}`."""

from __future__ import annotations

from flask import Response, jsonify


def error(status: int, code: str, message: str, field: str | None = None) -> Response:
    body: dict[str, str] = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer realm="huntsman", error="{code}"'
    return response
