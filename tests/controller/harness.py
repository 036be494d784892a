"""Helpers for controller end-to-end tests: an in-process controller and plan builders."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from controller.main import Controller
from controller.plan import TransferStep
from controller.settings import Settings


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    import gevent

    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        gevent.sleep(0.01)


class StubPlanner:
    """Plans every call with ``make(call)``; records the calls it was asked about."""

    def __init__(self, make: Callable[[dict[str, Any]], Any]) -> None:
        self.make = make
        self.calls: list[dict[str, Any]] = []

    def start_call(self, call: dict[str, Any], now: datetime, timeout: float) -> Any:
        self.calls.append(call)
        return self.make(call)


def make_settings(spool: Path, database_url: str = "", **over: Any) -> Settings:
    values: dict[str, Any] = {
        "esl_host": "127.0.0.1",
        "esl_port": 0,
        "database_url": database_url,
        "cdr_spool": str(spool),
        "plan_timeout": 1.0,
        "shutdown_grace": 2.0,
        "metrics_port": 0,
        "fallback": TransferStep("fallback", "XML", "fallback"),
        "max_call_seconds": 30.0,
    }
    values.update(over)
    return Settings(**values)


def start_controller(settings: Settings, planner: Any = None) -> Controller:
    ctl = Controller(settings, planner=planner)
    ctl.start()
    return ctl


def leg(target: str, timeout: int = 20, delay: int = 0, **kw: Any) -> dict[str, Any]:
    return {"target": target, "timeout": timeout, "delay": delay, **kw}


def bridge(strategy: str, legs: list[dict[str, Any]], timeout: int = 30) -> dict[str, Any]:
    return {"type": "bridge", "strategy": strategy, "timeout": timeout, "legs": legs}


def plan(*steps: dict[str, Any], caller_id: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "plan_version": 1,
        "route": {"kind": "group", "group_id": 12},
        "caller_id": caller_id or {"name": "Alice", "number": "+4917012345"},
        "billing": {"direction": "inbound"},
        "steps": list(steps),
        "fallback": {"type": "transfer", "destination": "fallback", "context": "fallback"},
    }
