"""The CDR document given to ``cdr.record_call(p_cdr jsonb)``.  Pure.

Shape (all times ISO 8601 UTC; FreeSWITCH's ``*_uepoch`` values from
CHANNEL_HANGUP_COMPLETE win over the controller's own observations)::

    {"uuid", "domain", "caller_number", "caller_name", "destination",
     "route": {"kind", "number_id", "group_id", "rule_id"},
     "answered_by": {"target", "device_id"} | null,
     "start_at", "answer_at", "end_at", "billsec", "duration",
     "hangup_cause", "disposition": answered|no_answer|busy|failed|abandoned,
     "plan": {...} | null,
     "legs": [{"seq", "step", "target", "device_id", "outcome", "cause",
               "started_at", "answered_at", "ended_at"}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from controller import channel_vars as cv
from controller.esl_frames import Event

DISPOSITIONS = ("answered", "no_answer", "busy", "failed", "abandoned")
_NO_ANSWER = {"NO_ANSWER", "ALLOTTED_TIMEOUT", "NO_USER_RESPONSE", "LOSE_RACE", "PROGRESS_TIMEOUT"}


@dataclass
class LegRecord:
    seq: int
    step: int
    target: str
    device_id: int | None
    outcome: str
    cause: str
    started_at: str | None
    answered_at: str | None
    ended_at: str | None


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat()


def _uepoch(event: Event | None, key: str) -> datetime | None:
    if event is None:
        return None
    raw = event.get(key)
    if not raw.isdigit() or int(raw) <= 0:
        return None
    return datetime.fromtimestamp(int(raw) / 1_000_000, UTC)


def disposition(
    *, answered: bool, abandoned: bool, last_failure: str | None, hangup: Event | None
) -> str:
    if answered:
        return "answered"
    if abandoned:
        return "abandoned"
    if last_failure == "USER_BUSY":
        return "busy"
    if last_failure in _NO_ANSWER:
        return "no_answer"
    if _uepoch(hangup, cv.CV_ANSWER_UEPOCH) is not None:
        return "answered"  # answered by what the plan or fallback ran (voicemail, IVR...)
    return "failed"


def build_cdr(
    call: Mapping[str, Any],
    plan: Mapping[str, Any] | None,
    legs: list[LegRecord],
    *,
    hangup: Event | None,
    started: datetime,
    answered: datetime | None,
    ended: datetime,
    hangup_cause: str | None,
    disposition: str,
    answered_by: Mapping[str, Any] | None,
) -> dict[str, Any]:
    start = _uepoch(hangup, cv.CV_START_UEPOCH) or started
    answer = _uepoch(hangup, cv.CV_ANSWER_UEPOCH) or answered
    end = _uepoch(hangup, cv.CV_END_UEPOCH) or ended
    duration = max(0, int((end - start).total_seconds()))
    billsec = max(0, int((end - answer).total_seconds())) if answer else 0
    if hangup is not None:
        for key, name in ((cv.CV_DURATION, "duration"), (cv.CV_BILLSEC, "billsec")):
            raw = hangup.get(key)
            if raw.isdigit():
                if name == "duration":
                    duration = int(raw)
                else:
                    billsec = int(raw)
    route = dict(plan.get("route") or {}) if plan else {}
    doc: dict[str, Any] = {
        "uuid": call.get("uuid"),
        "domain": call.get("domain") or None,
        "caller_number": call.get("caller_number"),
        "caller_name": call.get("caller_name"),
        "destination": call.get("destination"),
        "route": {k: route.get(k) for k in ("kind", "number_id", "group_id", "rule_id")},
        "answered_by": dict(answered_by) if answered_by else None,
        "start_at": iso(start),
        "answer_at": iso(answer),
        "end_at": iso(end),
        "billsec": min(billsec, duration),
        "duration": duration,
        "hangup_cause": hangup_cause,
        "disposition": disposition,
        "legs": [asdict(leg) for leg in legs],
    }
    scrubbed: dict[str, Any] = scrub(doc)
    scrubbed["plan"] = dict(plan) if plan else None  # from PostgreSQL: already clean
    return scrubbed


def scrub(value: Any) -> Any:
    """Remove what PostgreSQL refuses in jsonb text (NUL, lone surrogates), recursively."""
    if isinstance(value, str):
        text = value.replace("\x00", "")
        return text.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value
