"""The simulated clock: every timer of the emulator goes through it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent


class Clock:
    """Simulated time with a scale factor.

    ``Clock(time_scale=0.01)`` makes one simulated second last 10 ms of real time. ``now()``
    is simulated seconds since the clock was made; ``epoch_us()`` is the simulated wall clock
    in microseconds (what FreeSWITCH puts in ``Event-Date-Timestamp`` and ``*_uepoch``).
    """

    def __init__(self, time_scale: float = 1.0, start_epoch: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
        self.time_scale = time_scale
        self._real_start = time.monotonic()
        self._epoch_start = time.time() if start_epoch is None else start_epoch

    def now(self) -> float:
        """Simulated seconds since the clock started."""
        return (time.monotonic() - self._real_start) / self.time_scale

    def epoch(self) -> float:
        """Simulated wall-clock time (seconds since the Unix epoch)."""
        return self._epoch_start + self.now()

    def epoch_us(self) -> int:
        """Simulated wall-clock time in microseconds."""
        return int(self.epoch() * 1_000_000)

    def real(self, seconds: float) -> float:
        """Real seconds that ``seconds`` of simulated time take."""
        return max(0.0, seconds) * self.time_scale

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of simulated time (cooperatively)."""
        gevent.sleep(self.real(seconds))

    def spawn_later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        """Run ``fn(*args)`` in a new greenlet after ``seconds`` of simulated time."""
        return gevent.spawn_later(self.real(seconds), fn, *args)
