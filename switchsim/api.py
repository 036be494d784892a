"""``api``/``bgapi`` commands, shared by the inbound server and outbound sessions."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent

from switchsim import dialstring, legs, show
from switchsim.events import Event, background_job
from switchsim.originate import Originator
from switchsim.records import BridgeRecord

if TYPE_CHECKING:
    from switchsim.switch import Switch

VERSION = "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n"
NO_CHANNEL = "-ERR No such channel!\n"
KNOWN_APPS = frozenset(
    {
        "park",
        "answer",
        "playback",
        "bridge",
        "hangup",
        "set",
        "export",
        "transfer",
        "sleep",
        "echo",
        "conference",
        "voicemail",
        "ring_ready",
        "pre_answer",
        "socket",
        "lua",
    }
)


def _unit(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def status_text(switch: Switch) -> str:
    """The body of ``api status``."""
    up = max(0.0, switch.clock.epoch() - switch.started_epoch)
    us = int(up * 1_000_000)
    secs, micro = divmod(us, 1_000_000)
    millis, micro = divmod(micro, 1000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    days, hours = divmod(hours, 24)
    years, days = divmod(days, 365)
    live = len(switch.channels)
    return (
        f"UP {_unit(years, 'year')}, {_unit(days, 'day')}, {_unit(hours, 'hour')}, "
        f"{_unit(mins, 'minute')}, {_unit(secs, 'second')}, {_unit(millis, 'millisecond')}, "
        f"{_unit(micro, 'microsecond')}\n"
        "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
        f"{switch.sessions_since_startup} session(s) since startup\n"
        f"{live} session(s) - peak {live}, last 5min {live} \n"
        "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
        "200 session(s) max\n"
        "min idle cpu 0.00/99.73\n"
        "Current Stack Size/Max 240K/8192K\n"
    )


def sofia_status_text() -> str:
    """The body of ``api sofia status`` (one profile)."""
    rule = "=" * 97
    return (
        "                     Name\t   Type\t                                      Data\tState\n"
        f"{rule}\n"
        "                 external\tprofile\t              sip:mod_sofia@127.0.0.1:5080\tRUNNING (0)\n"
        f"{rule}\n"
        "1 profile 0 aliases\n"
    )


class ApiExecutor:
    """Runs API commands against a switch. ``send_event`` delivers BACKGROUND_JOB events."""

    def __init__(self, switch: Switch, send_event: Callable[[Event], None]) -> None:
        self.switch = switch
        self.send_event = send_event

    def api(self, line: str) -> str:
        """Run one ``api`` command line; return the response body."""
        name, _, arg = line.strip().partition(" ")
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            return f"-ERR {name} Command not found!\n"
        return handler(arg.strip())

    def bgapi(self, line: str, job_uuid: str | None, subscribed: Callable[[], bool]) -> str:
        """Start ``line`` in the background; BACKGROUND_JOB follows when ``subscribed()``."""
        job = job_uuid or str(uuidlib.uuid4())
        name, _, arg = line.strip().partition(" ")

        def work() -> None:
            body = self.api(line)
            if subscribed():
                self.send_event(background_job(self.switch, job, name, arg.strip(), body))

        gevent.spawn(work)
        return job

    # -- commands ----------------------------------------------------------------------

    def _cmd_status(self, arg: str) -> str:
        return status_text(self.switch)

    def _cmd_version(self, arg: str) -> str:
        return VERSION

    def _cmd_hostname(self, arg: str) -> str:
        return self.switch.hostname

    def _cmd_sofia(self, arg: str) -> str:
        if arg.startswith("status"):
            return sofia_status_text()
        return "-ERR Usage: sofia status\n"

    def _cmd_show(self, arg: str) -> str:
        return show.show(self.switch, arg)

    def _cmd_sofia_contact(self, arg: str) -> str:
        target = arg.split("/", 1)[-1] if "/" in arg else arg
        user, _, domain = target.partition("@")
        contact = self.switch.registrations.contact(user, domain)
        return contact if contact else "error/user_not_registered"

    def _cmd_uuid_getvar(self, arg: str) -> str:
        uuid, _, var = arg.partition(" ")
        chan = self.switch.channels.get(uuid)
        if chan is None:
            return NO_CHANNEL
        value = chan.vars.get(var.strip())
        return "_undef_" if value is None else value

    def _cmd_uuid_setvar(self, arg: str) -> str:
        parts = arg.split(" ", 2)
        chan = self.switch.channels.get(parts[0]) if parts else None
        if chan is None:
            return NO_CHANNEL
        if len(parts) < 2:
            return "-USAGE: <uuid> <var> [value]\n"
        chan.vars.set(parts[1], parts[2] if len(parts) > 2 else None)
        return "+OK\n"

    def _cmd_uuid_exists(self, arg: str) -> str:
        return "true" if arg.strip() in self.switch.channels else "false"

    def _cmd_uuid_kill(self, arg: str) -> str:
        uuid, _, cause = arg.partition(" ")
        cause = (cause.strip() or "NORMAL_CLEARING").upper()
        chan = self.switch.channels.get(uuid.strip())
        if chan is None:
            return NO_CHANNEL
        for call in self.switch.calls:
            if call.uuid == chan.uuid:
                call.local_hangup(cause)
                return "+OK\n"
        gevent.spawn(legs.hangup, self.switch, chan, cause)
        return "+OK\n"

    def _cmd_uuid_bridge(self, arg: str) -> str:
        a_id, _, b_id = arg.partition(" ")
        a = self.switch.channels.get(a_id.strip())
        b = self.switch.channels.get(b_id.strip())
        if a is None or b is None:
            return f"-ERR Invalid uuid {b_id.strip() if a else a_id.strip()}\n"
        a.mark("bridged")
        b.mark("bridged")
        a.link(b)
        b.link(a)
        ids = [("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)]
        self.switch.fire(a, "CHANNEL_BRIDGE", pre=ids)
        self.switch.fire(b, "CHANNEL_BRIDGE", pre=ids)
        return f"+OK {b.uuid}\n"

    def _cmd_originate(self, arg: str) -> str:
        dial_text, _, app = arg.strip().partition(" ")
        if not dial_text or not app.strip():
            return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
        try:
            dial = dialstring.parse(dial_text)
        except dialstring.DialStringError:
            return "-ERR INVALID_NUMBER_FORMAT\n"
        record = BridgeRecord(dial_string=dial_text, started_at=self.switch.clock.now())
        originator = Originator(
            self.switch,
            dial,
            None,
            record,
            on_leg_start=lambda run: self.switch.record_leg(run.record),
        )
        outcome = originator.run()
        record.ended_at = self.switch.clock.now()
        record.cause = outcome.cause
        if not outcome.success or outcome.winner is None or outcome.winner.channel is None:
            return f"-ERR {outcome.cause}\n"
        b = outcome.winner.channel
        record.answered_by = outcome.winner.leg.target
        b.state = "CS_EXECUTE"
        # The answered leg runs the application: FreeSWITCH swaps its caller/callee ids.
        p = b.profile
        b.vars.set("pre_transfer_caller_id_number", p.caller_id_number)
        b.vars.set("channel_cid_flipped", "yes")
        p.caller_id_name, p.caller_id_number = p.callee_id_name, p.callee_id_number
        p.callee_id_name, p.callee_id_number = p.orig_caller_id_name, p.orig_caller_id_number
        b.hit_dialplan = True
        hang = outcome.winner.behaviour.hangup_after
        app_name = app.strip().split()[0]
        if app_name.startswith("&"):
            app_name = app_name[1:].split("(", 1)[0]
            if app_name not in KNOWN_APPS:
                # The leg answered, then the application does not exist.
                gevent.spawn(legs.hangup, self.switch, b, "DESTINATION_OUT_OF_ORDER")
                return f"+OK {b.uuid}\n"
            b.vars.set("current_application", app_name)
        if hang is not None:
            self.switch.clock.spawn_later(hang, legs.hangup, self.switch, b, "NORMAL_CLEARING")
        return f"+OK {b.uuid}\n"
