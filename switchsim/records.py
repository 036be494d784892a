"""What the emulator records for tests: legs, bridges, calls."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchsim.frames import Command


@dataclass
class LegRecord:
    """One B-leg the switch originated (times in simulated seconds since the switch started)."""

    target: str
    variables: dict[str, str]
    a_leg: str | None
    uuid: str | None = None
    started_at: float | None = None
    rang_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    cause: str | None = None

    @property
    def answered(self) -> bool:
        """True when the endpoint answered."""
        return self.answered_at is not None

    @property
    def outcome(self) -> str | None:
        """Alias of :attr:`cause` (the leg's hangup cause, ``None`` while ringing)."""
        return self.cause

    def overlaps(self, other: LegRecord) -> bool:
        """True when both legs were alive at the same time."""
        a0 = self.started_at if self.started_at is not None else float("inf")
        b0 = other.started_at if other.started_at is not None else float("inf")
        a1 = self.ended_at if self.ended_at is not None else float("inf")
        b1 = other.ended_at if other.ended_at is not None else float("inf")
        return a0 < b1 and b0 < a1


@dataclass
class BridgeRecord:
    """One ``bridge`` (or ``originate``): its dial string, legs and result."""

    dial_string: str
    legs: list[LegRecord] = field(default_factory=list)
    started_at: float = 0.0
    ended_at: float | None = None
    cause: str | None = None
    answered_by: str | None = None
    application_uuid: str | None = None

    @property
    def result(self) -> str | None:
        """``SUCCESS`` when a leg answered, else the originate failure cause."""
        return self.cause


@dataclass
class CallResult:
    """The record of one simulated inbound call (what :meth:`Call.wait` returns)."""

    uuid: str
    controller: str | None = None
    commands: list[Command] = field(default_factory=list)
    bridges: list[BridgeRecord] = field(default_factory=list)
    apps: list[tuple[str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    hangup_cause: str | None = None
    fallback_ran: bool = False
    transferred_to: str | None = None
    answered_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def answered_by(self) -> str | None:
        """Target of the leg that answered the last successful bridge, or None."""
        for bridge in reversed(self.bridges):
            if bridge.answered_by:
                return bridge.answered_by
        return None

    def command_names(self) -> list[str]:
        """Command summary: ``sendmsg`` shown as ``execute <app>`` / ``hangup``."""
        out = []
        for cmd in self.commands:
            if cmd.name == "sendmsg":
                kind = (cmd.header("call-command") or "").lower()
                app = cmd.header("execute-app-name")
                out.append(f"{kind} {app}" if kind == "execute" and app else kind)
            else:
                out.append(cmd.name)
        return out
