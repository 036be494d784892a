"""`make run`: the database, the demo tenant, the controller and the console, in the foreground.

Each part is a child process with its own prefixed log lines; Ctrl-C (or SIGTERM) stops the
children first, then the embedded database, and exits 0.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from huntsman import database, demo, migrations


@dataclass
class Part:
    name: str
    argv: list[str]
    listens: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


def _pump(part: Part) -> None:
    assert part.process is not None and part.process.stdout is not None
    for raw in part.process.stdout:
        sys.stdout.write(f"{part.name:>10} | {raw.decode(errors='replace')}")
        sys.stdout.flush()


def _parts(db_url: str) -> list[Part]:
    env = {
        "DATABASE_URL": db_url,
        "HUNTSMAN_LOG_FORMAT": os.environ.get("HUNTSMAN_LOG_FORMAT", "console"),
        "HUNTSMAN_CDR_SPOOL": os.environ.get(
            "HUNTSMAN_CDR_SPOOL", str(database.PROJECT_ROOT / ".data" / "cdr-spool")
        ),
    }
    parts: list[Part] = []
    if importlib.util.find_spec("controller.main") is not None:
        listen = os.environ.get("HUNTSMAN_ESL_LISTEN", "127.0.0.1:8084")
        metrics = os.environ.get("HUNTSMAN_METRICS_PORT", "9108")
        parts.append(
            Part(
                "controller",
                [sys.executable, "-m", "controller"],
                f"outbound ESL on {listen}, metrics on http://127.0.0.1:{metrics}/metrics",
                env,
            )
        )
    if importlib.util.find_spec("web.app") is not None:
        listen = os.environ.get("HUNTSMAN_WEB_LISTEN", "127.0.0.1:8080")
        parts.append(
            Part(
                "web",
                [sys.executable, "-m", "web"],
                f"console on http://{listen}/console/, JSON API on http://{listen}/api/v1/,"
                f" health http://{listen}/healthz",
                env,
            )
        )
    return parts


def run() -> int:
    print("huntsman: starting the database …", flush=True)
    db = database.resolve()
    where = "embedded PostgreSQL, data in .data/postgres" if db.is_embedded else "DATABASE_URL"
    try:
        applied = migrations.migrate(db.url)
        print(f"huntsman: database ready ({where}); {len(applied)} migrations applied", flush=True)
        if demo.load(db.url):
            print("huntsman: empty database: demo tenant loaded (domain demo.huntsman.test)")
        parts = _parts(db.url)
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        for part in parts:
            part.process = subprocess.Popen(
                part.argv,
                env={**os.environ, **part.env, "PYTHONUNBUFFERED": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            threading.Thread(target=_pump, args=(part,), daemon=True).start()
        print("huntsman: up. Where each part listens:")
        print(f"  {'database':>10}: {db.url}")
        for part in parts:
            print(f"  {part.name:>10}: {part.listens}")
        print("  SQL shell : make db-shell      stop: Ctrl-C", flush=True)
        while not stop.is_set():
            if any(p.process is not None and p.process.poll() is not None for p in parts):
                dead = [p.name for p in parts if p.process and p.process.poll() is not None]
                print(f"huntsman: {', '.join(dead)} exited; stopping", flush=True)
                break
            stop.wait(0.5)
        return _stop_parts(parts)
    finally:
        print("huntsman: stopping the database …", flush=True)
        database.stop(db)
        print("huntsman: stopped", flush=True)


def _stop_parts(parts: list[Part]) -> int:
    for part in parts:
        if part.process and part.process.poll() is None:
            part.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    rc = 0
    for part in parts:
        if part.process is None:
            continue
        try:
            part.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            part.process.kill()
            part.process.wait()
        if part.process.returncode not in (0, -signal.SIGTERM):
            rc = 1
    return rc
