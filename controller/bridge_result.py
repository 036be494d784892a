"""What a ``bridge`` did, read from its CHANNEL_EXECUTE_COMPLETE event.  Pure.

Results are read only from the bridge's own completion event (matched by
``Application-UUID``): CHANNEL_PROGRESS carries stale values during ringing.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller import channel_vars as cv
from controller.esl_frames import Event

# Causes a caller should hear instead of FreeSWITCH-internal ones.
_CALLER_CAUSE = {
    "ALLOTTED_TIMEOUT": "NO_ANSWER",
    "LOSE_RACE": "NO_ANSWER",
    "NO_USER_RESPONSE": "NO_ANSWER",
    "PROGRESS_TIMEOUT": "NO_ANSWER",
    "ORIGINATOR_CANCEL": "NORMAL_CLEARING",
    cv.HANGUP_CAUSE_NONE: "NORMAL_CLEARING",
    "": "NORMAL_TEMPORARY_FAILURE",
}
_NO_ANSWER = {"NO_ANSWER", "ALLOTTED_TIMEOUT", "NO_USER_RESPONSE", "PROGRESS_TIMEOUT"}
_UNREACHABLE = {"USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT", "UNALLOCATED_NUMBER"}


@dataclass(frozen=True)
class LegCause:
    uuid: str
    cause: str  # NONE for the leg that answered


@dataclass(frozen=True)
class BridgeResult:
    answered: bool
    cause: str  # why it failed (FreeSWITCH cause), or the bridged call's hangup cause
    dialstatus: str
    other_leg_uuid: str
    legs: tuple[LegCause, ...]

    @property
    def outcome(self) -> str:
        return "answered" if self.answered else leg_outcome(self.cause)


def parse_originate_causes(text: str) -> tuple[LegCause, ...]:
    """``ARRAY::u1;LOSE_RACE|:u2;NONE`` or ``u1;USER_BUSY`` -> leg causes in order."""
    if text.startswith("ARRAY::"):
        items = text[len("ARRAY::") :].split("|:")
    elif text:
        items = [text]
    else:
        items = []
    out = []
    for item in items:
        uuid, _, cause = item.partition(";")
        if uuid:
            out.append(LegCause(uuid=uuid.strip(), cause=cause.strip() or cv.HANGUP_CAUSE_NONE))
    return tuple(out)


def parse_bridge_result(event: Event) -> BridgeResult:
    disposition = event.get(cv.CV_ORIGINATE_DISPOSITION)
    dialstatus = event.get(cv.CV_DIALSTATUS)
    answered = cv.DISPOSITION_SUCCESS in (disposition, dialstatus)
    if answered:
        cause = event.get(cv.CV_BRIDGE_HANGUP_CAUSE) or "NORMAL_CLEARING"
    else:
        cause = (
            event.get(cv.CV_ORIGINATE_FAILED_CAUSE)
            or (disposition if disposition and disposition != "FAILURE" else "")
            or event.get(cv.CV_LAST_BRIDGE_HANGUP_CAUSE)
            or event.get(cv.H_HANGUP_CAUSE)
            or "NORMAL_TEMPORARY_FAILURE"
        )
    return BridgeResult(
        answered=answered,
        cause=cause,
        dialstatus=dialstatus,
        other_leg_uuid=event.get(cv.H_OTHER_LEG_UNIQUE_ID),
        legs=parse_originate_causes(event.get(cv.CV_ORIGINATE_CAUSES)),
    )


def caller_cause(cause: str) -> str:
    """The cause to hang the caller up with when every step failed with ``cause``."""
    return _CALLER_CAUSE.get(cause, cause)


def leg_outcome(cause: str) -> str:
    """A leg's or a step's outcome word for the CDR from its FreeSWITCH cause."""
    if cause == cv.HANGUP_CAUSE_NONE:
        return "answered"
    if cause == "USER_BUSY":
        return "busy"
    if cause in _NO_ANSWER:
        return "no_answer"
    if cause == "LOSE_RACE":
        return "lose_race"
    if cause == "ORIGINATOR_CANCEL":
        return "cancelled"
    if cause in _UNREACHABLE:
        return "unreachable"
    return "failed"
