"""Dial strings for ``bridge``, built from a plan step; every value escaped or refused.

Pure.  Layout by strategy (FreeSWITCH ``switch_ivr_originate.c``):

* simultaneous: ``{globals,originate_timeout=T}[leg_timeout=t,leg_delay_start=d,..]A,[..]B``
* sequential:   ``{globals}[leg_timeout=t,leg_delay_start=d,..]A|[..]B``
* enterprise:   ``<globals,originate_timeout=T>{originate_timeout=t,..}A:_:{..}B``
  (each ``:_:`` part is its own originate, so its timers go in its own ``{}``).

Every leg gets ``origination_uuid`` (chosen by the controller) so the bridge's
``originate_causes`` can be mapped back to plan legs.  Globals always carry
``ignore_early_media=true``, the caller ID to present and
``sip_h_X-Huntsman-Call=<call uuid>``; the step's and leg's own variables follow.

Values: the whole string is an application argument, so FreeSWITCH first expands
``${...}`` in it (where a backslash before ``$``, ``\\`` or a quote is consumed) and
then splits it on ``,`` ``|`` ``:_:`` and the brackets (where ``\\,`` is an escaped
comma and quotes group).  ``escape_value`` therefore leaves exactly one escape in the
output, ``\\,``, which passes the expansion untouched:

* control characters are removed (a newline cannot be escaped);
* ``{ } [ ] < > | ^`` and backslashes become spaces, so neither ``${system(id)}``
  nor ``$${hostname}`` can form, nor a bracket or a ``^^`` delimiter switch;
  ``:_:`` is broken up;
* quotes become typographic ones (’ ”), so they cannot open a quoted group;
* ``,`` becomes ``\\,``.

Targets and variable names are not escaped but matched against allow-lists;
anything else raises ``DialStringError`` (the call goes to the fallback).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from controller import channel_vars as cv
from controller.call_context import NUMBER_RE, clean_text, is_uuid
from controller.errors import DialStringError
from controller.plan import MAX_LEGS_PER_STEP, BridgeStep, CallerId, Leg

MAX_VALUE_CHARS = 256
DELIMITERS = {"simultaneous": ",", "sequential": "|", "enterprise": ":_:"}

_VAR_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_TARGET_RE = re.compile(
    r"user/[A-Za-z0-9_.+\-]{1,64}@[A-Za-z0-9.\-]{1,253}"
    r"|sofia/gateway/[A-Za-z0-9_.\-]{1,64}/\+?[0-9]{1,15}"
    r"|sofia/[A-Za-z0-9_.\-]{1,64}/[A-Za-z0-9_.+\-]{1,64}(@[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?)?"
    r"|loopback/[A-Za-z0-9_+*#\-]{1,64}(/[A-Za-z0-9_\-]{1,64})?"
    r"|error/[A-Z_]{1,64}"
)
_REPLACED = str.maketrans({**{c: " " for c in "{}[]<>|^\\"}, "'": "\u2019", '"': "\u201d"})
# Set by the builder itself; the plan may not override them.
_RESERVED = frozenset(
    {
        cv.DS_LEG_TIMEOUT,
        cv.DS_LEG_DELAY_START,
        cv.DS_ORIGINATE_TIMEOUT,
        cv.DS_ORIGINATE_DELAY_START,
        cv.DS_CALL_HEADER,
        cv.DS_ORIGINATION_UUID,
    }
)


def escape_value(value: str) -> str:
    """Make ``value`` inert inside ``{}`` ``[]`` ``<>`` of a dial string."""
    text = clean_text(value, MAX_VALUE_CHARS).translate(_REPLACED).strip()
    while ":_:" in text:
        text = text.replace(":_:", ": :")
    return text.replace(",", "\\,")


def check_target(target: str) -> str:
    if not _TARGET_RE.fullmatch(target):
        raise DialStringError(f"leg target {target[:80]!r} is not an allowed endpoint")
    return target


def check_var_name(name: str) -> str:
    if not _VAR_NAME_RE.fullmatch(name):
        raise DialStringError(f"variable name {name[:80]!r} is not allowed")
    return name


def format_vars(pairs: Iterable[tuple[str, str]]) -> str:
    """``a=1,b=x\\,y`` with names checked and values escaped (no brackets)."""
    return ",".join(f"{check_var_name(k)}={escape_value(v)}" for k, v in pairs)


def _user_vars(variables: Mapping[str, str]) -> list[tuple[str, str]]:
    out = []
    for name, value in variables.items():
        if name in _RESERVED:
            raise DialStringError(f"variable {name!r} is set by the controller, not the plan")
        out.append((name, value))
    return out


def global_vars(step: BridgeStep, caller_id: CallerId, call_uuid: str) -> list[tuple[str, str]]:
    if not is_uuid(call_uuid):
        raise DialStringError(f"call uuid {call_uuid[:60]!r} is not a UUID")
    pairs: dict[str, str] = {cv.DS_IGNORE_EARLY_MEDIA: "true"}
    if caller_id.name:
        pairs[cv.DS_CALLER_ID_NAME] = caller_id.name
    if caller_id.number and NUMBER_RE.fullmatch(caller_id.number):
        pairs[cv.DS_CALLER_ID_NUMBER] = caller_id.number
    pairs[cv.DS_CALL_HEADER] = call_uuid
    for name, value in _user_vars(step.variables):
        pairs[name] = value
    if step.strategy != "sequential":
        pairs[cv.DS_ORIGINATE_TIMEOUT] = str(step.timeout)
    return list(pairs.items())


def leg_string(leg: Leg, strategy: str, leg_uuid: str) -> str:
    if strategy == "enterprise":
        timers = [(cv.DS_ORIGINATE_TIMEOUT, leg.timeout), (cv.DS_ORIGINATE_DELAY_START, leg.delay)]
        open_, close = "{", "}"
    else:
        timers = [(cv.DS_LEG_TIMEOUT, leg.timeout), (cv.DS_LEG_DELAY_START, leg.delay)]
        open_, close = "[", "]"
    if not is_uuid(leg_uuid):
        raise DialStringError(f"leg uuid {leg_uuid[:60]!r} is not a UUID")
    pairs = [(cv.DS_ORIGINATION_UUID, leg_uuid)]
    pairs += [(k, str(v)) for k, v in timers] + _user_vars(leg.variables)
    return f"{open_}{format_vars(pairs)}{close}{check_target(leg.target)}"


def build_dial_string(
    step: BridgeStep, caller_id: CallerId, call_uuid: str, leg_uuids: Sequence[str]
) -> str:
    """The ``bridge`` argument for one plan step; ``leg_uuids[i]`` names leg i's channel."""
    if step.strategy not in DELIMITERS:
        raise DialStringError(f"unknown strategy {step.strategy!r}")
    if not step.legs:
        raise DialStringError("a bridge step needs at least one leg")
    if len(step.legs) > MAX_LEGS_PER_STEP:
        raise DialStringError(
            f"{len(step.legs)} legs in one bridge (FreeSWITCH allows {MAX_LEGS_PER_STEP})"
        )
    if len(leg_uuids) != len(step.legs):
        raise DialStringError("one origination uuid per leg is required")
    glob = format_vars(global_vars(step, caller_id, call_uuid))
    legs = DELIMITERS[step.strategy].join(
        leg_string(leg, step.strategy, u) for leg, u in zip(step.legs, leg_uuids, strict=True)
    )
    if step.strategy == "enterprise":
        return f"<{glob}>{legs}"
    return f"{{{glob}}}{legs}"


def ring_budget(step: BridgeStep) -> int:
    """Longest time (s) the step can ring: bounds the wait for its completion event."""
    if step.strategy == "sequential":
        return sum(leg.delay + leg.timeout for leg in step.legs)
    return max(step.timeout, max(leg.delay + leg.timeout for leg in step.legs))
