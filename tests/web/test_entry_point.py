"""`python -m web`: gevent server on HUNTSMAN_WEB_LISTEN, DATABASE_URL from the environment, an
ephemeral secret key with a warning when HUNTSMAN_SECRET_KEY is absent, clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.web.conftest import World, bearer

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_web_process_serves_the_api_and_stops_on_sigterm(world: World) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "HUNTSMAN_SECRET_KEY"}
    env.update(
        DATABASE_URL=world.url, HUNTSMAN_WEB_LISTEN=f"127.0.0.1:{port}", PYTHONPATH=str(ROOT)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    assert json.load(response) == {"status": "ok"}
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, "web process exited early"
                assert time.monotonic() < deadline, "web process did not answer in 20 s"
                time.sleep(0.05)
        request = urllib.request.Request(
            f"{base}/api/v1/accounts/{world.phone.business_account_id}/report"
            "?from=2026-06-01&to=2026-06-30",
            headers=bearer(world.business_token),
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["totals"]["count"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, output.decode()
    assert b"HUNTSMAN_SECRET_KEY is not set" in output
