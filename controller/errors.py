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


class DataRejected(DatabaseError):
    """The database refused the data itself (SQLSTATE class 22/23): retrying cannot help."""

    use_fallback = True


class RoutingError(DatabaseError):
    """The routing SQL refused the call with a project SQLSTATE (class ``HM``)."""

    sqlstate: ClassVar[str] = "HM000"


# sqlstate -> (name, hangup cause).  Mirror of routing.error_code (seeded by the migrations).
SQL_ERRORS: dict[str, tuple[str, str]] = {
    "HM001": ("overflow_hop_limit", "EXCHANGE_ROUTING_ERROR"),
    "HM002": ("overflow_cycle", "EXCHANGE_ROUTING_ERROR"),
    "HM003": ("invalid_time_zone", "EXCHANGE_ROUTING_ERROR"),
    "HM004": ("invalid_call", "INVALID_NUMBER_FORMAT"),
    "HMB01": ("invalid_usage_event", "NORMAL_TEMPORARY_FAILURE"),
    "HMB02": ("unknown_billing_object", "NORMAL_TEMPORARY_FAILURE"),
    "HMB03": ("invalid_report_period", "NORMAL_TEMPORARY_FAILURE"),
    "HMC01": ("invalid_cdr", "NORMAL_CLEARING"),
}
INVALID_CDR_SQLSTATE = "HMC01"


def routing_error(sqlstate: str, message: str) -> HuntsmanError:
    """Map a PostgreSQL error (SQLSTATE + message) to the matching controller error."""
    entry = SQL_ERRORS.get(sqlstate)
    if entry is None:
        return DatabaseError(f"{sqlstate}: {message}")
    name, cause = entry
    cls = _routing_classes[sqlstate]
    return cls(f"{name}: {message}")


def _make_routing_classes() -> dict[str, type[RoutingError]]:
    classes: dict[str, type[RoutingError]] = {}
    for sqlstate, (name, cause) in SQL_ERRORS.items():
        attrs = {"sqlstate": sqlstate, "hangup_cause": cause, "use_fallback": False}
        classes[sqlstate] = type(f"Routing_{name}", (RoutingError,), attrs)
    return classes


_routing_classes = _make_routing_classes()
