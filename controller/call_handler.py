"""One greenlet per call: plan it, execute the plan's steps, leave it in a defined state.

Flow: ``connect`` -> ``myevents`` / ``event plain`` / ``linger`` -> plan
(``routing.start_call`` with a deadline) -> steps -> ``finally``: the call is hung
up with a cause or transferred to the fallback -> wait for CHANNEL_HANGUP_COMPLETE
(bounded) -> the CDR goes to the durable spool.

With ``socket_resume=true`` in the dialplan, closing the socket without a
decision resumes the dialplan (its own fallback), so the handler always ends the
call explicitly and only falls back on that when FreeSWITCH stops listening.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import gevent
from gevent import socket

from controller import call_context, logs
from controller import channel_vars as cv
from controller.bridge_result import BridgeResult, caller_cause, leg_outcome, parse_bridge_result
from controller.call_channel import CallChannel, utcnow
from controller.cdr_record import LegRecord, build_cdr, disposition, iso
from controller.dialstring import build_dial_string, ring_budget
from controller.errors import (
    CallerGone,
    DatabaseUnavailable,
    EslError,
    HuntsmanError,
    InvalidCall,
    PlanTimeout,
)
from controller.metrics import Metrics
from controller.plan import (
    BridgeStep,
    HangupStep,
    Plan,
    PlayStep,
    QueueStep,
    Step,
    TransferStep,
    VoicemailStep,
    parse_plan,
    parse_step,
)
from controller.queue_step import (
    ChannelSession,
    QueueClock,
    QueueContext,
    QueueDb,
    QueueOutcome,
    WallClock,
    handle_feature_code,
    is_feature_code,
    run_queue_step,
)
from controller.settings import Settings

BRIDGE_MARGIN = 10.0
"""Seconds added to a step's ring budget before its completion is declared lost."""

HANGUP_COMPLETE_WAIT = 10.0
"""Seconds to wait for CHANNEL_HANGUP_COMPLETE after the controller hung the call up."""

PLAY_TIMEOUT = 600.0


class Planner(Protocol):
    def start_call(self, call: dict[str, Any], now: datetime, timeout: float) -> Any: ...


@dataclass
class CallDeps:
    settings: Settings
    planner: Planner | None
    submit_cdr: Callable[[dict[str, Any]], None]
    metrics: Metrics
    log: Any = field(default_factory=logs.get_logger)
    queue_db: QueueDb | None = None
    """The ``queue.*`` functions (queue steps and agent feature codes); None: no database."""
    queue_clock: QueueClock = field(default_factory=WallClock)
    time_scale: float = 1.0
    """Real seconds per call-time second (1 in production; the emulator's scale in tests)."""
    controller_id: str | None = None


class CallHandler:
    def __init__(self, sock: socket.socket, deps: CallDeps, accepted_at: float) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.accepted_at = accepted_at
        self.log = deps.log
        self.channel = CallChannel(sock, deps.log)
        self.call: dict[str, Any] = {}
        self.plan_raw: Any = None
        self.fallback: TransferStep = deps.settings.fallback
        self.started = utcnow()
        self.legs: list[LegRecord] = []
        self.answered = False
        self.answered_by: dict[str, Any] | None = None
        self.last_failure: str | None = None
        self.final: str | None = None  # "hangup" | "transfer" | "fallback" | "voicemail"
        self.final_cause: str | None = None
        self.killed = False
        self.first_bridge = True
        self.continue_on_fail_set = False

    # --- lifecycle -----------------------------------------------------------------------------

    def run(self) -> None:
        self.deps.metrics.active_calls.inc()
        try:
            self._run()
        finally:
            self.deps.metrics.active_calls.dec()
            self.channel.close()
            logs.clear_call()

    def _run(self) -> None:
        self.channel.start()
        try:
            reply = self.channel.connect_and_subscribe()
        except EslError as exc:
            self.log.warning("call_connect_failed", error=str(exc))
            self.deps.metrics.calls.labels("error").inc()
            return
        self.started = utcnow()
        # The call is ours: disarm the dialplan's watchdog before anything else, so a plan that
        # rings for longer than the claim timeout is not moved to the fallback under our feet.
        self.channel.execute_later(cv.APP_SCHED_CANCEL)
        invalid: InvalidCall | None = None
        try:
            self.call = call_context.build_call(reply.headers)
        except InvalidCall as exc:
            self.call = call_context.fallback_call(reply.headers)
            invalid = exc
        logs.bind_call(self.call.get("uuid") or "invalid")
        try:
            if invalid is not None:
                raise invalid
            if self._feature_code():
                return
            self._execute(self._plan())
        except gevent.GreenletExit:
            self.killed = True
        except CallerGone:
            pass
        except HuntsmanError as exc:
            self.log.warning("call_error", error=str(exc), kind=type(exc).__name__)
            self._end_with(exc)
        except Exception as exc:  # the per-call boundary: one line, then a defined end
            self.log.exception("call_crashed", error=repr(exc))
            self._end_with(HuntsmanError("unexpected controller error"))
        finally:
            self._ensure_final()
            self._finish()

    def _feature_code(self) -> bool:
        """``*71`` / ``*72`` / ``*73`` dialled by one of our (authenticated) devices: agent login,
        logout, break. Returns True when the call was such a code (it is then over)."""
        destination = self.call.get("destination", "")
        user = self.call.get("from_user")
        if not is_feature_code(destination) or not user or self.deps.queue_db is None:
            return False
        self.final = "hangup"
        result = handle_feature_code(
            self._queue_session(),
            self.call["domain"],
            user,
            destination,
            self.deps.queue_db,
            self.deps.queue_clock,
        )
        self.final_cause = "NORMAL_CLEARING"
        self.log.info("feature_code", code=destination, result=dict(result))
        return True

    # --- planning ------------------------------------------------------------------------------

    def _plan(self) -> Plan:
        planner = self.deps.planner
        if planner is None:
            raise DatabaseUnavailable("no database configured (DATABASE_URL)")
        budget = self.settings.plan_timeout
        t0 = time.monotonic()
        # The pool wait and the statement are each bounded by the budget (a statement
        # cancelled by the server leaves the connection usable); this outer guard only
        # catches a hung network, where no server-side timeout can fire.
        guard = 2 * budget + 0.5
        try:
            with gevent.Timeout(guard, PlanTimeout(f"no plan within {guard}s")):
                self.plan_raw = planner.start_call(self.call, utcnow(), budget)
        finally:
            self.deps.metrics.plan_latency.observe(time.monotonic() - t0)
        plan = parse_plan(self.plan_raw)
        if plan.fallback is not None:
            self.fallback = plan.fallback
        self.log.info(
            "call_planned",
            route=plan.route.get("kind"),
            steps=[type(s).__name__ for s in plan.steps],
            ms=round((time.monotonic() - t0) * 1000, 2),
        )
        return plan

    # --- steps -----------------------------------------------------------------------------------

    def _execute(self, plan: Plan) -> None:
        steps: list[Step] = list(plan.steps)
        index = -1
        while index + 1 < len(steps):
            index += 1
            step = steps[index]
            if self.channel.gone:
                raise CallerGone("caller hung up")
            if isinstance(step, BridgeStep):
                result = self._bridge(index, step, plan)
                if result.answered:
                    self.answered = True
                    if not self.channel.gone:
                        self._hangup("NORMAL_CLEARING")
                    return
                if self.channel.gone:
                    raise CallerGone("caller hung up while the legs rang")
                self.last_failure = result.cause
            elif isinstance(step, QueueStep):
                out = self._queue(index, step, plan)
                if out.kind == "answered":
                    self.answered = True
                    if not self.channel.gone:
                        self._hangup("NORMAL_CLEARING")
                    return
                if out.kind == "caller_gone" or self.channel.gone:
                    raise CallerGone("caller hung up while waiting in the queue")
                # overflow: the queue's overflow step runs next, then the rest of the plan
                self.last_failure = "NO_ANSWER" if out.legs else None
                if out.step is not None:
                    steps.insert(index + 1, parse_step(out.step))
            elif isinstance(step, TransferStep):
                self._transfer(step, "transfer")
                return
            elif isinstance(step, VoicemailStep):
                self.final = "voicemail"  # the plan's last word: the caller is not abandoned
                self.channel.execute_wait(
                    cv.APP_VOICEMAIL,
                    f"default {step.domain} {step.mailbox}",
                    timeout=self.settings.max_call_seconds,
                )
                if not self.channel.gone:
                    self.channel.hangup("NORMAL_CLEARING")
                return
            elif isinstance(step, PlayStep):
                self.channel.execute_wait(cv.APP_PLAYBACK, step.file, timeout=PLAY_TIMEOUT)
            elif isinstance(step, HangupStep):
                self._hangup(step.cause)
                return
        if self.last_failure is not None:
            self._hangup(caller_cause(self.last_failure))
        else:
            self._hangup("NO_ROUTE_DESTINATION" if not plan.steps else "NORMAL_CLEARING")

    def _bridge(self, index: int, step: BridgeStep, plan: Plan) -> BridgeResult:
        leg_uuids = [str(uuid.uuid4()) for _ in step.legs]
        dial = build_dial_string(step, plan.caller_id, self.call["uuid"], leg_uuids)
        before: list[tuple[str, str | None]] = []
        if not self.continue_on_fail_set:  # rides in the bridge's write, ahead of it
            before.append((cv.APP_SET, f"{cv.SET_CONTINUE_ON_FAIL}=true"))
            self.continue_on_fail_set = True
        if self.first_bridge:
            self.first_bridge = False
            self.deps.metrics.connect_to_bridge.observe(time.monotonic() - self.accepted_at)
        started = utcnow()
        self.log.info("bridge_start", step=index, strategy=step.strategy, legs=len(step.legs))
        event = self.channel.execute_wait(
            cv.APP_BRIDGE,
            dial,
            timeout=ring_budget(step) + BRIDGE_MARGIN,
            after_bridge=self.settings.max_call_seconds,
            before=before,
        )
        result = parse_bridge_result(event)
        self._record_legs(index, step, leg_uuids, result, started)
        label = "SUCCESS" if result.answered else result.cause
        self.deps.metrics.bridge_outcomes.labels(label).inc()
        self.log.info("bridge_end", step=index, outcome=result.outcome, cause=result.cause)
        return result

    def _queue_session(self) -> ChannelSession:
        return ChannelSession(
            self.channel,
            time_scale=self.deps.time_scale,
            max_call_seconds=self.settings.max_call_seconds,
        )

    def _queue(self, index: int, step: QueueStep, plan: Plan) -> QueueOutcome:
        if self.deps.queue_db is None:
            raise DatabaseUnavailable("no database configured: queue steps need one")
        ctx = QueueContext(
            self.call["uuid"], plan.caller_id, self.deps.controller_id, None, self.log
        )
        self.log.info("queue_start", step=index, queue_id=step.queue_id)
        if self.first_bridge:  # the caller is taken care of from here (answered, on hold)
            self.first_bridge = False
            self.deps.metrics.connect_to_bridge.observe(time.monotonic() - self.accepted_at)
        self.continue_on_fail_set = True  # the executor sets it before the first wave
        entered = time.monotonic()
        out = run_queue_step(
            self._queue_session(), step, ctx, self.deps.queue_db, self.deps.queue_clock
        )
        metrics = self.deps.metrics
        metrics.queue_calls.labels(out.kind).inc()
        metrics.queue_waves.inc(out.waves)
        metrics.queue_wait.observe((time.monotonic() - entered) / self.deps.time_scale)
        for leg in out.legs:
            won = leg.outcome == "answered"
            if won:
                self.answered_by = {
                    "target": leg.target,
                    "device_id": leg.device_id,
                    "agent_id": leg.agent_id,
                }
            self.legs.append(
                LegRecord(
                    seq=len(self.legs) + 1,
                    step=index,
                    target=leg.target,
                    device_id=leg.device_id,
                    outcome=leg.outcome,
                    cause=leg.cause,
                    started_at=iso(leg.started_at),
                    answered_at=iso(self.channel.bridged_at) if won else None,
                    ended_at=iso(leg.ended_at),
                )
            )
        self.log.info("queue_end", step=index, outcome=out.kind, reason=out.reason, waves=out.waves)
        return out

    def _record_legs(
        self,
        index: int,
        step: BridgeStep,
        leg_uuids: list[str],
        result: BridgeResult,
        started: datetime,
    ) -> None:
        ended = utcnow()
        causes = {lc.uuid: lc.cause for lc in result.legs}
        if not any(u in causes for u in leg_uuids) and len(result.legs) == len(leg_uuids):
            causes = {u: lc.cause for u, lc in zip(leg_uuids, result.legs, strict=True)}
        for leg, leg_uuid in zip(step.legs, leg_uuids, strict=True):
            cause = causes.get(leg_uuid)
            won = result.answered and (
                leg_uuid == result.other_leg_uuid
                or (cause == cv.HANGUP_CAUSE_NONE and not self.answered_by)
            )
            if won:
                outcome, cause = "answered", cv.HANGUP_CAUSE_NONE
                self.answered_by = {"target": leg.target, "device_id": leg.device_id}
            elif cause is None:
                outcome, cause = "not_started", ""
            else:
                outcome = leg_outcome(cause)
            self.legs.append(
                LegRecord(
                    seq=len(self.legs) + 1,
                    step=index,
                    target=leg.target,
                    device_id=leg.device_id,
                    outcome=outcome,
                    cause=cause,
                    started_at=iso(started),
                    answered_at=iso(self.channel.bridged_at) if won else None,
                    ended_at=iso(ended),
                )
            )

    # --- endings -------------------------------------------------------------------------------

    def _hangup(self, cause: str) -> None:
        self.final, self.final_cause = "hangup", cause
        self.channel.hangup(cause)

    def _transfer(self, step: TransferStep, kind: str) -> None:
        self.final, self.final_cause = kind, None
        self.channel.execute(cv.APP_TRANSFER, step.argument)

    def _end_with(self, exc: HuntsmanError) -> None:
        if self.channel.gone or self.final is not None:
            return
        try:
            if exc.use_fallback and not self.answered:
                self._transfer(self.fallback, "fallback")
            else:
                self._hangup(exc.hangup_cause)
        except EslError as err:
            self.log.warning("call_end_failed", error=str(err))

    def _ensure_final(self) -> None:
        """Whatever happened, leave the call hung up or with the fallback."""
        if self.final is not None or self.channel.gone:
            return
        try:
            if self.answered:
                self._hangup("NORMAL_CLEARING")
            else:
                self._transfer(self.fallback, "fallback")
        except EslError as err:
            self.log.warning("call_end_failed", error=str(err))

    def _finish(self) -> None:
        if self.killed:
            wait = 0.0
        elif self.final in ("transfer", "fallback", "voicemail") or (
            self.answered and not self.channel.gone
        ):
            wait = self.settings.max_call_seconds
        else:
            wait = HANGUP_COMPLETE_WAIT
        hangup = self.channel.wait_hangup_complete(wait)
        abandoned = not self.answered and self.final is None and self.channel.hungup.is_set()
        disp = disposition(
            answered=self.answered,
            abandoned=abandoned,
            last_failure=self.last_failure,
            hangup=hangup,
        )
        cause = None
        if hangup is not None:
            cause = hangup.get(cv.H_HANGUP_CAUSE) or None
        cause = cause or self.channel.hangup_cause or self.final_cause
        result = "fallback" if self.final == "fallback" else disp
        self.deps.metrics.calls.labels(result).inc()
        self.log.info("call_end", disposition=disp, cause=cause, final=self.final)
        if not self.call.get("uuid"):
            self.log.warning("cdr_skipped", reason="channel data had no valid uuid")
            return
        cdr = build_cdr(
            self.call,
            self.plan_raw if isinstance(self.plan_raw, dict) else None,
            self.legs,
            hangup=hangup,
            started=self.started,
            answered=self.channel.answered_at,
            ended=utcnow(),
            hangup_cause=cause,
            disposition=disp,
            answered_by=self.answered_by,
        )
        try:
            self.deps.submit_cdr(cdr)
        except OSError as exc:  # disk full, spool directory gone: nothing left to fall back on
            self.log.error("cdr_spool_failed", error=str(exc), cdr=cdr)
