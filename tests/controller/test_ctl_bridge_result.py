"""Bridge results read from CHANNEL_EXECUTE_COMPLETE, as real FreeSWITCH sends them."""

import pytest

from controller.bridge_result import caller_cause, leg_outcome, parse_bridge_result
from controller.esl_frames import Event


def ev(**headers: str) -> Event:
    return Event(headers={k.replace("__", "-"): v for k, v in headers.items()})


# Values copied from /work/shared/freeswitch-captures/outbound-bridge-*.summary.txt
CASES = [
    pytest.param(
        ev(
            variable_originate_disposition="SUCCESS",
            variable_DIALSTATUS="SUCCESS",
            variable_bridge_hangup_cause="NORMAL_CLEARING",
            variable_last_bridge_hangup_cause="LOSE_RACE",
            variable_originate_causes="ARRAY::ceb2;LOSE_RACE|:5e3c;NONE",
            Other__Leg__Unique__ID="5e3c",
        ),
        True,
        "NORMAL_CLEARING",
        id="simultaneous-b-wins",
    ),
    pytest.param(
        ev(
            Hangup__Cause="USER_BUSY",
            variable_originate_disposition="USER_BUSY",
            variable_DIALSTATUS="BUSY",
            variable_originate_failed_cause="USER_BUSY",
            variable_originate_causes="0b3f;USER_BUSY",
        ),
        False,
        "USER_BUSY",
        id="busy",
    ),
    pytest.param(
        ev(
            variable_originate_disposition="NO_ANSWER",
            variable_DIALSTATUS="NOANSWER",
            variable_originate_failed_cause="NO_ANSWER",
            variable_originate_causes="f755;NO_ANSWER",
        ),
        False,
        "NO_ANSWER",
        id="no-answer",
    ),
    pytest.param(
        ev(
            variable_originate_disposition="NORMAL_TEMPORARY_FAILURE",
            variable_originate_failed_cause="NORMAL_TEMPORARY_FAILURE",
            variable_originate_causes=(
                "ARRAY::a82b;ALLOTTED_TIMEOUT|:801c;USER_BUSY|:03a4;NORMAL_TEMPORARY_FAILURE"
            ),
        ),
        False,
        "NORMAL_TEMPORARY_FAILURE",
        id="all-fail",
    ),
]


@pytest.mark.parametrize(("event", "answered", "cause"), CASES)
def test_parse(event: Event, answered: bool, cause: str) -> None:
    result = parse_bridge_result(event)
    assert result.answered is answered
    assert result.cause == cause


def test_leg_causes_in_order() -> None:
    result = parse_bridge_result(CASES[3].values[0])  # type: ignore[index]
    assert [(lc.uuid, lc.cause) for lc in result.legs] == [
        ("a82b", "ALLOTTED_TIMEOUT"),
        ("801c", "USER_BUSY"),
        ("03a4", "NORMAL_TEMPORARY_FAILURE"),
    ]


@pytest.mark.parametrize(
    ("cause", "caller", "outcome"),
    [
        ("ALLOTTED_TIMEOUT", "NO_ANSWER", "no_answer"),
        ("NO_ANSWER", "NO_ANSWER", "no_answer"),
        ("USER_BUSY", "USER_BUSY", "busy"),
        ("LOSE_RACE", "NO_ANSWER", "lose_race"),
        ("USER_NOT_REGISTERED", "USER_NOT_REGISTERED", "unreachable"),
        ("CALL_REJECTED", "CALL_REJECTED", "failed"),
        ("ORIGINATOR_CANCEL", "NORMAL_CLEARING", "cancelled"),
    ],
)
def test_cause_mapping(cause: str, caller: str, outcome: str) -> None:
    assert caller_cause(cause) == caller
    assert leg_outcome(cause) == outcome
