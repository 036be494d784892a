"""Plan JSON v1 (contracts.md section 3) parsed and validated into frozen dataclasses.

Pure.  The plan comes from our own SQL, but it is still checked: a broken plan must
end in the fallback, not in a half-executed call.  Dial-string safety of targets
and variables is checked again by ``dialstring``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.errors import PlanError

PLAN_VERSION = 1
MAX_LEGS_PER_STEP = 128
MAX_STEPS = 32
MAX_TIMEOUT_S = 3600
STRATEGIES = ("simultaneous", "sequential", "enterprise")

_CAUSE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_EXTEN_RE = re.compile(r"[A-Za-z0-9+*#_.\-]{1,64}")
_WORD_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_FILE_RE = re.compile(r"(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_./\-]{0,254}")


@dataclass(frozen=True)
class Leg:
    target: str
    delay: int = 0
    timeout: int = 20
    member_id: int | None = None
    device_id: int | None = None
    label: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BridgeStep:
    strategy: str
    timeout: int
    legs: tuple[Leg, ...]
    group_id: int | None = None
    label: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueStep:
    queue_id: int


@dataclass(frozen=True)
class VoicemailStep:
    mailbox: str
    domain: str


@dataclass(frozen=True)
class TransferStep:
    destination: str
    dialplan: str = "XML"
    context: str = "default"

    @property
    def argument(self) -> str:
        return f"{self.destination} {self.dialplan} {self.context}"


@dataclass(frozen=True)
class PlayStep:
    file: str


@dataclass(frozen=True)
class HangupStep:
    cause: str


Step = BridgeStep | QueueStep | VoicemailStep | TransferStep | PlayStep | HangupStep


@dataclass(frozen=True)
class CallerId:
    name: str = ""
    number: str = ""


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    fallback: TransferStep | None
    caller_id: CallerId
    route: Mapping[str, Any]
    billing: Mapping[str, Any]
    raw: Mapping[str, Any]


# --- field readers ----------------------------------------------------------------------------


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PlanError(f"{what} must be an object, got {type(value).__name__}")
    return value


def _int(obj: Mapping[str, Any], key: str, lo: int, hi: int, default: int | None = None) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(f"{key} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise PlanError(f"{key}={value} is outside {lo}..{hi}")
    return value


def _opt_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(f"{key} must be an integer or null, got {value!r}")
    return value


def _str(
    obj: Mapping[str, Any], key: str, pattern: re.Pattern[str] | None = None, **kw: str
) -> str:
    value = obj.get(key, kw.get("default"))
    if not isinstance(value, str):
        raise PlanError(f"{key} must be a string, got {value!r}")
    if pattern is not None and not pattern.fullmatch(value):
        raise PlanError(f"{key}={value[:80]!r} is not allowed")
    return value


def _vars(obj: Mapping[str, Any], key: str) -> dict[str, str]:
    value = obj.get(key) or {}
    mapping = _obj(value, key)
    out: dict[str, str] = {}
    for k, v in mapping.items():
        if not isinstance(k, str) or isinstance(v, (dict, list)) or v is None:
            raise PlanError(f"{key}.{k!r} must map a name to a scalar")
        out[k] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


# --- steps ----------------------------------------------------------------------------------


def _leg(obj: Mapping[str, Any]) -> Leg:
    return Leg(
        target=_str(obj, "target"),
        delay=_int(obj, "delay", 0, MAX_TIMEOUT_S, 0),
        timeout=_int(obj, "timeout", 1, MAX_TIMEOUT_S, 20),
        member_id=_opt_int(obj, "member_id"),
        device_id=_opt_int(obj, "device_id"),
        label=str(obj.get("label") or ""),
        variables=_vars(obj, "variables"),
    )


def _bridge(obj: Mapping[str, Any]) -> BridgeStep:
    strategy = _str(obj, "strategy")
    if strategy not in STRATEGIES:
        raise PlanError(f"unknown bridge strategy {strategy!r}")
    legs_raw = obj.get("legs")
    if not isinstance(legs_raw, list) or not legs_raw:
        raise PlanError("a bridge step needs a non-empty list of legs")
    if len(legs_raw) > MAX_LEGS_PER_STEP:
        raise PlanError(f"{len(legs_raw)} legs in one bridge step (max {MAX_LEGS_PER_STEP})")
    return BridgeStep(
        strategy=strategy,
        timeout=_int(obj, "timeout", 1, MAX_TIMEOUT_S, 30),
        legs=tuple(_leg(_obj(leg, "leg")) for leg in legs_raw),
        group_id=_opt_int(obj, "group_id"),
        label=str(obj.get("label") or ""),
        variables=_vars(obj, "variables"),
    )


def parse_transfer(obj: Mapping[str, Any]) -> TransferStep:
    return TransferStep(
        destination=_str(obj, "destination", _EXTEN_RE),
        dialplan=_str(obj, "dialplan", _WORD_RE, default="XML"),
        context=_str(obj, "context", _WORD_RE, default="default"),
    )


def parse_step(value: Any) -> Step:
    obj = _obj(value, "step")
    kind = obj.get("type")
    if kind == "bridge":
        return _bridge(obj)
    if kind == "queue":
        return QueueStep(queue_id=_int(obj, "queue_id", 1, 2**63 - 1))
    if kind == "voicemail":
        return VoicemailStep(
            mailbox=_str(obj, "mailbox", _WORD_RE), domain=_str(obj, "domain", _WORD_RE)
        )
    if kind == "transfer":
        return parse_transfer(obj)
    if kind == "play":
        return PlayStep(file=_str(obj, "file", _FILE_RE))
    if kind == "hangup":
        return HangupStep(cause=_str(obj, "cause", _CAUSE_RE, default="NORMAL_CLEARING"))
    raise PlanError(f"unknown step type {kind!r}")


def parse_plan(value: Any) -> Plan:
    """Validate a plan v1 document; raise ``PlanError`` naming the offending field."""
    obj = _obj(value, "plan")
    version = obj.get("plan_version")
    if version != PLAN_VERSION:
        raise PlanError(f"unsupported plan_version {version!r} (expected {PLAN_VERSION})")
    steps_raw = obj.get("steps")
    if not isinstance(steps_raw, list):
        raise PlanError("steps must be a list")
    if len(steps_raw) > MAX_STEPS:
        raise PlanError(f"{len(steps_raw)} steps (max {MAX_STEPS})")
    fallback_raw = obj.get("fallback")
    fallback = None
    if fallback_raw is not None:
        fb = _obj(fallback_raw, "fallback")
        if fb.get("type", "transfer") != "transfer":
            raise PlanError(f"fallback type {fb.get('type')!r} is not supported")
        fallback = parse_transfer(fb)
    cid = _obj(obj.get("caller_id") or {}, "caller_id")
    return Plan(
        steps=tuple(parse_step(s) for s in steps_raw),
        fallback=fallback,
        caller_id=CallerId(name=str(cid.get("name") or ""), number=str(cid.get("number") or "")),
        route=_obj(obj.get("route") or {}, "route"),
        billing=_obj(obj.get("billing") or {}, "billing"),
        raw=obj,
    )


def parse_fallback_setting(text: str) -> TransferStep:
    """``HUNTSMAN_FALLBACK`` is ``"<destination> <dialplan> <context>"``."""
    parts = text.split()
    if len(parts) != 3:
        raise PlanError(f"fallback {text!r} must be '<destination> <dialplan> <context>'")
    return parse_transfer({"destination": parts[0], "dialplan": parts[1], "context": parts[2]})
