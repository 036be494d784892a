"""A simulated channel (A-leg or B-leg): profile, states, variables and timestamps."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent.event

from switchsim.urlcode import encoded_line
from switchsim.variables import VarList

if TYPE_CHECKING:
    from switchsim.switch import Switch

STATE_NUMBERS = {
    "CS_NEW": 0,
    "CS_INIT": 1,
    "CS_ROUTING": 2,
    "CS_SOFT_EXECUTE": 3,
    "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5,
    "CS_PARK": 6,
    "CS_CONSUME_MEDIA": 7,
    "CS_HIBERNATE": 8,
    "CS_RESET": 9,
    "CS_HANGUP": 10,
    "CS_REPORTING": 11,
    "CS_DESTROY": 12,
}

TIME_FIELDS = (
    "created",
    "answered",
    "progress",
    "progress_media",
    "hangup",
    "transfer",
    "resurrect",
    "bridged",
    "last_hold",
    "hold_accum",
)


PROFILE_FIELDS = (
    "Direction",
    "Logical-Direction",
    "Username",
    "Dialplan",
    "Caller-ID-Name",
    "Caller-ID-Number",
    "Orig-Caller-ID-Name",
    "Orig-Caller-ID-Number",
    "Callee-ID-Name",
    "Callee-ID-Number",
    "Network-Addr",
    "ANI",
    "Destination-Number",
    "Unique-ID",
    "Source",
    "Context",
    "Channel-Name",
)
PROFILE_TIME_FIELDS = (
    "Profile-Created-Time",
    "Channel-Created-Time",
    "Channel-Answered-Time",
    "Channel-Progress-Time",
    "Channel-Progress-Media-Time",
    "Channel-Hangup-Time",
    "Channel-Transfer-Time",
    "Channel-Resurrect-Time",
    "Channel-Bridged-Time",
    "Channel-Last-Hold",
    "Channel-Hold-Accum",
    "Screen-Bit",
    "Privacy-Hide-Name",
    "Privacy-Hide-Number",
)
_PROFILE_NAMES: dict[tuple[str, bool], tuple[str, ...]] = {}
_PROFILE_BLOCKS: dict[tuple[object, ...], tuple[tuple[tuple[str, str], ...], str]] = {}
_PROFILE_BLOCKS_MAX = 20_000


def _profile_names(prefix: str, with_index: bool) -> tuple[str, ...]:
    """``<prefix>-<field>`` header names of a caller profile, in order (made once)."""
    names = _PROFILE_NAMES.get((prefix, with_index))
    if names is None:
        fields = PROFILE_FIELDS + (("Profile-Index",) if with_index else ()) + PROFILE_TIME_FIELDS
        names = _PROFILE_NAMES[(prefix, with_index)] = tuple(f"{prefix}-{f}" for f in fields)
    return names


@dataclass
class Profile:
    """The caller profile (``Caller-*`` headers). Empty fields are left out, as FreeSWITCH does."""

    direction: str = "inbound"
    logical_direction: str = "inbound"
    username: str = ""
    dialplan: str = "XML"
    caller_id_name: str = ""
    caller_id_number: str = ""
    orig_caller_id_name: str = ""
    orig_caller_id_number: str = ""
    callee_id_name: str = ""
    callee_id_number: str = ""
    network_addr: str = ""
    ani: str = ""
    destination_number: str = ""
    source: str = "mod_sofia"
    context: str = "public"


@dataclass
class Channel:
    """One call leg. Owned by a :class:`~switchsim.switch.Switch`; mutated by apps and the engine."""

    switch: Switch
    name: str
    profile: Profile
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    state: str = "CS_EXECUTE"
    call_state: str = "RINGING"
    answer_state: str = "ringing"
    hit_dialplan: bool = True
    has_codec: bool = True
    hangup_cause: str | None = None
    other: Channel | None = None
    other_type: str = "originatee"
    vars: VarList = field(default_factory=VarList)
    times: dict[str, int] = field(default_factory=dict)
    state_number_override: int | None = None
    other_times: dict[str, int] | None = None
    remote_hangup: bool = False
    target_uri: str = ""

    def __post_init__(self) -> None:
        now = self.switch.clock.epoch_us()
        for key in TIME_FIELDS:
            self.times.setdefault(key, 0)
        self.times["created"] = self.times["created"] or now
        self.profile_created = self.times["created"]
        self.hungup = gevent.event.Event()
        self.answered_event = gevent.event.Event()
        self.created_at = self.switch.clock.now()

    # -- state --------------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        """True until the channel is hung up."""
        return self.hangup_cause is None

    @property
    def is_answered(self) -> bool:
        """True once answered (and not hung up)."""
        return self.answer_state == "answered"

    def mark(self, field_name: str) -> int:
        """Stamp a time field with now (microseconds) and return it."""
        now = self.switch.clock.epoch_us()
        self.times[field_name] = now
        return now

    # -- header blocks ------------------------------------------------------------------

    def state_headers(self) -> list[tuple[str, str]]:
        """``Channel-State`` ... ``Channel-Write-Codec-Bit-Rate`` (and ``Hangup-Cause``)."""
        number = self.state_number_override
        if number is None:
            number = STATE_NUMBERS[self.state]
        out = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.call_state),
            ("Channel-State-Number", str(number)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.profile.direction),
            ("Presence-Call-Direction", self.profile.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.uuid),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause is not None:
            out.append(("Hangup-Cause", self.hangup_cause))
        if self.has_codec:
            out += [
                ("Channel-Read-Codec-Name", "PCMU"),
                ("Channel-Read-Codec-Rate", "8000"),
                ("Channel-Read-Codec-Bit-Rate", "64000"),
                ("Channel-Write-Codec-Name", "PCMU"),
                ("Channel-Write-Codec-Rate", "8000"),
                ("Channel-Write-Codec-Bit-Rate", "64000"),
            ]
        return out

    def profile_block(
        self, prefix: str = "Caller", with_index: bool = True, times: dict[str, int] | None = None
    ) -> tuple[tuple[tuple[str, str], ...], str]:
        """:meth:`profile_headers` and the same headers as encoded ``text/event-plain`` lines
        (memoised: a channel's events repeat its profile until a time stamp changes)."""
        p = self.profile
        t = times if times is not None else self.times
        values = [
            p.direction,
            p.logical_direction,
            p.username,
            p.dialplan,
            p.caller_id_name,
            p.caller_id_number,
            p.orig_caller_id_name,
            p.orig_caller_id_number,
            p.callee_id_name,
            p.callee_id_number,
            p.network_addr,
            p.ani,
            p.destination_number,
            self.uuid,
            p.source,
            p.context,
            self.name,
        ]
        if with_index:
            values.append("1")
        values += [
            str(self.profile_created),
            str(t["created"]),
            str(t["answered"]),
            str(t["progress"]),
            str(t["progress_media"]),
            str(t["hangup"]),
            str(t["transfer"]),
            str(t["resurrect"]),
            str(t["bridged"]),
            str(t["last_hold"]),
            str(t["hold_accum"]),
            "true",
            "false",
            "false",
        ]
        key = (prefix, with_index, *values)
        block = _PROFILE_BLOCKS.get(key)
        if block is None:
            names = _profile_names(prefix, with_index)
            headers = tuple((k, v) for k, v in zip(names, values, strict=True) if v != "")
            if len(_PROFILE_BLOCKS) >= _PROFILE_BLOCKS_MAX:
                _PROFILE_BLOCKS.clear()
            block = _PROFILE_BLOCKS[key] = (headers, "".join(map(encoded_line, headers)))
        return block

    def profile_headers(
        self, prefix: str = "Caller", with_index: bool = True, times: dict[str, int] | None = None
    ) -> list[tuple[str, str]]:
        """The caller profile as ``<prefix>-*`` headers (``times`` overrides the timestamps)."""
        return list(self.profile_block(prefix, with_index, times)[0])

    def other_leg_block(self) -> tuple[tuple[tuple[str, str], ...], str]:
        """:meth:`other_leg_headers` and the same headers as encoded event lines."""
        if self.other is None:
            return (), ""
        headers, text = self.other.profile_block(
            "Other-Leg", with_index=False, times=self.other_times
        )
        kind = ("Other-Type", self.other_type)
        return (kind, *headers), encoded_line(kind) + text

    def other_leg_headers(self) -> list[tuple[str, str]]:
        """``Other-Type`` and ``Other-Leg-*`` for the bridged/originated peer, if any."""
        return list(self.other_leg_block()[0])

    def link(self, other: Channel) -> None:
        """Make ``other`` this channel's peer; its profile times are copied as of now
        (FreeSWITCH shows the peer's caller profile as it was when they were joined)."""
        self.other = other
        self.other_times = dict(other.times)

    def var_headers(self) -> list[tuple[str, str]]:
        """Variables as ``variable_<name>`` headers, in FreeSWITCH order."""
        return list(self.vars.headers())
