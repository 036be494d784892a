"""Executor of a plan's ``{"type": "queue", "queue_id": N}`` step: ring the queue in waves.

SQL decides, this module executes (``db/sql/routines/queue/``):

1. ``queue.enter``: the call joins the queue (or overflows at once: no agent logged in,
   queue disabled or unknown);
2. the caller is answered and hears hold music (or ringback), also while waves ring
   (``ringback`` / ``transfer_ringback``);
3. ``queue.next_wave`` says ring / wait / overflow.  A wave is one ``bridge`` to the wave's
   legs with ``,`` (simultaneous), each leg with ``leg_timeout`` = the wave ring time,
   ``ignore_early_media=true`` and ``ignore_completed_elsewhere=false``: when one agent
   answers, FreeSWITCH hangs the other legs up with LOSE_RACE and mod_sofia then sends
   ``CANCEL`` with ``Reason: SIP;cause=200;text="Call completed elsewhere"`` (sofia_on_hangup,
   unless ``ignore_completed_elsewhere`` is true, ``disable_q850_reason`` is true or
   ``sip_reason`` is set), so the phones of the other agents do not log a missed call;
4. the moment a leg answers (CHANNEL_BRIDGE) ``queue.wave_result`` puts that agent on the
   call, so it is never offered another one; an unanswered wave reports each agent's outcome
   (from ``originate_causes``), which counts no-answers and sends agents on break;
5. while waiting: hold music in short chunks (``playback_timeout_sec``) between polls, and
   position / estimated-wait announcements every ``announce_interval_seconds``;
6. ``finally``: ``queue.call_ended`` (wrap-up for the agent, reservations released, caller
   row removed), whatever happened.

The module is written against three small protocols (``QueueSession``, ``QueueDb``,
``QueueClock``) so the call handler can adapt its channel, database and clock to it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import gevent
import gevent.event

from controller import channel_vars as cv
from controller.bridge_result import leg_outcome, parse_originate_causes
from controller.dialstring import build_dial_string
from controller.errors import CallerGone, HuntsmanError, PlanError
from controller.plan import BridgeStep, CallerId, Leg, QueueStep

# --- FreeSWITCH names used only here (candidates for channel_vars) -------------------------
VAR_RINGBACK: Final = "ringback"
VAR_TRANSFER_RINGBACK: Final = "transfer_ringback"
VAR_PLAYBACK_TIMEOUT_SEC: Final = "playback_timeout_sec"
VAR_IGNORE_COMPLETED_ELSEWHERE: Final = "ignore_completed_elsewhere"
CV_LAST_BRIDGE_TO: Final = "variable_last_bridge_to"
APP_SAY: Final = "say"

# --- sounds -----------------------------------------------------------------------------
RINGBACK_TONE: Final = "%(2000,4000,440,480)"
RINGBACK_STREAM: Final = "tone_stream://%(2000,4000,440,480);loops=-1"
TONE_OK: Final = "tone_stream://%(200,100,1400);loops=2"
TONE_ERROR: Final = "tone_stream://%(500,500,480,620);loops=2"
PROMPT_POSITION: Final = "ivr/ivr-you_are_number.wav"
PROMPT_WAIT: Final = "ivr/ivr-estimated_wait_time.wav"
PROMPT_MINUTES: Final = "time/minutes.wav"

# --- timing (call-time seconds) ---------------------------------------------------------
HOLD_CHUNK_SECONDS: Final = 2
"""Hold music between two polls of ``next_wave`` (FreeSWITCH needs > 1 s)."""
BRIDGE_MARGIN_SECONDS: Final = 10.0
"""Added to a wave's ring time before its completion is declared lost."""
APP_TIMEOUT_SECONDS: Final = 30.0
MAX_CALL_SECONDS: Final = 4 * 3600.0
MAX_REENTRIES: Final = 3

FEATURE_CODES: Final = frozenset({"*71", "*72", "*73"})

_OUTCOME_RANK = {"no_answer": 0, "busy": 1, "failed": 2, "lose_race": 3, "cancelled": 4}


# --- the protocols the call handler adapts to ----------------------------------------------


Completion = Mapping[str, str]
"""Headers of an application's CHANNEL_EXECUTE_COMPLETE event."""


class QueueSession(Protocol):
    """The caller's channel (A-leg) over the outbound Event Socket."""

    @property
    def gone(self) -> bool:
        """True once the caller hung up (or the socket closed)."""
        ...

    def execute(
        self,
        app: str,
        arg: str | None,
        event_uuid: str,
        timeout: float,
        on_bridge: Callable[[str], None] | None = None,
    ) -> Completion:
        """Run ``app`` and return its CHANNEL_EXECUTE_COMPLETE (matched by ``event_uuid``).

        ``timeout`` (call-time seconds) bounds the wait until the channel is bridged; once
        bridged the application lasts as long as the conversation.  ``on_bridge(other_leg_uuid)``
        is called (from another greenlet, may be late) when CHANNEL_BRIDGE arrives.
        Raises ``CallerGone`` when the caller hangs up before the completion arrives.
        """
        ...

    def hangup(self, cause: str) -> None: ...


class QueueDb(Protocol):
    """``call("next_wave", a, b)`` runs ``SELECT queue.next_wave(a, b)`` and returns the jsonb
    decoded (dict/list arguments are sent as jsonb).  Raises a ``DatabaseError`` on failure."""

    def call(self, fn_name: str, *args: Any) -> Any: ...


class QueueClock(Protocol):
    def now(self) -> datetime:
        """The wall clock passed to SQL as ``p_now``."""
        ...

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of call time (cooperatively)."""
        ...


# queue.<function> the executor calls -> its argument types, for the database module to build
# ``SELECT queue.<fn>(%s::<type>, ...)`` (explicit casts: no reliance on parameter inference).
QUEUE_FUNCTIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "enter": ("uuid", "bigint", "integer", "timestamptz", "text"),
    "next_wave": ("uuid", "timestamptz"),
    "wave_result": ("uuid", "integer", "bigint", "jsonb", "timestamptz"),
    "call_ended": ("uuid", "timestamptz"),
    "feature_code": ("text", "text", "text", "timestamptz"),
    "tick": ("timestamptz",),
}


def queue_sql(fn_name: str) -> str:
    """``SELECT queue.<fn>(%s::type, ...)`` for one of ``QUEUE_FUNCTIONS`` (dict/list arguments
    must be passed as jsonb, e.g. psycopg's ``Jsonb``)."""
    types = QUEUE_FUNCTIONS.get(fn_name)
    if types is None:
        raise PlanError(f"queue.{fn_name} is not a function the queue executor calls")
    return f"SELECT queue.{fn_name}({', '.join(f'%s::{t}' for t in types)})"


class WallClock:
    """``QueueClock`` of a live controller: UTC wall clock, cooperative sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)


class EslChannel(Protocol):
    """What ``ChannelSession`` needs from the controller's ``CallChannel``."""

    bridged: gevent.event.Event
    other_leg: str

    @property
    def gone(self) -> bool: ...

    def execute_wait(
        self, app: str, arg: str | None, *, timeout: float, after_bridge: float | None = None
    ) -> Any: ...

    def hangup(self, cause: str) -> None: ...


class ChannelSession:
    """``QueueSession`` over the controller's ``CallChannel`` (``execute_wait`` matches the
    completion by its own Application-UUID; ``bridged``/``other_leg`` give the answering leg).

    ``time_scale`` converts call-time seconds to real ones (the emulator's, in tests).
    """

    def __init__(
        self,
        channel: EslChannel,
        *,
        time_scale: float = 1.0,
        max_call_seconds: float = MAX_CALL_SECONDS,
    ) -> None:
        self.channel = channel
        self.time_scale = time_scale
        self.max_call_seconds = max_call_seconds

    @property
    def gone(self) -> bool:
        return self.channel.gone

    def execute(
        self,
        app: str,
        arg: str | None,
        event_uuid: str,
        timeout: float,
        on_bridge: Callable[[str], None] | None = None,
    ) -> Completion:
        watcher = gevent.spawn(self._watch, on_bridge) if on_bridge is not None else None
        try:
            event = self.channel.execute_wait(
                app,
                arg,
                timeout=timeout * self.time_scale + 1.0,
                after_bridge=self.max_call_seconds,
            )
        finally:
            if watcher is not None:
                if self.channel.bridged.is_set():
                    watcher.join(timeout=0.5)  # let on_bridge run if it has not yet
                watcher.kill()
        headers: Completion = dict(event.headers)
        return headers

    def _watch(self, on_bridge: Callable[[str], None]) -> None:
        self.channel.bridged.wait()
        on_bridge(self.channel.other_leg)

    def hangup(self, cause: str) -> None:
        self.channel.hangup(cause)


@dataclass(frozen=True)
class QueueContext:
    """What the executor needs to know about the call."""

    call_uuid: str
    caller_id: CallerId = field(default_factory=CallerId)
    controller_id: str | None = None
    priority: int | None = None
    log: Any = None


@dataclass(frozen=True)
class QueueLeg:
    """One leg rung for the queue (for the CDR and the tests)."""

    wave: int
    agent_id: int
    device_id: int | None
    target: str
    leg_uuid: str
    outcome: str  # answered | no_answer | busy | failed | lose_race | cancelled
    cause: str
    started_at: datetime
    ended_at: datetime | None


@dataclass
class QueueOutcome:
    """How the queue step ended.

    ``kind``: ``answered`` (an agent took the call and the conversation is over), ``overflow``
    (run ``step``, a plan step dict, next), or ``caller_gone`` (the caller hung up).
    """

    kind: str
    reason: str
    step: Mapping[str, Any] | None = None
    agent_id: int | None = None
    answered_target: str | None = None
    answered_device_id: int | None = None
    waves: int = 0
    legs: list[QueueLeg] = field(default_factory=list)


# --- the step -----------------------------------------------------------------------------


def run_queue_step(
    session: QueueSession,
    step: QueueStep,
    ctx: QueueContext,
    db: QueueDb,
    clock: QueueClock,
) -> QueueOutcome:
    """Run one queue step to its end; always leaves the queue (``queue.call_ended``)."""
    run = _QueueRun(session, step, ctx, db, clock)
    try:
        return run.run()
    finally:
        try:
            db.call("call_ended", ctx.call_uuid, clock.now())
        except Exception as exc:  # the lease releases what this could not
            _log(ctx, "queue_call_ended_failed", error=str(exc))


class _QueueRun:
    def __init__(
        self,
        session: QueueSession,
        step: QueueStep,
        ctx: QueueContext,
        db: QueueDb,
        clock: QueueClock,
    ) -> None:
        self.session = session
        self.step = step
        self.ctx = ctx
        self.db = db
        self.clock = clock
        self.outcome = QueueOutcome(kind="caller_gone", reason="caller_gone")
        self.settings: Mapping[str, Any] = {}
        self.next_announce: datetime | None = None
        self.hold_var_set = False

    def run(self) -> QueueOutcome:
        entered = self._enter()
        if entered["action"] == "overflow":
            return self._overflow(entered)
        self.settings = entered["queue"]
        try:
            self._prepare_hold()
            self._announce(entered)
        except HuntsmanError as exc:
            if isinstance(exc, CallerGone) or self.session.gone:
                return self._gone()
            raise
        try:
            return self._loop()
        except HuntsmanError as exc:
            if self.outcome.kind == "answered":
                return self.outcome
            if isinstance(exc, CallerGone) or self.session.gone:
                return self._gone()  # e.g. ConnectionLost once the caller's linger ran out
            raise

    def _loop(self) -> QueueOutcome:
        reentries = 0
        while True:
            if self.session.gone:
                return self._gone()
            res = self.db.call("next_wave", self.ctx.call_uuid, self.clock.now())
            action = res.get("action")
            if action == "ring":
                if self._ring(res):
                    return self.outcome
            elif action == "wait":
                self._wait(res)
            elif action == "overflow":
                return self._overflow(res)
            elif action == "gone" and reentries < MAX_REENTRIES:
                # our caller row was dropped (lease ran out while we were stalled): join again
                reentries += 1
                entered = self._enter()
                if entered["action"] == "overflow":
                    return self._overflow(entered)
            else:
                raise PlanError(f"queue.next_wave answered {action!r} for a live call")

    # --- entering and leaving ------------------------------------------------------------------

    def _enter(self) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self.db.call(
            "enter",
            self.ctx.call_uuid,
            self.step.queue_id,
            self.ctx.priority,
            self.clock.now(),
            self.ctx.controller_id,
        )
        _log(self.ctx, "queue_enter", queue_id=self.step.queue_id, action=result.get("action"))
        return result

    def _overflow(self, res: Mapping[str, Any]) -> QueueOutcome:
        self.outcome.kind = "overflow"
        self.outcome.reason = str(res.get("reason") or "overflow")
        self.outcome.step = res.get("step") or {"type": "hangup", "cause": "NO_ANSWER"}
        _log(self.ctx, "queue_overflow", queue_id=self.step.queue_id, reason=self.outcome.reason)
        return self.outcome

    def _gone(self) -> QueueOutcome:
        self.outcome.kind = "caller_gone"
        self.outcome.reason = "caller_gone"
        return self.outcome

    # --- media while waiting -------------------------------------------------------------------

    def _app(self, app: str, arg: str | None, timeout: float = APP_TIMEOUT_SECONDS) -> Completion:
        return self.session.execute(app, arg, str(uuid.uuid4()), timeout)

    def _hold_sound(self) -> str:
        if self.settings.get("hold_mode") == "ringback":
            return RINGBACK_STREAM
        return str(self.settings.get("hold_music") or "local_stream://moh")

    def _prepare_hold(self) -> None:
        ringback = (
            RINGBACK_TONE
            if self.settings.get("hold_mode") == "ringback"
            else str(self.settings.get("hold_music") or "local_stream://moh")
        )
        self._app(cv.APP_SET, f"{cv.SET_CONTINUE_ON_FAIL}=true")
        self._app(cv.APP_SET, f"{VAR_RINGBACK}={ringback}")
        self._app(cv.APP_SET, f"{VAR_TRANSFER_RINGBACK}={ringback}")
        self._app(cv.APP_ANSWER, None)

    def _hold(self, seconds: float) -> None:
        """Hold music for about ``seconds`` (at least HOLD_CHUNK_SECONDS, FreeSWITCH's minimum)."""
        chunk = max(HOLD_CHUNK_SECONDS, math.ceil(seconds))
        self._app(cv.APP_SET, f"{VAR_PLAYBACK_TIMEOUT_SEC}={chunk}")
        self.hold_var_set = True
        self._app(cv.APP_PLAYBACK, self._hold_sound(), timeout=chunk + APP_TIMEOUT_SECONDS)

    def _announce(self, res: Mapping[str, Any]) -> None:
        position = bool(self.settings.get("announce_position"))
        wait = bool(self.settings.get("announce_wait"))
        if not (position or wait):
            return
        now = self.clock.now()
        if self.next_announce is not None and now < self.next_announce:
            return
        interval = int(self.settings.get("announce_interval_seconds") or 60)
        self.next_announce = datetime.fromtimestamp(now.timestamp() + interval, tz=now.tzinfo)
        if self.hold_var_set:  # announcements play in full
            self._app(cv.APP_SET, f"{VAR_PLAYBACK_TIMEOUT_SEC}=")
            self.hold_var_set = False
        if position and isinstance(res.get("position"), int):
            self._app(cv.APP_PLAYBACK, PROMPT_POSITION)
            self._app(APP_SAY, f"en number pronounced {int(res['position'])}")
        estimated = res.get("estimated_wait")
        if wait and isinstance(estimated, int) and estimated > 0:
            self._app(cv.APP_PLAYBACK, PROMPT_WAIT)
            self._app(APP_SAY, f"en number pronounced {max(1, math.ceil(estimated / 60))}")
            self._app(cv.APP_PLAYBACK, PROMPT_MINUTES)

    def _wait(self, res: Mapping[str, Any]) -> None:
        self._announce(res)
        if self.session.gone:
            return
        retry = float(res.get("retry_after") or HOLD_CHUNK_SECONDS)
        max_wait = float(self.settings.get("max_wait_seconds") or 0)
        waited = float(res.get("waited") or 0)
        if max_wait and max_wait - waited < HOLD_CHUNK_SECONDS:
            # the last moments before the overflow: no new chunk of music
            self.clock.sleep(max(0.1, max_wait - waited))
        else:
            self._hold(retry)

    # --- a wave ----------------------------------------------------------------------------------

    def _ring(self, res: Mapping[str, Any]) -> bool:
        """Bridge to the wave's legs; True when the step is over (answered, or caller gone)."""
        legs_raw: Sequence[Mapping[str, Any]] = res["legs"]
        wave = int(res["waves"][-1]) if res.get("waves") else int(res["wave"])
        self.outcome.waves = wave
        leg_uuids = [str(uuid.uuid4()) for _ in legs_raw]
        by_uuid = dict(zip(leg_uuids, legs_raw, strict=True))
        bridge = BridgeStep(
            strategy="simultaneous",
            timeout=int(res["timeout"]),
            legs=tuple(
                Leg(
                    target=str(leg["target"]),
                    delay=int(leg.get("delay") or 0),
                    timeout=int(leg["timeout"]),
                    device_id=leg.get("device_id"),
                    label=str(leg.get("label") or ""),
                )
                for leg in legs_raw
            ),
            label=f"queue {self.step.queue_id} wave {res['wave']}",
            variables={VAR_IGNORE_COMPLETED_ELSEWHERE: "false"},
        )
        dial = build_dial_string(bridge, self.ctx.caller_id, self.ctx.call_uuid, leg_uuids)
        started = self.clock.now()
        answered = gevent.event.AsyncResult()
        reporter = gevent.spawn(self._report_answer, answered, by_uuid, wave)

        def on_bridge(other_leg: str) -> None:
            if not answered.ready():
                answered.set(other_leg)

        _log(self.ctx, "queue_wave", wave=res["wave"], legs=len(leg_uuids), idle=res.get("idle"))
        try:
            done = self.session.execute(
                cv.APP_BRIDGE,
                dial,
                str(uuid.uuid4()),
                float(res["timeout"]) + BRIDGE_MARGIN_SECONDS,
                on_bridge,
            )
        except BaseException:
            if not answered.ready():
                answered.set(None)
            reporter.join(timeout=5)
            raise
        winner_uuid = _winner(done, set(by_uuid))
        if not answered.ready():
            answered.set(winner_uuid)
        reporter.join(timeout=10)
        reported = reporter.value if reporter.successful() else None
        if winner_uuid is None and reported:
            winner_uuid = reported
        originate_causes = parse_originate_causes(done.get(cv.CV_ORIGINATE_CAUSES, ""))
        causes = {lc.uuid: lc.cause for lc in originate_causes}
        ended = self.clock.now()
        per_agent: dict[int, str] = {}
        for leg_uuid, leg in by_uuid.items():
            cause = "NONE" if leg_uuid == winner_uuid else causes.get(leg_uuid, "")
            if leg_uuid == winner_uuid:
                outcome = "answered"
            elif not cause and winner_uuid:
                outcome = "lose_race"
            elif not cause:
                outcome = "cancelled" if self.session.gone else "no_answer"
            else:
                outcome = _agent_outcome(leg_outcome(cause))
            self.outcome.legs.append(
                QueueLeg(
                    wave=int(leg.get("wave") or res["wave"]),
                    agent_id=int(leg["agent_id"]),
                    device_id=leg.get("device_id"),
                    target=str(leg["target"]),
                    leg_uuid=leg_uuid,
                    outcome=outcome,
                    cause=cause,
                    started_at=started,
                    ended_at=ended,
                )
            )
            if outcome != "answered":
                agent = int(leg["agent_id"])
                best = per_agent.get(agent)
                if best is None or _OUTCOME_RANK[outcome] < _OUTCOME_RANK[best]:
                    per_agent[agent] = outcome
        if winner_uuid is not None:
            leg = by_uuid[winner_uuid]
            self.outcome.kind = "answered"
            self.outcome.reason = "answered"
            self.outcome.agent_id = int(leg["agent_id"])
            self.outcome.answered_target = str(leg["target"])
            self.outcome.answered_device_id = leg.get("device_id")
            if not reported:  # the bridge event never reached us: report it now
                agent = int(leg["agent_id"])
                self.db.call("wave_result", self.ctx.call_uuid, wave, agent, {}, ended)
            return True
        if self.session.gone:
            cancelled = {"default": "cancelled"}
            self.db.call("wave_result", self.ctx.call_uuid, wave, None, cancelled, ended)
            self._gone()
            return True
        outcomes = {str(agent): outcome for agent, outcome in per_agent.items()}
        self.db.call("wave_result", self.ctx.call_uuid, wave, None, outcomes, ended)
        self._announce(res)  # between waves too, when due
        if (ended - started).total_seconds() < HOLD_CHUNK_SECONDS:
            # every leg failed at once (stale registration or busy state): do not spin
            self._hold(HOLD_CHUNK_SECONDS)
        return False

    def _report_answer(
        self,
        answered: gevent.event.AsyncResult,
        by_uuid: Mapping[str, Mapping[str, Any]],
        wave: int,
    ) -> str | None:
        """Put the agent on the call as soon as its leg is bridged (not when the call ends)."""
        other_leg = answered.get()
        if other_leg not in by_uuid:
            return None
        agent = int(by_uuid[other_leg]["agent_id"])
        self.db.call("wave_result", self.ctx.call_uuid, wave, agent, {}, self.clock.now())
        _log(self.ctx, "queue_answered", wave=wave, agent_id=agent)
        return str(other_leg)


def _winner(done: Completion, leg_uuids: set[str]) -> str | None:
    """The leg that answered, read from the bridge's completion (None: nobody answered)."""
    disposition = done.get(cv.CV_ORIGINATE_DISPOSITION, "")
    if cv.DISPOSITION_SUCCESS not in (disposition, done.get(cv.CV_DIALSTATUS, "")):
        return None
    for key in (cv.H_OTHER_LEG_UNIQUE_ID, CV_LAST_BRIDGE_TO):
        value = done.get(key, "")
        if value in leg_uuids:
            return value
    for lc in parse_originate_causes(done.get(cv.CV_ORIGINATE_CAUSES, "")):
        if lc.cause == "NONE" and lc.uuid in leg_uuids:
            return lc.uuid
    return None


def _agent_outcome(word: str) -> str:
    """``bridge_result.leg_outcome`` words -> the outcomes ``queue.wave_result`` takes."""
    if word in _OUTCOME_RANK:
        return word
    return "failed"  # unreachable, failed, anything new


def _log(ctx: QueueContext, event: str, **fields: Any) -> None:
    if ctx.log is not None:
        ctx.log.info(event, **fields)


# --- feature codes ------------------------------------------------------------------------


def is_feature_code(destination: str) -> bool:
    return destination in FEATURE_CODES


def handle_feature_code(
    session: QueueSession,
    domain: str,
    user: str,
    code: str,
    db: QueueDb,
    clock: QueueClock,
) -> Mapping[str, Any]:
    """``*71`` login, ``*72`` logout, ``*73`` break toggle: confirmation tone, then hang up.

    Returns what ``queue.feature_code`` answered (``ok``, ``action``, ``state``...).
    """
    result: Mapping[str, Any] = db.call("feature_code", domain, user, code, clock.now())
    tone = TONE_OK if result.get("ok") else TONE_ERROR
    try:
        session.execute(cv.APP_ANSWER, None, str(uuid.uuid4()), APP_TIMEOUT_SECONDS)
        session.execute(cv.APP_PLAYBACK, tone, str(uuid.uuid4()), APP_TIMEOUT_SECONDS)
    finally:
        if not session.gone:
            session.hangup("NORMAL_CLEARING")
    return result
