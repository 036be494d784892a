"""The simulated switch: channels, event bus, endpoints, registrations, servers."""

from __future__ import annotations

import itertools
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from switchsim import causes
from switchsim.channel import Channel
from switchsim.clock import Clock
from switchsim.endpoints import Behaviour, Endpoints
from switchsim.events import EVENT_PROFILES, Event, channel_event
from switchsim.records import LegRecord
from switchsim.registrations import Registrations
from switchsim.reporting import cdr_variables, rtp_stats

if TYPE_CHECKING:
    from switchsim.call import Call
    from switchsim.inbound import InboundServer

Subscriber = Callable[[Event], None]


class Switch:
    """A FreeSWITCH 1.10 emulator speaking the Event Socket protocol (see the package docs)."""

    def __init__(
        self,
        time_scale: float = 1.0,
        hostname: str = "sim1",
        ipv4: str = "192.0.2.2",
        ipv6: str = "fd00::2",
        core_uuid: str | None = None,
        event_profile: str = "full",
    ) -> None:
        self.clock = Clock(time_scale)
        self.hostname = hostname
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.core_uuid = core_uuid or str(uuidlib.uuid4())
        if event_profile not in EVENT_PROFILES:
            raise ValueError(
                f"event_profile must be one of {EVENT_PROFILES}, got {event_profile!r}"
            )
        self.event_profile = event_profile
        self.endpoints = Endpoints()
        self.channels: dict[str, Channel] = {}
        self.calls: list[Call] = []
        self._legs: list[LegRecord] = []
        self.leg_record: dict[str, LegRecord] = {}
        self._subscribers: list[Subscriber] = []
        self._channel_subscribers: dict[str, list[Subscriber]] = {}
        # What each channel subscriber accepts (its myevents list less what it nixed): an
        # event none of them accepts is never built.
        self._channel_filters: dict[Subscriber, Callable[[str], bool]] = {}
        self._seq = itertools.count(100)
        self._session_ids = itertools.count(1)
        self._media_ports = itertools.count(16384, 2)
        self.registrations = Registrations(self)
        self._servers: list[InboundServer] = []
        self.sessions_since_startup = 0
        self.started_epoch = self.clock.epoch()

    # -- counters ----------------------------------------------------------------------

    def next_sequence(self) -> int:
        """Next ``Event-Sequence`` number."""
        return next(self._seq)

    def next_session_id(self) -> int:
        """Next ``session_id`` variable value."""
        self.sessions_since_startup += 1
        return next(self._session_ids)

    def next_media_port(self) -> int:
        """A local RTP port for a newly answered channel."""
        return next(self._media_ports)

    # -- events ------------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> None:
        """Receive every event the switch fires."""
        self._subscribers.append(fn)

    def unsubscribe(self, fn: Subscriber) -> None:
        """Stop receiving events."""
        if fn in self._subscribers:
            self._subscribers.remove(fn)

    def subscribe_channel(
        self, uuid: str, fn: Subscriber, accepts: Callable[[str], bool] | None = None
    ) -> None:
        """Receive the events whose ``Unique-ID`` is ``uuid`` (an outbound session's
        ``myevents``): indexed, so an event costs nothing to the other calls' sessions.
        ``accepts(event_name)`` lets the switch skip building events the subscriber drops."""
        self._channel_subscribers.setdefault(uuid, []).append(fn)
        if accepts is not None:
            self._channel_filters[fn] = accepts

    def unsubscribe_channel(self, uuid: str, fn: Subscriber) -> None:
        """Stop receiving ``uuid``'s events."""
        fns = self._channel_subscribers.get(uuid)
        if fns is not None and fn in fns:
            fns.remove(fn)
            self._channel_filters.pop(fn, None)
            if not fns:
                del self._channel_subscribers[uuid]

    def publish(self, event: Event) -> None:
        """Fire an event to every subscriber (sessions filter for themselves), then to the
        subscribers of its channel."""
        for fn in list(self._subscribers):
            fn(event)
        uuid = event.unique_id
        if uuid is not None and uuid in self._channel_subscribers:
            for fn in list(self._channel_subscribers[uuid]):
                if fn not in self._subscribers:  # a session subscribed both ways gets it once
                    fn(event)

    def fire(self, chan: Channel, name: str, **kwargs: object) -> None:
        """Build a channel event from ``chan``'s current state and publish it.

        An event nobody can receive (no switch-wide subscriber, nobody on its channel) is
        not built, but it still takes its ``Event-Sequence`` number, as in FreeSWITCH.
        """
        if not self._subscribers and not self._channel_wants(chan.uuid, name):
            self.next_sequence()
            return
        self.publish(channel_event(chan, name, **kwargs))  # type: ignore[arg-type]

    def _channel_wants(self, uuid: str, name: str) -> bool:
        fns = self._channel_subscribers.get(uuid)
        if not fns:
            return False
        filters = self._channel_filters
        return any(fn not in filters or filters[fn](name) for fn in fns)

    def forget_finished(self) -> int:
        """Drop the records of ended calls and legs; returns how many calls were dropped.

        For long load runs: without it every call's record stays alive to the end, and the
        garbage collector walks an ever larger heap (pauses of hundreds of ms).
        """
        before = len(self.calls)
        self.calls = [c for c in self.calls if not c.done.is_set()]
        self._legs = [r for r in self._legs if r.ended_at is None]
        self.leg_record = {u: r for u, r in self.leg_record.items() if r.ended_at is None}
        return before - len(self.calls)

    # -- registrations -----------------------------------------------------------------

    def set_registered(
        self, user: str, domain: str, registered: bool, contact: str | None = None
    ) -> None:
        """Register or unregister ``user@domain``; fires ``sofia::register``/``unregister``."""
        self.registrations.set(user, domain, registered, contact)

    def expire_registration(self, user: str, domain: str) -> None:
        """Let a registration expire; fires ``sofia::expire``."""
        self.registrations.expire(user, domain)

    def behaviour_for(self, target: str) -> Behaviour:
        """Behaviour of a dial target, with unregistered ``user/`` targets failing."""
        if target.startswith("user/"):
            user, _, domain = target[5:].partition("@")
            if not self.registrations.is_registered(user, domain):
                return Behaviour.unregistered()
        if target.startswith("error/"):
            cause = target[6:].upper()
            return Behaviour("error", ring_after=None, cause=cause, creates_channel=False)
        return self.endpoints.get(target)

    # -- legs --------------------------------------------------------------------------

    @property
    def legs(self) -> list[LegRecord]:
        """Every B-leg ever originated (bridges and inbound ``originate``), in start order."""
        return list(self._legs)

    def record_leg(self, rec: LegRecord) -> None:
        """Add a leg to :attr:`legs`."""
        self._legs.append(rec)
        if rec.uuid:
            self.leg_record[rec.uuid] = rec

    def hangup_channel(self, chan: Channel, cause: str) -> None:
        """Mark ``chan`` hung up and fire CHANNEL_HANGUP (the first half of a hangup)."""
        if not chan.is_up:
            return
        chan.hangup_cause = cause
        chan.answer_state = "hangup"
        chan.state_number_override = 10  # running state CS_HANGUP; Channel-State lags
        self.fire(chan, "CHANNEL_HANGUP")
        if chan.remote_hangup and chan.profile.direction == "inbound":
            chan.vars.set("sip_hangup_disposition", "recv_bye")
        chan.hungup.set()

    @staticmethod
    def _hangup_disposition(chan: Channel, cause: str) -> str | None:
        answered = bool(chan.times["answered"])
        if chan.profile.direction == "inbound":
            if answered:
                return "recv_bye" if chan.remote_hangup else "send_bye"
            return "recv_cancel" if chan.remote_hangup else "send_refuse"
        if answered:
            return "recv_bye" if chan.remote_hangup else "send_bye"
        if chan.remote_hangup:
            return "recv_refuse"
        if chan.vars.get("sip_call_id") is not None:
            return "send_cancel"
        return None

    def finish_channel(self, chan: Channel) -> None:
        """CS_HANGUP, CS_REPORTING and CHANNEL_HANGUP_COMPLETE; forget the channel."""
        cause = chan.hangup_cause or "NORMAL_CLEARING"
        chan.state = "CS_HANGUP"
        chan.state_number_override = None
        self.fire(chan, "CHANNEL_STATE", with_vars=False)
        chan.mark("hangup")
        chan.state = "CS_REPORTING"
        chan.call_state = "HANGUP"
        self.fire(chan, "CHANNEL_STATE", with_vars=False)
        end = chan.times["hangup"] or self.clock.epoch_us()
        p = chan.profile
        caller_id = f'"{p.caller_id_name}" <{p.caller_id_number}>'
        last_app = chan.vars.get("current_application") or ""
        if "sip_hangup_disposition" not in chan.vars and chan.name.startswith("sofia/"):
            disposition = self._hangup_disposition(chan, cause)
            if disposition:
                chan.vars.set("sip_hangup_disposition", disposition)
        chan.vars.set("last_arg", chan.vars.get("current_application_data"))
        chan.vars.update(
            cdr_variables(
                chan.times,
                end,
                last_app,
                chan.vars.get("last_arg"),
                caller_id,
                cause,
                causes.q850(cause),
            )
        )
        if chan.times["answered"]:
            chan.vars.update(rtp_stats(chan.times["answered"], end))
        self.fire(chan, "CHANNEL_HANGUP_COMPLETE", pre=[("Hangup-Cause", cause)])
        self.channels.pop(chan.uuid, None)
        # A finished channel fires no more events: forget its peer (A <-> B is a reference
        # cycle that would keep both legs for the next full GC pass).
        chan.other = None

    # -- calls and servers -------------------------------------------------------------

    def place_call(
        self,
        controllers: str,
        destination: str,
        caller_number: str = "0000000000",
        caller_name: str = "",
        domain: str | None = None,
        from_user: str | None = None,
        variables: dict[str, str] | None = None,
        caller_hangup_after: float | None = None,
        caller_hangup_after_answer: float | None = None,
        fallback: tuple[str, str] | None = ("transfer", "fallback XML fallback"),
        **caller: object,
    ) -> Call:
        """Start an inbound call handed to the controller(s) by the ``socket`` app."""
        from switchsim.call import Call
        from switchsim.channel_data import CallerSpec

        spec = CallerSpec(
            destination=destination,
            caller_number=caller_number,
            caller_name=caller_name,
            domain=domain,
            from_user=from_user,
            variables=dict(variables or {}),
            **caller,  # type: ignore[arg-type]
        )
        call = Call(
            self,
            spec,
            controllers=controllers,
            fallback=fallback,
            caller_hangup_after=caller_hangup_after,
            caller_hangup_after_answer=caller_hangup_after_answer,
        )
        self.calls.append(call)
        call.start()
        return call

    def serve_inbound(
        self, host: str = "127.0.0.1", port: int = 0, password: str = "ClueCon"
    ) -> tuple[str, int]:
        """Start an inbound ESL server; returns the address it listens on."""
        from switchsim.inbound import InboundServer

        server = InboundServer(self, host, port, password)
        self._servers.append(server)
        return server.start()

    def close(self) -> None:
        """Stop the servers and drop every call and socket."""
        for server in self._servers:
            server.stop()
        self._servers.clear()
        for call in self.calls:
            call.kill()
