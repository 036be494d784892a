"""Console login lockout, per (client IP, email), kept in the web process's memory.

After `max_failures` failed logins within `window` for one (IP, email) pair, that pair is locked
for `lockout`: even the right password is refused until it ends. A successful login clears the
pair. The clock is a parameter of every method, so the policy is tested without sleeping.

In memory, not in the database: the count is per web process and starts again at zero when the
process restarts. That suits the single gevent web process Huntsman runs; several web processes
behind a load balancer would each allow `max_failures` attempts. At most `max_entries` pairs are
remembered (the stalest are dropped first), so a flood of made-up emails cannot exhaust memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class _Entry:
    failures: int
    first_failure: datetime
    locked_until: datetime | None = None


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=15),
        max_entries: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], _Entry] = {}

    def locked_until(self, ip: str, email: str, now: datetime) -> datetime | None:
        """When the pair's lockout ends, or None when it may try to log in."""
        entry = self._entries.get((ip, email))
        if entry is None or entry.locked_until is None:
            return None
        if entry.locked_until <= now:
            del self._entries[(ip, email)]
            return None
        return entry.locked_until

    def record_failure(self, ip: str, email: str, now: datetime) -> datetime | None:
        """Count a failed login; returns when the lockout ends if this failure started one."""
        key = (ip, email)
        entry = self._entries.get(key)
        if entry is None or now - entry.first_failure > self.window:
            entry = _Entry(failures=0, first_failure=now)
        self._entries.pop(key, None)
        self._entries[key] = entry  # most recently failed last: the stalest are dropped first
        entry.failures += 1
        if entry.failures >= self.max_failures:
            entry.locked_until = now + self.lockout
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]
        return entry.locked_until

    def record_success(self, ip: str, email: str) -> None:
        self._entries.pop((ip, email), None)
