"""Load generation against a running controller: bounded, stops by itself."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import gevent
import gevent.pool

from switchsim.endpoints import Behaviour
from switchsim.records import CallResult
from switchsim.switch import Switch


@dataclass
class LoadReport:
    """What a load run measured (latencies in real milliseconds)."""

    placed: int = 0
    completed: int = 0
    failures: int = 0
    bridged: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of the connect -> first bridge latency."""
        if not self.latencies_ms:
            return None
        data = sorted(self.latencies_ms)
        rank = max(0, min(len(data) - 1, int(round(p / 100 * len(data) + 0.5)) - 1))
        return data[rank]

    def lines(self) -> list[str]:
        """Human-readable summary."""
        rate = self.completed / self.elapsed if self.elapsed else 0.0
        p50, p99 = self.percentile(50), self.percentile(99)

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.1f} ms"

        return [
            f"calls placed: {self.placed}, completed: {self.completed}, failures: {self.failures}",
            f"setups/s: {rate:.2f} over {self.elapsed:.1f} s; calls that reached a bridge: {self.bridged}",
            f"connect -> first bridge: p50 {fmt(p50)}, p99 {fmt(p99)}",
        ]


def first_bridge_latency(result: CallResult, time_scale: float) -> float | None:
    """Real milliseconds from the socket connect to the first ``bridge`` command."""
    if result.connected_at is None:
        return None
    for cmd in result.commands:
        if cmd.name == "sendmsg" and (cmd.header("execute-app-name") or "") == "bridge":
            if cmd.at is None:
                return None
            return (cmd.at - result.connected_at) * time_scale * 1000
    return None


def run_load(
    controllers: str,
    cps: float,
    duration: float,
    answer_ratio: float = 0.8,
    answer_after: float = 2.0,
    talk: float = 5.0,
    time_scale: float = 1.0,
    call_timeout: float = 120.0,
    domain: str | None = None,
    seed: int | None = None,
) -> LoadReport:
    """Place ``cps`` calls per second for ``duration`` seconds (real time) and measure.

    Every endpoint the controller rings answers after ``answer_after`` s and talks ``talk`` s
    with probability ``answer_ratio``, else rings without answer. The caller hangs up after
    ``call_timeout`` simulated seconds at the latest, so every call ends.
    """
    if cps <= 0 or duration <= 0:
        raise ValueError("cps and duration must be > 0")
    rng = random.Random(seed)
    sw = Switch(time_scale=time_scale)
    answer = Behaviour.answer(after=answer_after, hangup_after=talk)
    ring = Behaviour.no_answer()
    sw.endpoints.resolver = lambda target: answer if rng.random() < answer_ratio else ring
    report = LoadReport()
    total = max(1, int(cps * duration))
    pool = gevent.pool.Pool(size=None)
    start = time.monotonic()

    def one(n: int) -> None:
        call = sw.place_call(
            controllers=controllers,
            destination=f"{2000 + n % 1000}",
            caller_number=f"+4917{n:07d}",
            domain=domain,
            caller_hangup_after=call_timeout,
        )
        try:
            result = call.wait(timeout=call_timeout * time_scale + 30)
        except TimeoutError:
            report.failures += 1
            return
        report.completed += 1
        if result.controller is None or not result.commands:
            report.failures += 1
            return
        latency = first_bridge_latency(result, time_scale)
        if latency is not None:
            report.bridged += 1
            report.latencies_ms.append(latency)

    try:
        for n in range(total):
            due = start + n / cps
            delay = due - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            report.placed += 1
            pool.spawn(one, n)
        pool.join(timeout=call_timeout * time_scale + 60)
    finally:
        report.elapsed = time.monotonic() - start
        pool.kill(block=False)
        sw.close()
    return report
