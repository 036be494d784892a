"""The controller's exception tree: one root, and each class knows how the call ends.

``hangup_cause`` is the Q.850 / FreeSWITCH cause the call handler hangs up with;
``use_fallback`` says whether the call is transferred to the configured fallback
instead (the error is ours, not the caller's: give the call a chance elsewhere).

Errors raised by the routing SQL carry a project SQLSTATE (class ``HM``).  Their
list lives in the table ``routing.error_code(sqlstate, name, hangup_cause, ...)``;
``SQL_ERRORS`` below mirrors it and ``tests/controller/test_errors.py`` checks that
both agree.
"""

from __future__ import annotations

from typing import ClassVar


class HuntsmanError(Exception):
    """Root of every error the controller raises on purpose."""

    hangup_cause: ClassVar[str] = "NORMAL_TEMPORARY_FAILURE"
    use_fallback: ClassVar[bool] = True


# --- Event Socket ---------------------------------------------------------------------------


class EslError(HuntsmanError):
    """Talking to FreeSWITCH failed; the call can no longer be steered reliably."""


class FrameError(EslError):
    """A frame from FreeSWITCH broke the wire format (bad Content-Length, oversize...)."""


class ConnectionLost(EslError):
    """The Event Socket closed (caller gone and linger over, or FreeSWITCH went away)."""


class CommandFailed(EslError):
    """FreeSWITCH answered a command with ``-ERR``."""


class CommandTimeout(EslError):
    """No reply (or no completion event) within the deadline."""


class UnsafeCommand(EslError):
    """A command or header value would break ESL framing (newline, NUL)."""


# --- the call and its plan ------------------------------------------------------------------


class CallerGone(HuntsmanError):
    """The caller hung up; nothing is left to steer."""

    hangup_cause = "ORIGINATOR_CANCEL"
    use_fallback = False


class InvalidCall(HuntsmanError):
    """The channel data cannot be routed (no UUID, malformed destination...)."""

    hangup_cause = "INVALID_NUMBER_FORMAT"
    use_fallback = False


class PlanError(HuntsmanError):
    """The plan JSON is not a valid plan v1."""


class DialStringError(PlanError):
    """A plan step cannot be turned into a safe dial string (bad target, >128 legs...)."""


class NotSupported(PlanError):
    """The plan asks for something this controller does not execute yet."""

    hangup_cause = "SERVICE_NOT_IMPLEMENTED"


# --- database -----------------------------------------------------------------------------------


class DatabaseError(HuntsmanError):
    """The database could not answer; the call goes to the fallback."""


class DatabaseUnavailable(DatabaseError):
    """No connection within the deadline, or the connection broke."""


class PlanTimeout(DatabaseUnavailable):
    """Planning took longer than HUNTSMAN_PLAN_TIMEOUT."""


class RoutingError(DatabaseError):
    """The routing SQL refused the call with a project SQLSTATE (class ``HM``)."""

    sqlstate: ClassVar[str] = "HM000"

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        if sqlstate is not None:
            self.sqlstate_seen = sqlstate


# sqlstate -> (name, hangup cause).  Mirror of routing.error_code; keep in step with 0001.
SQL_ERRORS: dict[str, tuple[str, str]] = {}


def routing_error(sqlstate: str, message: str) -> HuntsmanError:
    """Map a PostgreSQL error (SQLSTATE + message) to the matching controller error."""
    entry = SQL_ERRORS.get(sqlstate)
    if entry is None:
        return DatabaseError(f"{sqlstate}: {message}")
    name, cause = entry
    cls = _routing_classes[sqlstate]
    return cls(f"{name}: {message}", sqlstate)


def _make_routing_classes() -> dict[str, type[RoutingError]]:
    classes: dict[str, type[RoutingError]] = {}
    for sqlstate, (name, cause) in SQL_ERRORS.items():
        attrs = {"sqlstate": sqlstate, "hangup_cause": cause, "use_fallback": False}
        classes[sqlstate] = type(f"Routing_{name}", (RoutingError,), attrs)
    return classes


_routing_classes = _make_routing_classes()
