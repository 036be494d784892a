"""Plan JSON v1 parsing and validation."""

from typing import Any

import pytest

from controller.errors import PlanError
from controller.plan import (
    BridgeStep,
    HangupStep,
    PlayStep,
    QueueStep,
    TransferStep,
    VoicemailStep,
    parse_fallback_setting,
    parse_plan,
)


def plan(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "plan_version": 1,
        "call": {"uuid": "b75234f1-689a-4787-b60b-b32eefdf1072"},
        "route": {"kind": "group", "group_id": 12},
        "caller_id": {"name": "Alice", "number": "+4917012345"},
        "billing": {"direction": "inbound", "domain_id": 1},
        "steps": [
            {
                "type": "bridge",
                "group_id": 12,
                "label": "Sales",
                "strategy": "simultaneous",
                "timeout": 30,
                "variables": {"ignore_early_media": "true"},
                "legs": [
                    {"target": "user/1001@example.com", "delay": 0, "timeout": 20, "device_id": 7}
                ],
            },
            {"type": "queue", "queue_id": 4},
            {"type": "voicemail", "mailbox": "1001", "domain": "example.com"},
            {
                "type": "transfer",
                "destination": "+4930999",
                "dialplan": "XML",
                "context": "default",
            },
            {"type": "play", "file": "ivr/ivr-call_cannot_be_completed_as_dialed.wav"},
            {"type": "hangup", "cause": "NO_ANSWER"},
        ],
        "fallback": {"type": "transfer", "destination": "fallback", "context": "fallback"},
    }
    doc.update(over)
    return doc


def test_contract_example_parses() -> None:
    p = parse_plan(plan())
    kinds = [type(s) for s in p.steps]
    assert kinds == [BridgeStep, QueueStep, VoicemailStep, TransferStep, PlayStep, HangupStep]
    bridge = p.steps[0]
    assert isinstance(bridge, BridgeStep)
    assert bridge.legs[0].device_id == 7 and bridge.legs[0].timeout == 20
    assert p.fallback == TransferStep("fallback", "XML", "fallback")
    assert p.caller_id.name == "Alice"


def bridge_with(**over: Any) -> dict[str, Any]:
    step = {
        "type": "bridge",
        "strategy": "simultaneous",
        "timeout": 30,
        "legs": [{"target": "user/1001@example.com", "timeout": 20}],
    }
    step.update(over)
    return plan(steps=[step])


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(plan(plan_version=2), id="future-version"),
        pytest.param(plan(plan_version="1"), id="version-string"),
        pytest.param(plan(steps="x"), id="steps-not-list"),
        pytest.param(plan(steps=[{"type": "dance"}]), id="unknown-step"),
        pytest.param(bridge_with(strategy="random"), id="unresolved-strategy"),
        pytest.param(bridge_with(legs=[]), id="no-legs"),
        pytest.param(bridge_with(timeout=-5), id="timeout-negative"),
        pytest.param(bridge_with(timeout=0), id="timeout-zero"),
        pytest.param(bridge_with(timeout=99999999), id="timeout-huge"),
        pytest.param(bridge_with(timeout="30s"), id="timeout-string"),
        pytest.param(bridge_with(timeout=1e3), id="timeout-float"),
        pytest.param(bridge_with(timeout=True), id="timeout-bool"),
        pytest.param(
            bridge_with(legs=[{"target": "user/1@x", "timeout": "abc"}]), id="leg-timeout-abc"
        ),
        pytest.param(bridge_with(legs=[{"target": "user/1@x", "delay": -1}]), id="delay-negative"),
        pytest.param(bridge_with(variables={"a": {"b": 1}}), id="nested-variable"),
        pytest.param(plan(steps=[{"type": "hangup", "cause": "no answer"}]), id="bad-cause"),
        pytest.param(
            plan(steps=[{"type": "transfer", "destination": "1 XML evil"}]), id="transfer-spaces"
        ),
        pytest.param(plan(steps=[{"type": "play", "file": "../../etc/passwd"}]), id="play-dotdot"),
        pytest.param(plan(fallback={"type": "hangup"}), id="fallback-not-transfer"),
        pytest.param([], id="not-an-object"),
    ],
)
def test_invalid_plans_are_refused(doc: Any) -> None:
    with pytest.raises(PlanError):
        parse_plan(doc)


def test_fallback_setting() -> None:
    assert parse_fallback_setting("fallback XML fallback") == TransferStep(
        "fallback", "XML", "fallback"
    )
    for bad in ("fallback", "a b c d", "x;y XML default"):
        with pytest.raises(PlanError):
            parse_fallback_setting(bad)
