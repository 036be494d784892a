"""Hangup causes: names, Q.850 codes and the DIALSTATUS FreeSWITCH derives from them."""

from __future__ import annotations

Q850: dict[str, int] = {
    "NONE": 0,
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_DESTINATION": 3,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SERVICE_UNAVAILABLE": 63,
    "CHAN_NOT_IMPLEMENTED": 66,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "ORIGINATOR_CANCEL": 487,
    "LOSE_RACE": 502,
    "USER_NOT_REGISTERED": 606,
    "ALLOTTED_TIMEOUT": 602,
    "NO_PICKUP": 607,
}


def q850(cause: str) -> int:
    """Q.850 code of a cause name (FreeSWITCH's own causes use their 5xx/6xx numbers)."""
    return Q850.get(cause, 0)


def dialstatus(cause: str) -> str:
    """``DIALSTATUS`` after a bridge that ended with ``cause`` (mod_dptools)."""
    return {
        "SUCCESS": "SUCCESS",
        "USER_BUSY": "BUSY",
        "NO_ANSWER": "NOANSWER",
        "ORIGINATOR_CANCEL": "CANCEL",
    }.get(cause, cause)


def cause_in_list(cause: str, listing: str) -> bool:
    """True when ``cause`` (by name or Q.850 number) is in a comma separated list."""
    items = {item.strip().upper() for item in listing.split(",") if item.strip()}
    return cause in items or str(q850(cause)) in items
