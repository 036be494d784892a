"""Event builder: header lists laid out as FreeSWITCH 1.10 lays them out."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from switchsim.urlcode import encoded_line

if TYPE_CHECKING:
    from switchsim.channel import Channel
    from switchsim.switch import Switch

Header = tuple[str, str]

# Event-Calling-File / -Function / -Line-Number, as recorded from FreeSWITCH 1.10.12.
CALLING: dict[str, tuple[str, str, int]] = {
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", 2021),
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 626),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 1002),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1213),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2944),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2967),
    "CHANNEL_PROGRESS": (
        "switch_channel.c",
        "switch_channel_perform_mark_ring_ready_value",
        3505,
    ),
    "CHANNEL_PROGRESS_MEDIA": (
        "switch_channel.c",
        "switch_channel_perform_mark_pre_answered",
        3609,
    ),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3846),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3445),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2408),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
    ),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1572),
    "CUSTOM": ("sofia_reg.c", "sofia_reg_handle_register_token", 2003),
}


EVENT_PROFILES = ("full", "fast")
FAST_PROFILE_VARS = frozenset(
    {
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_ANSWER",
        "CHANNEL_BRIDGE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
    }
)
"""Under ``Switch(event_profile="fast")`` (load generation only) only these channel events
carry the ``variable_*`` block; every other header of every event is as in ``full``.  Same
events, same order, same Event-Sequence; CHANNEL_DATA is never thinned.  ``full`` (the
default) is what FreeSWITCH 1.10 sends and what the capture replay tests check."""


@dataclass
class Event:
    """An event ready to deliver: name, ordered headers (raw values), optional body."""

    name: str
    headers: list[Header]
    body: str | None = None
    subclass: str | None = None
    plain: str | None = None
    """The headers as ``text/event-plain`` lines when already encoded (channel events)."""

    def get(self, name: str, default: str | None = None) -> str | None:
        """First header value by exact name."""
        for key, value in self.headers:
            if key == name:
                return value
        return default

    @property
    def unique_id(self) -> str | None:
        """The channel the event is about (``Unique-ID``; headers are not changed once built)."""
        try:
            return self._unique_id
        except AttributeError:
            self._unique_id: str | None = self.get("Unique-ID")
            return self._unique_id


_DATES: dict[int, tuple[str, str]] = {}


def _event_dates(secs: int) -> tuple[str, str]:
    """``Event-Date-Local`` and ``Event-Date-GMT`` of a whole second (formatted once)."""
    dates = _DATES.get(secs)
    if dates is None:
        if len(_DATES) > 64:
            _DATES.clear()
        dates = _DATES[secs] = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(secs)),
            time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(secs)),
        )
    return dates


def base_headers(
    switch: Switch, name: str, calling: tuple[str, str, int] | None = None
) -> list[Header]:
    """``Event-Name`` ... ``Event-Sequence``: the headers every event starts with."""
    now_us = switch.clock.epoch_us()
    local, gmt = _event_dates(now_us // 1_000_000)
    file, func, line = calling or CALLING.get(name, ("switch_event.c", "switch_event_fire", 0))
    return [
        ("Event-Name", name),
        ("Core-UUID", switch.core_uuid),
        ("FreeSWITCH-Hostname", switch.hostname),
        ("FreeSWITCH-Switchname", switch.hostname),
        ("FreeSWITCH-IPv4", switch.ipv4),
        ("FreeSWITCH-IPv6", switch.ipv6),
        ("Event-Date-Local", local),
        ("Event-Date-GMT", gmt),
        ("Event-Date-Timestamp", str(now_us)),
        ("Event-Calling-File", file),
        ("Event-Calling-Function", func),
        ("Event-Calling-Line-Number", str(line)),
        ("Event-Sequence", str(switch.next_sequence())),
    ]


def channel_event(
    chan: Channel,
    name: str,
    pre: Iterable[Header] = (),
    post: Iterable[Header] = (),
    with_vars: bool = True,
) -> Event:
    """A channel event: base, ``pre``, state, caller profile, other leg, variables, ``post``."""
    head = base_headers(chan.switch, name)
    head += pre
    head += chan.state_headers()
    profile, profile_text = chan.profile_block("Caller")
    other, other_text = chan.other_leg_block()
    tail = list(post)
    var_headers: tuple[Header, ...] = ()
    var_text = ""
    if with_vars and (chan.switch.event_profile == "full" or name in FAST_PROFILE_VARS):
        var_headers, var_text = chan.vars.block()
    plain = "".join(
        ("".join(map(encoded_line, head)), profile_text, other_text, var_text)
    ) + "".join(map(encoded_line, tail))
    return Event(name=name, headers=[*head, *profile, *other, *var_headers, *tail], plain=plain)


def channel_data(chan: Channel) -> list[Header]:
    """Headers of the reply to ``connect`` (before the command/reply tail)."""
    headers = base_headers(chan.switch, "CHANNEL_DATA")
    headers += chan.profile_headers("Channel")
    headers += chan.state_headers()
    headers += chan.profile_headers("Caller")
    headers += chan.vars.headers()
    return headers


def custom_event(switch: Switch, subclass: str, fields: Iterable[Header]) -> Event:
    """A ``CUSTOM`` event (``Event-Subclass`` first, as FreeSWITCH lays them out)."""
    headers = [("Event-Subclass", subclass)] + base_headers(switch, "CUSTOM")
    headers += list(fields)
    return Event(name="CUSTOM", headers=headers, subclass=subclass)


def background_job(switch: Switch, job_uuid: str, command: str, arg: str, body: str) -> Event:
    """``BACKGROUND_JOB`` carrying the result of a ``bgapi`` command."""
    headers = base_headers(switch, "BACKGROUND_JOB")
    headers += [("Job-UUID", job_uuid), ("Job-Command", command)]
    if arg:
        headers.append(("Job-Command-Arg", arg))
    return Event(name="BACKGROUND_JOB", headers=headers, body=body)
