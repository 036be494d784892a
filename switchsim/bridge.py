"""The ``bridge`` application: originate the dial string for the A-leg and join the winner.

Follows mod_dptools: ``originate_disposition``/``DIALSTATUS`` are set to ``failure``/
``INVALIDARGS`` before ringing (the stale values CHANNEL_PROGRESS shows); on failure the A-leg
is hung up with the cause unless ``continue_on_fail`` (true or a list of causes/Q.850 codes)
or ``failure_causes`` says otherwise; after an answered bridge the A-leg stays in the socket
app (``hangup_after_bridge`` aside).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent

from switchsim import causes, dialstring, legs
from switchsim.originate import LegRun, Originator
from switchsim.records import BridgeRecord
from switchsim.signalling import answer_channel, ring_ready

if TYPE_CHECKING:
    from switchsim.call import Call

# Causes of failed legs that come from a SIP final response: (status, phrase).
SIP_FAILURES = {
    "USER_BUSY": (486, "Busy Here"),
    "CALL_REJECTED": (603, "Decline"),
    "NORMAL_TEMPORARY_FAILURE": (503, "Service Unavailable"),
}


def bridge(call: Call, arg: str, app_uuid: str) -> str | None:
    """Ring ``arg`` for the A-leg; on answer bridge until one side hangs up.

    Records a :class:`~switchsim.records.BridgeRecord` on the call and sets the A-leg's
    result variables (``originate_disposition``, ``DIALSTATUS``, ``originate_causes``,
    ``originated_legs``, ``last_bridge_hangup_cause``, ``bridge_hangup_cause`` ...).
    """
    chan = call.chan
    sw = call.switch
    clock = sw.clock
    record = BridgeRecord(dial_string=arg, started_at=clock.now(), application_uuid=app_uuid)
    call.result.bridges.append(record)
    chan.vars.set("originate_disposition", "failure")
    chan.vars.set("DIALSTATUS", "INVALIDARGS")
    try:
        dial = dialstring.parse(arg)
    except dialstring.DialStringError:
        _bridge_failed(call, record, "INVALID_NUMBER_FORMAT", [])
        return None
    originated: list[str] = []

    def on_start(run: LegRun) -> None:
        sw.record_leg(run.record)
        if run.channel is not None:
            p = run.channel.profile
            chan.vars.set("originate_signal_bond", run.channel.uuid)
            originated.append(f"{run.channel.uuid};{p.callee_id_name};{p.callee_id_number}")
            chan.vars.set("originated_legs", _array(originated))

    def on_ring(run: LegRun) -> None:
        if run.group_size == 1 and run.channel is not None:
            # With a single leg FreeSWITCH shows the callee on the A-leg as soon as it rings.
            chan.profile.callee_id_name = run.channel.profile.callee_id_name
            chan.profile.callee_id_number = run.channel.profile.callee_id_number
        ring_ready(call)

    def on_group_failed(cause: str) -> None:
        # record.legs: the legs rung so far, in order (not originator.runs: a closure over
        # the originator it is stored in would make a reference cycle of the whole bridge).
        done = [r for r in record.legs if r.uuid and r.cause]
        chan.vars.set("originate_disposition", cause)
        chan.vars.set("DIALSTATUS", causes.dialstatus(cause))
        chan.vars.set("originate_causes", _array([f"{r.uuid};{r.cause}" for r in done]))

    def on_end(run: LegRun) -> None:
        if run.record.cause:
            chan.vars.set("last_bridge_hangup_cause", run.record.cause)
            sip = SIP_FAILURES.get(run.record.cause)
            if sip is not None and run.channel is not None:
                chan.vars.update(
                    {
                        "sip_hangup_phrase": sip[1],
                        "last_bridge_proto_specific_hangup_cause": f"sip:{sip[0]}",
                        "sip_invite_failure_status": str(sip[0]),
                        "sip_invite_failure_phrase": sip[1],
                    }
                )

    originator = Originator(
        sw,
        dial,
        chan,
        record,
        on_ring=on_ring,
        on_leg_start=on_start,
        on_leg_end=on_end,
        on_group_failed=on_group_failed,
    )
    worker = gevent.spawn(originator.run)
    while not worker.ready():
        if chan.hungup.is_set() and not originator.cancel_cause:
            originator.cancel("ORIGINATOR_CANCEL")
        gevent.wait([worker, chan.hungup], count=1)
    outcome = worker.get()
    causes_list = [
        f"{r.record.uuid};{'NONE' if r is outcome.winner else r.record.cause}"
        for r in outcome.runs
        if r.record.uuid
    ]
    if not outcome.success:
        _bridge_failed(call, record, outcome.cause, causes_list)
        return None
    winner = outcome.winner
    assert winner is not None and winner.channel is not None
    b = winner.channel
    if not chan.is_up:
        # The caller hung up in the very moment the leg answered.
        legs.hangup(sw, b, "ORIGINATOR_CANCEL")
        record.cause = "ORIGINATOR_CANCEL"
        record.ended_at = clock.now()
        return None
    record.cause = "SUCCESS"
    record.answered_by = winner.leg.target
    chan.profile.callee_id_name = b.profile.callee_id_name
    chan.profile.callee_id_number = b.profile.callee_id_number
    chan.vars.set("switch_m_sdp", b.vars.get("switch_r_sdp") or chan.vars.get("switch_r_sdp"))
    if not chan.is_answered:
        answer_channel(call)
    chan.vars.set("originate_causes", _array(causes_list))
    chan.vars.delete("originate_signal_bond")
    chan.vars.set("signal_bond", b.uuid)
    chan.vars.set("originate_disposition", "SUCCESS")
    chan.vars.set("DIALSTATUS", "SUCCESS")
    chan.vars.set("endpoint_disposition", "ANSWER")
    chan.mark("bridged")
    chan.link(b)
    chan.other_type = "originatee"
    b.link(chan)
    ids = [("Bridge-A-Unique-ID", chan.uuid), ("Bridge-B-Unique-ID", b.uuid)]
    sw.fire(chan, "CHANNEL_BRIDGE", pre=ids)
    sw.fire(b, "CHANNEL_BRIDGE", pre=ids)
    chan.vars.update(
        {
            "bridge_to": b.uuid,
            "last_bridge_to": b.uuid,
            "bridge_channel": b.name,
            "bridge_uuid": b.uuid,
            "last_sent_callee_id_name": b.profile.callee_id_name,
            "last_sent_callee_id_number": b.profile.callee_id_number,
        }
    )
    hang = winner.behaviour.hangup_after
    a_gone = chan.hungup.wait(None if hang is None else clock.real(hang))
    b_cause = "NORMAL_CLEARING"
    b.remote_hangup = not a_gone  # the endpoint sent BYE, or we did for the caller
    sw.hangup_channel(b, b_cause)
    winner.record.ended_at = clock.now()
    winner.record.cause = b.hangup_cause or chan.hangup_cause
    if a_gone:
        chan.vars.set("last_bridge_role", "originator")
    chan.vars.set("bridge_to", None)
    chan.vars.set("bridge_hangup_cause", b_cause)
    if not a_gone:
        chan.vars.set("last_bridge_hangup_cause", b_cause)
        chan.vars.update(
            {
                "sip_cseq": "1",
                "sip_hangup_phrase": "OK",
                "last_bridge_proto_specific_hangup_cause": "sip:200",
            }
        )
    sw.fire(chan, "CHANNEL_UNBRIDGE", pre=ids)
    sw.finish_channel(b)
    record.ended_at = clock.now()
    return None


def _bridge_failed(call: Call, record: BridgeRecord, cause: str, causes_list: list[str]) -> None:
    chan = call.chan
    record.cause = cause
    record.ended_at = call.switch.clock.now()
    if not chan.is_up:
        return
    chan.vars.set("originate_disposition", cause)
    chan.vars.set("DIALSTATUS", causes.dialstatus(cause))
    if causes_list:
        chan.vars.set("originate_causes", _array(causes_list))
    chan.vars.set("last_bridge_hangup_cause", cause)
    chan.vars.set("originate_failed_cause", cause)
    if not _continue_on_fail(
        chan.vars.get("continue_on_fail"), chan.vars.get("failure_causes"), cause
    ):
        call.switch.hangup_channel(chan, cause)


def _continue_on_fail(cof: str | None, failure_causes: str | None, cause: str) -> bool:
    """mod_dptools: go on after a failed bridge, or hang up with the cause."""
    if failure_causes:
        return not causes.cause_in_list(cause, failure_causes)
    if not cof:
        return False
    if cof.lower() in ("true", "yes", "on", "1", "enabled", "active", "allow"):
        return True
    return causes.cause_in_list(cause, cof)


def _array(items: list[str]) -> str:
    """FreeSWITCH's multi-value variable: one item as is, several as ``ARRAY::a|:b``."""
    if len(items) == 1:
        return items[0]
    return "ARRAY::" + "|:".join(items)
