"""The originate engine: rings the legs of a dial string with FreeSWITCH's timers and causes.

``,`` legs ring together, ``|`` groups one after the other, ``:_:`` branches in parallel.
The first leg to answer wins; the others end with LOSE_RACE. Timers: ``leg_timeout``
(ALLOTTED_TIMEOUT for that leg), ``originate_timeout``/``call_timeout`` (per ``|`` group,
NO_ANSWER for every leg still ringing), ``leg_delay_start``, ``originate_delay_start``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent
import gevent.event

from switchsim import legs
from switchsim.channel import Channel
from switchsim.dialstring import Branch, DialString, Leg
from switchsim.endpoints import Behaviour
from switchsim.records import BridgeRecord, LegRecord

if TYPE_CHECKING:
    from switchsim.switch import Switch

DEFAULT_TIMEOUT = 60.0


def _num(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


@dataclass
class LegRun:
    """A leg being rung: its record, its B channel (if any) and how it ended."""

    leg: Leg
    record: LegRecord
    behaviour: Behaviour
    channel: Channel | None = None
    done: gevent.event.Event = field(default_factory=gevent.event.Event)
    stop_cause: str | None = None
    wake: gevent.event.Event = field(default_factory=gevent.event.Event)
    group_size: int = 1


@dataclass
class Outcome:
    """Result of an originate: the winning leg (answered) or the failure cause."""

    cause: str
    winner: LegRun | None
    runs: list[LegRun]

    @property
    def success(self) -> bool:
        """True when a leg answered."""
        return self.winner is not None


class Originator:
    """Rings one dial string for an (optional) A-leg; :meth:`run` blocks until it resolves."""

    def __init__(
        self,
        switch: Switch,
        dial: DialString,
        a_leg: Channel | None,
        record: BridgeRecord,
        on_ring: Callable[[LegRun], None] | None = None,
        on_leg_start: Callable[[LegRun], None] | None = None,
        on_leg_end: Callable[[LegRun], None] | None = None,
        on_group_failed: Callable[[str], None] | None = None,
    ) -> None:
        self.switch = switch
        self.dial = dial
        self.a_leg = a_leg
        self.record = record
        self.on_ring = on_ring
        self.on_leg_start = on_leg_start
        self.on_leg_end = on_leg_end
        self.on_group_failed = on_group_failed
        self.runs: list[LegRun] = []
        self.winner: LegRun | None = None
        self.finished = gevent.event.Event()
        self.cancel_cause: str | None = None

    # -- public ----------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Ring everything; return when a leg answered, all failed, or it was cancelled."""
        branches = self.dial.branches
        if len(branches) == 1:
            cause = self._run_branch(branches[0], enterprise=False)
        else:
            workers = [gevent.spawn(self._run_branch, b, True) for b in branches]
            gevent.joinall(workers)
            causes = [w.value for w in workers if w.value]
            cause = causes[-1] if causes else "NORMAL_TEMPORARY_FAILURE"
        if self.cancel_cause:
            cause = self.cancel_cause
        if self.winner is not None:
            cause = "SUCCESS"
        self.finished.set()
        return Outcome(cause=cause, winner=self.winner, runs=self.runs)

    def cancel(self, cause: str = "ORIGINATOR_CANCEL") -> None:
        """Stop ringing (the caller hung up): every live leg ends with ``cause``."""
        self.cancel_cause = cause
        for run in self.runs:
            self._stop(run, cause)

    # -- internals -------------------------------------------------------------------------

    def _timeout(self, variables: dict[str, str]) -> float:
        for name in ("originate_timeout", "call_timeout"):
            value = _num(variables.get(name))
            if value:
                return value
        if self.a_leg is not None:
            value = _num(self.a_leg.vars.get("call_timeout"))
            if value:
                return value
        return DEFAULT_TIMEOUT

    def _run_branch(self, branch: Branch, enterprise: bool) -> str:
        delay = _num(branch.variables.get("originate_delay_start"))
        if delay:
            self.switch.clock.sleep(delay)
        last_cause = "NORMAL_TEMPORARY_FAILURE"
        for index, group in enumerate(branch.groups):
            if self.winner is not None or self.cancel_cause:
                break
            last_cause = self._run_group(group, enterprise)
            if self.winner is not None:
                break
            if self.on_group_failed and index < len(branch.groups) - 1 and not self.cancel_cause:
                self.on_group_failed(last_cause)
        return last_cause

    def _run_group(self, group: list[Leg], enterprise: bool) -> str:
        timeout = self._timeout(group[0].variables)
        runs: list[LegRun] = []
        for leg in group:
            behaviour = self.switch.behaviour_for(leg.target)
            variables = dict(leg.variables)
            if enterprise:
                variables["ignore_early_media"] = "true"  # enterprise originate forces it
            rec = LegRecord(
                target=leg.target,
                variables=variables,
                a_leg=self.a_leg.uuid if self.a_leg else None,
            )
            run = LegRun(leg=leg, record=rec, behaviour=behaviour, group_size=len(group))
            runs.append(run)
            self.runs.append(run)
            self.record.legs.append(rec)
        workers = [gevent.spawn(self._ring, run) for run in runs]
        deadline = self.switch.clock.real(timeout)
        timer = gevent.Timeout(deadline)
        timer.start()
        try:
            gevent.joinall(workers)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            for run in runs:
                self._stop(run, "NO_ANSWER")
            gevent.joinall(workers)
            return "NO_ANSWER"
        finally:
            timer.close()
        if self.winner is not None:
            return "SUCCESS"
        causes = [r.record.cause for r in runs if r.record.cause]
        return causes[-1] if causes else "NORMAL_TEMPORARY_FAILURE"

    def _stop(self, run: LegRun, cause: str) -> None:
        if not run.done.is_set() and run.stop_cause is None:
            run.stop_cause = cause
            run.wake.set()

    def _wait(self, run: LegRun, seconds: float | None) -> bool:
        """Wait simulated ``seconds`` (None = forever); True if stopped meanwhile."""
        if run.stop_cause is not None:
            return True
        run.wake.wait(None if seconds is None else self.switch.clock.real(seconds))
        return run.stop_cause is not None

    def _ring(self, run: LegRun) -> None:
        clock = self.switch.clock
        rec = run.record
        v = run.leg.variables
        try:
            delay = _num(v.get("leg_delay_start"))
            if delay and self._wait(run, delay):
                self._end(run, run.stop_cause or "ORIGINATOR_CANCEL")
                return
            beh = run.behaviour
            rec.started_at = clock.now()
            if run.leg.overflow:
                self._end(run, "INVALID_NUMBER_FORMAT")
                return
            if beh.creates_channel:
                run.channel = legs.create(self.switch, run.leg, self.a_leg)
                rec.uuid = run.channel.uuid
            if self.on_leg_start:
                self.on_leg_start(run)
            leg_timeout = _num(v.get("leg_timeout"))
            start = clock.now()
            milestones: list[tuple[float, str]] = []
            if beh.ring_after is not None:
                milestones.append((beh.ring_after, "ring"))
            if beh.answer_after is not None:
                milestones.append((beh.answer_after, "answer"))
            if beh.cause is not None:
                milestones.append((beh.fail_after, "fail"))
            if leg_timeout:
                milestones.append((leg_timeout, "timeout"))
            milestones.sort(key=lambda m: (m[0], ["fail", "ring", "answer", "timeout"].index(m[1])))
            for at, what in milestones:
                if self._wait(run, max(0.0, at - (clock.now() - start))):
                    self._end(run, run.stop_cause or "ORIGINATOR_CANCEL")
                    return
                if what == "ring":
                    rec.rang_at = clock.now()
                    if run.channel is not None:
                        legs.ring(self.switch, run.channel)
                    if self.on_ring:
                        self.on_ring(run)
                elif what == "answer":
                    if self.winner is None and not self.cancel_cause:
                        self.winner = run
                        rec.answered_at = clock.now()
                        if run.channel is not None:
                            legs.answer(self.switch, run.channel)
                        for other in self.runs:
                            if other is not run:
                                self._stop(other, "LOSE_RACE")
                        run.done.set()
                        return
                    self._end(run, "LOSE_RACE")
                    return
                elif what == "fail":
                    if run.channel is not None and beh.kind in ("busy", "reject"):
                        legs.refuse(self.switch, run.channel, beh.cause or "USER_BUSY")
                    self._end(run, beh.cause or "NORMAL_TEMPORARY_FAILURE")
                    return
                elif what == "timeout":
                    self._end(run, "ALLOTTED_TIMEOUT")
                    return
            # No milestone ends the leg: ring until stopped.
            self._wait(run, None)
            self._end(run, run.stop_cause or "ORIGINATOR_CANCEL")
        finally:
            run.done.set()

    def _hangup_after_return(self, chan: Channel, cause: str) -> None:
        # Let the originate's caller see the result first (two scheduler turns).
        gevent.sleep(0)
        gevent.sleep(0)
        legs.hangup(self.switch, chan, cause)

    def _end(self, run: LegRun, cause: str) -> None:
        rec = run.record
        rec.cause = cause
        rec.ended_at = self.switch.clock.now()
        if rec.started_at is None:
            rec.started_at = rec.ended_at
        if (
            run.channel is not None
            and run.channel.vars.get("sip_call_id")
            and not run.channel.is_answered
        ):
            run.channel.vars.update(
                {"sip_invite_failure_status": "487", "sip_invite_failure_phrase": "CANCEL"}
            )
        if run.channel is not None:
            if cause == "NO_ANSWER":
                # originate_timeout: the originate returns first, the legs are torn down after.
                gevent.spawn(self._hangup_after_return, run.channel, cause)
            else:
                legs.hangup(self.switch, run.channel, cause)
        if self.on_leg_end:
            self.on_leg_end(run)
