"""Originated legs (B-legs): their channel, SIP replies and hangup, with their events."""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

from switchsim import causes
from switchsim.channel import Channel, Profile
from switchsim.channel_data import (
    b_leg_dialog_variables,
    b_leg_media_variables,
    b_leg_reply_variables,
    b_leg_variables,
)
from switchsim.dialstring import Leg

if TYPE_CHECKING:
    from switchsim.switch import Switch

SIP_REFUSALS = {"USER_BUSY": (486, "Busy Here"), "CALL_REJECTED": (603, "Decline")}


def create(switch: Switch, leg: Leg, a_leg: Channel | None) -> Channel:
    """Create the channel of an originated leg and fire CHANNEL_CREATE."""
    target = leg.target
    if target.startswith("user/"):
        name = "sofia/internal/" + target[5:]
        dest = target[5:].partition("@")[0]
    else:
        name = target
        dest = target.rsplit("/", 1)[-1].partition("@")[0]
    v = leg.variables
    if a_leg is not None:
        cid_name = v.get("origination_caller_id_name", a_leg.profile.caller_id_name)
        cid_num = v.get("origination_caller_id_number", a_leg.profile.caller_id_number)
        profile = Profile(
            direction="outbound",
            logical_direction="inbound",
            username=a_leg.profile.username,
            caller_id_name=cid_name,
            caller_id_number=cid_num,
            orig_caller_id_name=cid_name,
            orig_caller_id_number=cid_num,
            callee_id_name="Outbound Call",
            callee_id_number=dest,
            network_addr=a_leg.profile.network_addr,
            ani=a_leg.profile.ani,
            destination_number=dest,
            context=a_leg.profile.context,
        )
    else:
        cid_num = v.get("origination_caller_id_number", "0000000000")
        profile = Profile(
            direction="outbound",
            logical_direction="outbound",
            dialplan="",
            caller_id_name=v.get("origination_caller_id_name", ""),
            caller_id_number=cid_num,
            orig_caller_id_number=cid_num,
            callee_id_name="Outbound Call",
            callee_id_number=dest,
            ani=cid_num,
            destination_number=dest,
            source="src/switch_ivr_originate.c",
            context="default",
        )
    chan = Channel(
        switch=switch,
        name=name,
        profile=profile,
        uuid=v.get("origination_uuid") or str(uuidlib.uuid4()),
        state="CS_INIT",
        call_state="DOWN",
        hit_dialplan=False,
        has_codec=False,
        other_type="originator",
    )
    chan.state_number_override = 2
    uri = target.split("/", 2)[-1] if target.startswith("sofia/") else target[5:]
    extra = {"origination_uuid": chan.uuid} if "origination_uuid" in v else {}
    if target.startswith("user/"):
        # What the user endpoint adds from the directory's dial-string.
        user, _, domain = target[5:].partition("@")
        extra.update(
            {
                "dialed_user": user,
                "dialed_domain": domain,
                "sip_invite_domain": domain,
                "presence_id": f"{user}@{domain}",
            }
        )
    chan.vars.update(
        b_leg_variables(
            chan.uuid, switch.next_session_id(), name, uri, extra, switch.next_media_port()
        )
    )
    chan.target_uri = uri
    for key, value in leg.variables.items():
        if key not in ("origination_uuid",):
            chan.vars.set(key, value)
    switch.channels[chan.uuid] = chan
    switch.fire(chan, "CHANNEL_CREATE")
    chan.state_number_override = None
    return chan


def ring(switch: Switch, chan: Channel) -> None:
    """The endpoint sent 180 Ringing."""
    chan.state = "CS_CONSUME_MEDIA"
    chan.call_state = "RINGING"
    note_response(switch, chan, dialog=True)
    chan.mark("progress")
    switch.fire(chan, "CHANNEL_PROGRESS")


def answer(switch: Switch, chan: Channel) -> None:
    """The endpoint sent 200 OK: CHANNEL_ANSWER."""
    chan.state = "CS_CONSUME_MEDIA"
    chan.has_codec = True
    chan.answer_state = "answered"
    now = chan.mark("answered")
    if not chan.times["progress"]:
        chan.times["progress"] = now
    note_response(switch, chan, dialog=True)
    chan.vars.update(
        b_leg_media_variables(switch.next_media_port(), 6900 + 2 * (len(switch.leg_record) % 50))
    )
    switch.fire(chan, "CHANNEL_ANSWER")
    chan.vars.set("endpoint_disposition", "ANSWER")
    chan.call_state = "ACTIVE"
    chan.answered_event.set()


def note_response(switch: Switch, chan: Channel, dialog: bool = False) -> None:
    """A SIP reply arrived: its address becomes the Network-Addr; 180/200 make a dialog."""
    if not chan.profile.network_addr:
        host = chan.name.rpartition("@")[2].partition(":")[0]
        chan.profile.network_addr = host if host and "/" not in host else "192.0.2.10"
        chan.vars.update(b_leg_reply_variables(chan.target_uri))
    if dialog and chan.vars.get("sip_call_id") is None:
        chan.vars.update(
            b_leg_dialog_variables(chan.target_uri, chan.profile.orig_caller_id_number)
        )


def refuse(switch: Switch, chan: Channel, cause: str) -> None:
    """The endpoint refused the INVITE with a final SIP response for ``cause``."""
    status, phrase = SIP_REFUSALS.get(cause, (480, "Temporarily Unavailable"))
    chan.vars.set("sip_call_id", str(uuidlib.uuid4()))
    note_response(switch, chan)
    chan.remote_hangup = True
    chan.vars.update(
        {
            "sip_invite_failure_status": str(status),
            "sip_invite_failure_phrase": phrase,
            "sip_term_status": str(status),
            "proto_specific_hangup_cause": f"sip:{status}",
            "sip_term_cause": str(causes.q850(cause)),
        }
    )


def hangup(switch: Switch, chan: Channel, cause: str) -> None:
    """Hang up an originated channel: CHANNEL_HANGUP ... CHANNEL_HANGUP_COMPLETE."""
    if not chan.is_up:
        return
    switch.hangup_channel(chan, cause)
    rec = switch.leg_record.get(chan.uuid)
    if rec is not None and rec.ended_at is None:
        rec.ended_at = switch.clock.now()
        rec.cause = cause
    switch.finish_channel(chan)
