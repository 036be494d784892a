"""One simulated inbound call: the A-leg inside the ``socket`` app and its ESL session.

The switch dials the controller (``host:port|host2:port2``, tried in order), answers
``connect`` with the channel data, executes what ``sendmsg`` queues, and follows the socket
app's end-of-call rules: ``linger``, disconnect notices, ``socket_resume``/``resume``
(the dialplan's next action, the fallback, runs when the controller drops a live call).
"""

from __future__ import annotations

import functools
import ipaddress
import uuid as uuidlib
from collections import deque
from collections.abc import Callable

import gevent
import gevent.event
from gevent import socket

from switchsim import apps
from switchsim.channel import Channel, Profile
from switchsim.channel_data import CallerSpec, a_leg_variables
from switchsim.connection import Connection
from switchsim.outbound import OutboundSession
from switchsim.records import CallResult
from switchsim.switch import Switch

PARK_DELAY = 0.02
FRAME = 0.02
"""The park loop reads one 20 ms media frame, then runs every queued application: an
application queued while the channel sat parked starts at the next frame (as in the captures,
~20 ms after its sendmsg); applications queued back to back run one after the other."""
CONNECT_TIMEOUT = 2.0


@functools.lru_cache(maxsize=64)
def _literal_family(host: str) -> int | None:
    """The address family of an IP literal, None for a name (parsed once per host: every call
    of a load run dials the same controllers)."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None


def _connect_tcp(host: str, port: int) -> socket.socket:
    """A TCP connection with TCP_NODELAY, as mod_event_socket's socket app sets it (without it,
    Nagle and delayed ACKs add ~40 ms to a command round trip); an IP literal skips the
    resolver (gevent's runs in a thread)."""
    family = _literal_family(host)
    if family is None:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    else:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect((host, port))
        except OSError:
            sock.close()
            raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Call:
    """Handle of a call started by :meth:`Switch.place_call`."""

    def __init__(
        self,
        switch: Switch,
        spec: CallerSpec,
        controllers: str,
        fallback: tuple[str, str] | None,
        caller_hangup_after: float | None = None,
        caller_hangup_after_answer: float | None = None,
    ) -> None:
        self.switch = switch
        self.spec = spec
        self.controllers = controllers
        self.fallback = fallback
        self.caller_hangup_after = caller_hangup_after
        self.caller_hangup_after_answer = caller_hangup_after_answer
        spec.socket_data = spec.socket_data or f"{controllers} async full"
        self.chan = self._make_channel()
        self.result = CallResult(uuid=self.chan.uuid)
        self.done = gevent.event.Event()
        self.session: OutboundSession | None = None
        self.queue: deque[tuple[str, str, str, int]] = deque()
        self.wake = gevent.event.Event()
        self.park_trigger = gevent.event.Event()
        self._greenlets: list[gevent.Greenlet] = []

    # -- public ----------------------------------------------------------------------

    @property
    def uuid(self) -> str:
        """The A-leg's Unique-ID."""
        return self.chan.uuid

    def start(self) -> None:
        """Run the call in its own greenlet."""
        self._greenlets.append(gevent.spawn(self._run))

    def wait(self, timeout: float | None = None) -> CallResult:
        """Block until the A-leg is over and the socket closed; return the record.

        ``timeout`` is in real seconds; raises ``TimeoutError`` when it expires.
        """
        if not self.done.wait(timeout):
            raise TimeoutError(f"call {self.uuid} still running after {timeout} s")
        return self.result

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """The caller hangs up now (a BYE from the A-leg side)."""
        if self.chan.is_up:
            if self.chan.vars.get("bridge_to"):
                self.chan.vars.set("last_bridge_role", "originator")
            self.chan.remote_hangup = True
            if self.chan.is_answered and self.chan.vars.get("sip_to_tag") is None:
                self.chan.vars.set("sip_to_tag", uuidlib.uuid4().hex[:13])
            self.chan.vars.update(
                {
                    "sip_cseq": "1",
                    "sip_term_status": "200",
                    "proto_specific_hangup_cause": "sip:200",
                    "sip_term_cause": "16",
                }
            )
            self.switch.hangup_channel(self.chan, cause)
            self.wake.set()

    def local_hangup(self, cause: str) -> None:
        """The switch hangs up the A-leg (``sendmsg`` hangup, ``uuid_kill``)."""
        if self.chan.is_up:
            self.chan.remote_hangup = False
            self.switch.hangup_channel(self.chan, cause)
            self.wake.set()

    def queue_app(self, app: str, arg: str, app_uuid: str, loops: int = 1) -> None:
        """Queue an application (``sendmsg`` execute); it also starts the park loop."""
        self.queue.append((app, arg, app_uuid, loops))
        self.park_trigger.set()
        self.wake.set()

    def later(self, seconds: float, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn`` after simulated ``seconds``; cancelled with the call."""
        self._greenlets.append(self.switch.clock.spawn_later(seconds, fn, *args))

    def wake_up(self) -> None:
        """Wake the application loop (the socket closed)."""
        self.wake.set()
        self.park_trigger.set()

    @property
    def socket_closed(self) -> bool:
        """True once the controller's socket is gone (or there never was one)."""
        return self.session is None or self.session.closed.is_set()

    def kill(self) -> None:
        """Drop everything at once (used by :meth:`Switch.close`)."""
        if self.session is not None:
            self.session.conn.abort()
        for g in self._greenlets:
            g.kill(block=False)
        self.done.set()

    # -- setup -----------------------------------------------------------------------

    def _make_channel(self) -> Channel:
        spec = self.spec
        profile = Profile(
            username=spec.user,
            caller_id_name=spec.display,
            caller_id_number=spec.caller_number,
            orig_caller_id_name=spec.display,
            orig_caller_id_number=spec.caller_number,
            network_addr=spec.network_addr,
            ani=spec.caller_number,
            destination_number=spec.destination,
            context=spec.context,
        )
        chan = Channel(switch=self.switch, name=spec.channel_name, profile=profile)
        chan.vars.update(
            a_leg_variables(spec, chan.uuid, self.switch.next_session_id(), chan.times["created"])
        )
        self.switch.channels[chan.uuid] = chan
        return chan

    def _connect(self) -> socket.socket | None:
        for addr in self.controllers.split("|"):
            host, _, port = addr.strip().rpartition(":")
            try:
                sock = _connect_tcp(host, int(port))
            except (OSError, ValueError):
                continue
            sock.settimeout(None)
            self.result.controller = addr.strip()
            self.chan.vars.set("socket_host", host)
            return sock
        return None

    # -- main flow -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._flow()
        finally:
            self.result.ended_at = self.switch.clock.now()
            self.result.hangup_cause = self.chan.hangup_cause
            self.result.variables = self.chan.vars.as_dict()
            if self.session is not None:
                self.switch.unsubscribe(self.session.on_event)
                self.switch.unsubscribe_channel(self.chan.uuid, self.session.on_event)
                # The socket app is over: flush and close our end (the controller may have
                # closed first; without this the writer greenlet and the socket lived on).
                self.session.conn.close()
                # The session (still read by its reader greenlet) points back at the call:
                # dropping this side frees the call by reference counting, not by a full
                # GC pass that would stall the whole emulator.
                self.session = None
            self.done.set()

    def _flow(self) -> None:
        clock = self.switch.clock
        if self.caller_hangup_after is not None:
            self._greenlets.append(clock.spawn_later(self.caller_hangup_after, self.hangup))
        sock = self._connect()
        if sock is None:
            # "Socket Error!": the dialplan goes on with its next action.
            self._leave_socket_app(resume=True)
            return
        self.result.connected_at = clock.now()
        session = self.session = OutboundSession(self, Connection(sock))
        self.switch.subscribe_channel(self.chan.uuid, session.on_event, session.accepts)
        self._greenlets.append(gevent.spawn(session.read_loop))
        # The socket app parks the channel once the session is set up: at the first queued
        # application, or after PARK_DELAY (never sooner than that in real time either, so
        # a controller can subscribe with myevents first, as with a real switch).
        self.park_trigger.wait(max(clock.real(PARK_DELAY), PARK_DELAY))
        if self.chan.is_up:
            self.switch.fire(self.chan, "CHANNEL_PARK")
        self._app_loop()
        if self.chan.is_up:
            # The controller closed the socket while the channel is up.
            resume = session.resume or (self.chan.vars.get("socket_resume") or "").lower() == "true"
            self._leave_socket_app(resume=resume)
            return
        self._after_hangup()

    def _app_loop(self) -> None:
        parked = True  # the next application waits for a frame of the park loop
        while True:
            if not self.chan.is_up:
                return
            if self.queue:
                if parked:
                    self.switch.clock.sleep(FRAME)
                    parked = False
                    continue
                app, arg, app_uuid, loops = self.queue.popleft()
                for _ in range(max(1, loops)):
                    if not self.chan.is_up:
                        break
                    apps.execute(self, app, arg, app_uuid)
                continue
            if self.socket_closed:
                return
            parked = True
            self.wake.clear()
            if self.queue or not self.chan.is_up or self.socket_closed:
                continue
            self.wake.wait()

    def _socket_app_complete(self) -> None:
        self.chan.vars.delete("current_loop")
        self.chan.vars.delete("total_loops")
        self.switch.fire(self.chan, "CHANNEL_UNPARK")
        self.switch.fire(
            self.chan,
            "CHANNEL_EXECUTE_COMPLETE",
            post=[
                ("Application", "socket"),
                ("Application-Data", self.spec.socket_data),
                ("Application-Response", "_none_"),
                ("Application-UUID", str(uuidlib.uuid4())),
            ],
        )

    def _after_hangup(self) -> None:
        """The channel is gone: finish it, then the session's linger rules."""
        self._socket_app_complete()
        self.switch.finish_channel(self.chan)
        session = self.session
        if session is None or session.conn.closed:
            return
        if session.linger is None:
            session.disconnect()
            return
        session.linger_notice()
        if session.linger >= 0:
            if not session.closed.wait(self.switch.clock.real(session.linger)):
                session.disconnect()
                return
        session.closed.wait()

    def _leave_socket_app(self, resume: bool) -> None:
        """The socket app returns with the channel up: resume the dialplan or hang up."""
        if self.session is not None:
            self._socket_app_complete()
        if resume and self.fallback is not None:
            self.result.fallback_ran = True
            app, arg = self.fallback
            self.result.apps.append((app, arg))
            self.chan.vars.set("last_app", app)
        cause = "NORMAL_CLEARING"
        self.switch.hangup_channel(self.chan, cause)
        self.switch.finish_channel(self.chan)
        if self.session is not None:
            self.session.conn.close()
