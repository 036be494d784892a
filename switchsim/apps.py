"""Dialplan applications run on the A-leg (what ``sendmsg call-command: execute`` asks for)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from switchsim.bridge import bridge
from switchsim.signalling import answer_channel, pre_answer, ring_ready, wait

if TYPE_CHECKING:
    from switchsim.call import Call

PLAYBACK_DEFAULT = 1.0
VOICEMAIL_DURATION = 3.0


def playback_seconds(arg: str) -> float:
    """Duration of a playback: ``tone_stream://%(on,off,hz);loops=N`` is timed, files 1 s."""
    match = re.search(r"%\((\d+),(\d+),[^)]*\)", arg)
    if match:
        loops = re.search(r"loops=(\d+)", arg)
        count = int(loops.group(1)) if loops else 1
        return (int(match.group(1)) + int(match.group(2))) * count / 1000.0
    return PLAYBACK_DEFAULT


def execute(call: Call, app: str, arg: str, app_uuid: str) -> None:
    """Run one application with CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE around it."""
    chan = call.chan
    sw = call.switch
    call.result.apps.append((app, arg))
    handler = _APPS.get(app)
    if handler is None:
        sw.fire(
            chan,
            "CHANNEL_EXECUTE_COMPLETE",
            post=_app_headers(app, arg, "-ERR Invalid Application", app_uuid),
        )
        return
    chan.vars.delete("current_application_response")
    chan.vars.set("current_loop", "1")
    chan.vars.set("total_loops", "1")
    chan.vars.set("current_application", app)
    chan.vars.set("current_application_data", arg if arg else None)
    pre = [("Application", app)] + ([("Application-Data", arg)] if arg else [])
    sw.fire(chan, "CHANNEL_EXECUTE", post=pre + [("Application-UUID", app_uuid)])
    response = handler(call, arg, app_uuid) or "_none_"
    chan.vars.set("last_app", None)
    sw.fire(chan, "CHANNEL_EXECUTE_COMPLETE", post=_app_headers(app, arg, response, app_uuid))
    chan.vars.delete("current_loop")
    chan.vars.delete("total_loops")
    if app == "bridge" and chan.is_up and _hangup_after_bridge(call):
        sw.hangup_channel(chan, "NORMAL_CLEARING")


def _app_headers(app: str, arg: str, response: str, app_uuid: str) -> list[tuple[str, str]]:
    out = [("Application", app)]
    if arg:
        out.append(("Application-Data", arg))
    return out + [("Application-Response", response), ("Application-UUID", app_uuid)]


def _hangup_after_bridge(call: Call) -> bool:
    bridged = call.result.bridges and call.result.bridges[-1].answered_by
    return bool(bridged) and (call.chan.vars.get("hangup_after_bridge") or "").lower() == "true"


# -- applications ----------------------------------------------------------------------


def _answer(call: Call, arg: str, app_uuid: str) -> str | None:
    answer_channel(call)
    if call.chan.is_up:
        call.chan.vars.set("endpoint_disposition", "ANSWER")
    return None


def _ring_ready(call: Call, arg: str, app_uuid: str) -> str | None:
    ring_ready(call)
    return None


def _pre_answer(call: Call, arg: str, app_uuid: str) -> str | None:
    pre_answer(call)
    return None


def _playback(call: Call, arg: str, app_uuid: str) -> str | None:
    seconds = playback_seconds(arg)
    if wait(call, seconds):
        return "FILE PLAYED"
    ms = int(seconds * 1000)
    call.chan.vars.update(
        {
            "playback_last_offset_pos": str(ms * 8),
            "playback_seconds": str(int(seconds)),
            "playback_ms": str(ms),
            "playback_samples": str(ms * 8),
            "current_application_response": "FILE PLAYED",
        }
    )
    return "FILE PLAYED"


def _sleep(call: Call, arg: str, app_uuid: str) -> str | None:
    ms = int(arg) if arg.strip().isdigit() else 0
    wait(call, ms / 1000.0)
    return None


def _set(call: Call, arg: str, app_uuid: str) -> str | None:
    name, _, value = arg.partition("=")
    if name.strip():
        call.chan.vars.set(name.strip(), value if value != "" else None)
    return None


def _hangup(call: Call, arg: str, app_uuid: str) -> str | None:
    cause = (arg.strip() or "NORMAL_CLEARING").upper()
    call.chan.remote_hangup = False
    call.switch.hangup_channel(call.chan, cause)
    return None


def _park(call: Call, arg: str, app_uuid: str) -> str | None:
    return None


def _transfer(call: Call, arg: str, app_uuid: str) -> str | None:
    """Transfer leaves the socket app; the emulator records it and ends the call there."""
    call.result.transferred_to = arg
    call.chan.vars.set("transfer_destination", arg)
    call.switch.hangup_channel(call.chan, "NORMAL_CLEARING")
    return None


def _voicemail(call: Call, arg: str, app_uuid: str) -> str | None:
    answer_channel(call)
    if not wait(call, VOICEMAIL_DURATION):
        call.chan.vars.set("voicemail_message_len", str(int(VOICEMAIL_DURATION)))
        call.hangup("NORMAL_CLEARING")
    return None


def _sched_cancel(call: Call, arg: str, app_uuid: str) -> str | None:
    """Cancels the channel's scheduled tasks; the emulator schedules none, so it only records."""
    return None


_APPS = {
    "sched_cancel": _sched_cancel,
    "answer": _answer,
    "ring_ready": _ring_ready,
    "pre_answer": _pre_answer,
    "playback": _playback,
    "sleep": _sleep,
    "set": _set,
    "export": _set,
    "hangup": _hangup,
    "park": _park,
    "transfer": _transfer,
    "voicemail": _voicemail,
    "bridge": bridge,
}
