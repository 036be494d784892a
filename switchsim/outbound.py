"""The outbound ESL session: what the controller sends on the socket the switch opened.

Commands: ``connect``, ``myevents [plain|json]``, ``linger [secs]``, ``nolinger``, ``event``,
``noevents``, ``sendmsg [uuid]``, ``api``, ``bgapi``, ``resume``, ``exit``. Every reply goes
out in order on one writer; ``myevents`` delivers only the A-leg's own events.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING, Final

import gevent.event

from switchsim import frames, legs
from switchsim.api import ApiExecutor
from switchsim.connection import Connection
from switchsim.events import Event, channel_data

if TYPE_CHECKING:
    from switchsim.call import Call


# The events ``myevents`` subscribes to (mod_event_socket.c, parse_command "myevents");
# ``nixevent`` removes some of them again.
MYEVENTS: Final = frozenset(
    {
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    }
)


class OutboundSession:
    """Serves one controller connection for a :class:`~switchsim.call.Call`."""

    def __init__(self, call: Call, conn: Connection) -> None:
        self.call = call
        self.conn = conn
        self.myevents: str | None = None
        self.my_types: set[str] = set()  # myevents' event names, less those nixed
        self.event_format = "plain"
        self.subscribed: set[str] = set()
        self.wide = False
        self.linger: int | None = None
        self.resume = False
        self.notice_sent = False
        self.closed = gevent.event.Event()
        self._api: ApiExecutor | None = None

    @property
    def api(self) -> ApiExecutor:
        """The ``api``/``bgapi`` executor, made on first use (it holds a bound method of this
        session: a reference cycle that most sessions never need)."""
        if self._api is None:
            self._api = ApiExecutor(self.call.switch, self._send_event)
        return self._api

    # -- output ----------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue bytes for the controller."""
        self.conn.send(data)

    def reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        """A ``command/reply``."""
        self.send(frames.command_reply(text, extra or []))

    def linger_notice(self) -> None:
        """The ``Content-Disposition: linger`` notice, once."""
        if not self.notice_sent:
            self.notice_sent = True
            self.send(frames.linger_notice(self.call.uuid, self.call.chan.name, self.linger or -1))

    def disconnect(self) -> None:
        """The goodbye notice, then close the socket."""
        self.send(frames.disconnect_notice(self.call.uuid))
        self.conn.close()

    def _send_event(self, event: Event) -> None:
        self.send(frames.event_frame(event.headers, event.body, self.event_format, event.plain))

    def on_event(self, event: Event) -> None:
        """Switch-wide event hook: forward what this session asked for."""
        if self.conn.closed or event.name == "BACKGROUND_JOB":
            return  # BACKGROUND_JOB goes only to the session that ran the bgapi
        mine = (
            self.myevents is not None
            and event.unique_id == self.call.uuid
            and event.name in self.my_types
        )
        wanted = "ALL" in self.subscribed or event.name in self.subscribed
        if event.name == "CUSTOM" and event.subclass:
            wanted = wanted or event.subclass in self.subscribed
        if mine or wanted:
            fmt = self.myevents if mine and self.myevents else self.event_format
            self.send(frames.event_frame(event.headers, event.body, fmt, event.plain))
            if mine:
                self.call.result.events.append(event.name)

    def accepts(self, name: str) -> bool:
        """Would ``on_event`` forward an event of this name for this session's channel?"""
        return (
            name in self.my_types
            or "ALL" in self.subscribed
            or name in self.subscribed
            or name == "CUSTOM"
        )

    # -- input -----------------------------------------------------------------------

    def read_loop(self) -> None:
        """Read and serve commands until the controller closes (or ``exit``)."""
        try:
            for cmd in self.conn.commands():
                cmd.at = self.call.switch.clock.now()
                self.call.result.commands.append(cmd)
                if not self.call.chan.is_up and self.linger is not None:
                    # The listener notices the hangup before it serves the next command.
                    self.linger_notice()
                if not self.dispatch(cmd):
                    break
        finally:
            self.closed.set()
            self.call.wake_up()

    def dispatch(self, cmd: frames.Command) -> bool:
        """Serve one command; False when the session ends."""
        name = cmd.name.lower()
        if name == "connect":
            self.send(frames.connect_reply(channel_data(self.call.chan)))
        elif name == "myevents":
            fmt = cmd.args.split()[-1].lower() if cmd.args else "plain"
            self.myevents = fmt if fmt in ("plain", "json") else "plain"
            self.my_types = set(MYEVENTS)
            self.reply("+OK Events Enabled")
        elif name == "linger":
            arg = cmd.args.strip()
            self.linger = int(arg) if arg.isdigit() else -1
            self.reply(f"+OK will linger {arg} seconds" if arg.isdigit() else "+OK will linger")
        elif name == "nolinger":
            self.linger = None
            self.reply("+OK will not linger")
        elif name == "event":
            parts = cmd.args.split()
            if parts and parts[0].lower() in ("plain", "json", "xml"):
                self.event_format = "json" if parts[0].lower() == "json" else "plain"
                parts = parts[1:]
            self.subscribed.update(p for p in parts if p.upper() != "CUSTOM")
            if self.subscribed and not self.wide:
                self.wide = True  # events of other channels too, not only myevents'
                self.call.switch.subscribe(self.on_event)
            self.reply(f"+OK event listener enabled {self.event_format}")
        elif name == "nixevent":
            self._nixevent(cmd.args.split())
        elif name == "noevents":
            self.subscribed.clear()
            self.my_types.clear()
            self.myevents = None
            self.reply("+OK no longer listening for events")
        elif name == "sendmsg":
            self.reply("+OK")  # async sendmsg: +OK at once, the outcome comes as events
            self._sendmsg(cmd)
        elif name == "api":
            self.send(frames.api_response(self.api.api(cmd.args)))
        elif name == "bgapi":
            job = self.api.bgapi(
                cmd.args, cmd.header("Job-UUID"), lambda: "BACKGROUND_JOB" in self.subscribed
            )
            self.reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])
        elif name == "resume":
            self.resume = True
            self.reply("+OK")
        elif name == "exit":
            self.reply("+OK bye")
            self.disconnect()
            return False
        elif name in ("filter", "divert_events", "log", "nolog"):
            self.reply("+OK")
        else:
            self.reply("-ERR command not found")
        return True

    def _nixevent(self, names: list[str]) -> None:
        """Unsubscribe event names (after ``CUSTOM``: subclasses), as mod_event_socket does."""
        if not names:
            self.reply("-ERR no keywords supplied")
            return
        custom = False
        for word in names:
            if custom:
                self.subscribed.discard(word)
            elif word.upper() == "CUSTOM":
                custom = True
            elif word.upper() == "ALL":
                self.my_types.clear()
                self.subscribed.clear()
            else:
                if "ALL" in self.subscribed:  # ALL expands to every name, less this one
                    self.subscribed.discard("ALL")
                    self.subscribed.update(MYEVENTS)
                self.my_types.discard(word)
                self.subscribed.discard(word)
        self.reply("+OK events nixed")

    def _sendmsg(self, cmd: frames.Command) -> None:
        kind = (cmd.header("call-command") or "").lower()
        switch = self.call.switch
        target = cmd.args.strip()
        if target and target != self.call.uuid:
            other = switch.channels.get(target)
            if kind == "hangup" and other is not None:
                legs.hangup(switch, other, cmd.header("hangup-cause") or "NORMAL_CLEARING")
            return
        if kind == "execute":
            app = cmd.header("execute-app-name") or ""
            arg = cmd.header("execute-app-arg") or ""
            ctype = (cmd.header("content-type") or "").lower()
            if cmd.body is not None and ctype.startswith("text/plain"):
                arg = cmd.body
            loops = cmd.header("loops") or "1"
            app_uuid = cmd.header("Event-UUID") or str(uuidlib.uuid4())
            self.call.queue_app(app, arg, app_uuid, int(loops) if loops.isdigit() else 1)
        elif kind == "hangup":
            self.call.local_hangup((cmd.header("hangup-cause") or "NORMAL_CLEARING").upper())
