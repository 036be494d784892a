"""Simulated endpoints: how a dial target behaves when rung, and who is registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

RING_DELAY = 0.02  # a 180 Ringing takes one packet round (as in the captures)


@dataclass(frozen=True)
class Behaviour:
    """What an endpoint does when the switch rings it (times in simulated seconds).

    Build one with the class methods; ``kind`` names it. A leg goes: created, rings after
    ``ring_after`` (CHANNEL_PROGRESS on the A-leg for the first ringing leg), then answers after
    ``answer_after`` (then hangs up after ``hangup_after`` if set), or fails after ``fail_after``
    with ``cause``, or rings until a timer or the caller ends it.
    """

    kind: str
    answer_after: float | None = None
    hangup_after: float | None = None
    ring_after: float | None = RING_DELAY
    fail_after: float = 0.0
    cause: str | None = None
    creates_channel: bool = True

    @classmethod
    def answer(cls, after: float = 0.0, hangup_after: float | None = None) -> Behaviour:
        """Rings, answers after ``after`` s; hangs up ``hangup_after`` s after answering."""
        return cls("answer", answer_after=after, hangup_after=hangup_after)

    @classmethod
    def busy(cls, after: float = 0.0) -> Behaviour:
        """Replies 486 Busy Here: cause USER_BUSY (no ringing)."""
        return cls("busy", ring_after=None, fail_after=after, cause="USER_BUSY")

    @classmethod
    def no_answer(cls) -> Behaviour:
        """Rings forever (until leg_timeout, originate_timeout or the caller gives up)."""
        return cls("no_answer")

    @classmethod
    def unregistered(cls) -> Behaviour:
        """No registration: ``user/`` gives USER_NOT_REGISTERED at once, without a channel;
        ``sofia/`` (nothing listening) gives NORMAL_TEMPORARY_FAILURE after ~1 s."""
        return cls(
            "unregistered",
            ring_after=None,
            fail_after=0.0,
            cause="USER_NOT_REGISTERED",
            creates_channel=False,
        )

    @classmethod
    def unreachable(cls, after: float = 1.0) -> Behaviour:
        """Nothing listens at the address: NORMAL_TEMPORARY_FAILURE after ``after`` s."""
        return cls(
            "unreachable", ring_after=None, fail_after=after, cause="NORMAL_TEMPORARY_FAILURE"
        )

    @classmethod
    def reject(cls, after: float = 0.0) -> Behaviour:
        """Replies 603 Decline: cause CALL_REJECTED."""
        return cls("reject", ring_after=None, fail_after=after, cause="CALL_REJECTED")

    @classmethod
    def slow_ring(cls, progress_after: float = 3.0, answer_after: float | None = None) -> Behaviour:
        """Sends 180 only after ``progress_after`` s; answers after ``answer_after`` s if set."""
        return cls("slow_ring", ring_after=progress_after, answer_after=answer_after)

    def for_target(self, target: str) -> Behaviour:
        """Resolve ``unregistered`` for the endpoint type of ``target``."""
        if self.kind == "unregistered" and not target.startswith(("user/", "error/")):
            return Behaviour.unreachable()
        return self


def normalise_target(target: str) -> str:
    """Canonical form of a dial target used as a key (``user/`` part lower-cased)."""
    target = target.strip()
    if target.startswith("user/"):
        return "user/" + target[5:].lower()
    return target


class Endpoints:
    """Behaviours keyed by dial target (``user/1001@example.com``, ``sofia/gateway/gw/+49...``).

    ``default`` applies to unknown targets (``Behaviour.unregistered()`` unless changed);
    ``resolver``, when set, is asked first for unknown targets (return None to fall back).
    """

    def __init__(self) -> None:
        self._map: dict[str, Behaviour] = {}
        self.default: Behaviour = Behaviour.unregistered()
        self.resolver: Callable[[str], Behaviour | None] | None = None

    def set(self, target: str, behaviour: Behaviour) -> None:
        """Set the behaviour of one target."""
        self._map[normalise_target(target)] = behaviour

    def remove(self, target: str) -> None:
        """Forget a target (it falls back to ``default``)."""
        self._map.pop(normalise_target(target), None)

    def get(self, target: str) -> Behaviour:
        """Behaviour for a target (``default`` when unknown), resolved for its endpoint type."""
        behaviour = self._map.get(normalise_target(target))
        if behaviour is None and self.resolver is not None:
            behaviour = self.resolver(target)
        return (behaviour or self.default).for_target(target)

    def known(self, target: str) -> bool:
        """True when a behaviour was set for this exact target."""
        return normalise_target(target) in self._map
