"""A simulated channel (A-leg or B-leg): profile, states, variables and timestamps."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent.event

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

    def profile_headers(
        self, prefix: str = "Caller", with_index: bool = True, times: dict[str, int] | None = None
    ) -> list[tuple[str, str]]:
        """The caller profile as ``<prefix>-*`` headers (``times`` overrides the timestamps)."""
        p = self.profile
        fields = [
            ("Direction", p.direction),
            ("Logical-Direction", p.logical_direction),
            ("Username", p.username),
            ("Dialplan", p.dialplan),
            ("Caller-ID-Name", p.caller_id_name),
            ("Caller-ID-Number", p.caller_id_number),
            ("Orig-Caller-ID-Name", p.orig_caller_id_name),
            ("Orig-Caller-ID-Number", p.orig_caller_id_number),
            ("Callee-ID-Name", p.callee_id_name),
            ("Callee-ID-Number", p.callee_id_number),
            ("Network-Addr", p.network_addr),
            ("ANI", p.ani),
            ("Destination-Number", p.destination_number),
            ("Unique-ID", self.uuid),
            ("Source", p.source),
            ("Context", p.context),
            ("Channel-Name", self.name),
        ]
        if with_index:
            fields.append(("Profile-Index", "1"))
        t = times if times is not None else self.times
        fields += [
            ("Profile-Created-Time", str(self.profile_created)),
            ("Channel-Created-Time", str(t["created"])),
            ("Channel-Answered-Time", str(t["answered"])),
            ("Channel-Progress-Time", str(t["progress"])),
            ("Channel-Progress-Media-Time", str(t["progress_media"])),
            ("Channel-Hangup-Time", str(t["hangup"])),
            ("Channel-Transfer-Time", str(t["transfer"])),
            ("Channel-Resurrect-Time", str(t["resurrect"])),
            ("Channel-Bridged-Time", str(t["bridged"])),
            ("Channel-Last-Hold", str(t["last_hold"])),
            ("Channel-Hold-Accum", str(t["hold_accum"])),
            ("Screen-Bit", "true"),
            ("Privacy-Hide-Name", "false"),
            ("Privacy-Hide-Number", "false"),
        ]
        return [(f"{prefix}-{k}", v) for k, v in fields if v != ""]

    def other_leg_headers(self) -> list[tuple[str, str]]:
        """``Other-Type`` and ``Other-Leg-*`` for the bridged/originated peer, if any."""
        if self.other is None:
            return []
        return [("Other-Type", self.other_type)] + self.other.profile_headers(
            "Other-Leg", with_index=False, times=self.other_times
        )

    def link(self, other: Channel) -> None:
        """Make ``other`` this channel's peer; its profile times are copied as of now
        (FreeSWITCH shows the peer's caller profile as it was when they were joined)."""
        self.other = other
        self.other_times = dict(other.times)

    def var_headers(self) -> list[tuple[str, str]]:
        """Variables as ``variable_<name>`` headers, in FreeSWITCH order."""
        return [(f"variable_{k}", v) for k, v in self.vars]
