"""Signalling on the A-leg: answer, ring-ready, pre-answer, the caller's ACK."""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

from switchsim.channel_data import answer_variables

if TYPE_CHECKING:
    from switchsim.call import Call
    from switchsim.channel import Channel


def wait(call: Call, seconds: float) -> bool:
    """Sleep simulated ``seconds`` unless the channel hangs up first; True if it did."""
    return call.chan.hungup.wait(call.switch.clock.real(seconds))


def answer_channel(call: Call) -> None:
    """Answer the A-leg: media variables, CHANNEL_ANSWER, call state ACTIVE."""
    chan = call.chan
    if chan.is_answered or not chan.is_up:
        return
    chan.vars.update(answer_variables(call.switch.next_media_port()))
    chan.answer_state = "answered"
    chan.mark("answered")
    call.result.answered_at = call.switch.clock.now()
    call.switch.fire(chan, "CHANNEL_ANSWER")
    chan.call_state = "ACTIVE"
    chan.answered_event.set()
    # The caller's ACK arrives a packet round later, with the dialog's To tag and CSeq.
    call.later(0.02, _ack, chan)
    if call.caller_hangup_after_answer is not None:
        call.later(call.caller_hangup_after_answer, call.hangup)


def ring_ready(call: Call) -> None:
    """180 Ringing towards the caller: CHANNEL_PROGRESS (once)."""
    chan = call.chan
    if chan.times["progress"] or chan.is_answered or not chan.is_up:
        return
    chan.mark("progress")
    sip_to_tag(chan)
    call.switch.fire(chan, "CHANNEL_PROGRESS")


def sip_to_tag(chan: Channel) -> None:
    """The To tag FreeSWITCH put in its first reply (set once)."""
    if chan.vars.get("sip_to_tag") is None:
        chan.vars.set("sip_to_tag", uuidlib.uuid4().hex[:13])


def _ack(chan: Channel) -> None:
    if chan.is_up:
        sip_to_tag(chan)
        if chan.vars.get("sip_cseq") is None and not chan.other:
            chan.vars.set("sip_cseq", "1")


def pre_answer(call: Call) -> None:
    """183 with media: CHANNEL_PROGRESS_MEDIA, answer state ``early``."""
    chan = call.chan
    if chan.times["progress_media"] or chan.is_answered or not chan.is_up:
        return
    chan.vars.update(answer_variables(call.switch.next_media_port()))
    chan.mark("progress_media")
    chan.answer_state = "early"
    call.switch.fire(chan, "CHANNEL_PROGRESS_MEDIA")
