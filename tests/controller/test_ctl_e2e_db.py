"""Controller + emulator + a real, committed PostgreSQL: plans from SQL, CDR rows, outages.

The database is reached through a TCP proxy so a test can take it away (every connection
cut, new ones refused) and give it back, like a PostgreSQL restart.
"""

from __future__ import annotations

import os
import signal
import socket as std_socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo as pg_conninfo
from psycopg.rows import dict_row

from switchsim import Behaviour, Switch
from tests.controller.harness import make_settings, start_controller, wait_for
from tests.controller.tcp_proxy import TcpProxy, postgres_proxy
from tests.sql import factories as f

A = "user/1001@example.com"
B = "user/1002@example.com"
C = "user/1003@example.com"
SALES = "+4930123456"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_url(make_database: Callable[..., str]) -> str:
    """A committed database with one domain, three phones and a simultaneous Sales group."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        domain = f.make_domain(conn, "example.com")
        devices = [f.make_device(conn, domain, ext) for ext in ("1001", "1002", "1003")]
        sales = f.make_group(conn, domain, "Sales", strategy="simultaneous", ring_timeout=20)
        for device in devices[:2]:
            f.add_member(conn, sales, device_id=device)
        support = f.make_group(conn, domain, "Support", strategy="sequential")
        f.add_member(conn, support, device_id=devices[2])
        f.set_overflow(conn, sales, "group", support)
        f.make_number(conn, domain, SALES, group_id=sales)
    return url


@pytest.fixture
def pg_proxy(db_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """(proxy, controller URL through the proxy)."""
    proxy, url = postgres_proxy(db_url)
    yield proxy, url
    proxy.close()


@pytest.fixture
def switch() -> Iterator[Switch]:
    # 1 simulated second = 30 ms: timer assertions stay well above scheduling jitter
    sw = Switch(time_scale=0.03, hostname="sim1")
    yield sw
    sw.close()


def rows(url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def place(sw: Switch, controller: str, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "destination": SALES,
        "caller_number": "+4917012345",
        "caller_name": "Alice",
        "domain": "example.com",
        "variables": {"socket_resume": "true"},
    }
    args.update(kw)
    return sw.place_call(controllers=controller, **args)


def test_sql_plan_rings_group_then_overflow_and_cdr_rows_are_written(
    db_url: str, pg_proxy: tuple[TcpProxy, str], switch: Switch, tmp_path: Path
) -> None:
    _proxy, url = pg_proxy
    switch.endpoints.set(A, Behaviour.busy())
    switch.endpoints.set(B, Behaviour.no_answer())
    switch.endpoints.set(C, Behaviour.answer(after=1, hangup_after=4))
    ctl = start_controller(make_settings(tmp_path / "spool", url))
    try:
        host, port = ctl.address
        result = place(switch, f"{host}:{port}").wait(timeout=15)
        assert result.answered_by == C
        first, second = result.bridges
        assert sorted(lg.target for lg in first.legs) == [A, B]
        assert [lg.target for lg in second.legs] == [C]
        (cdr,) = wait_for(
            lambda: rows(db_url, "SELECT * FROM cdr.call WHERE call_uuid = %s", result.uuid),
            what="the cdr.call row",
        )
        assert cdr["disposition"] == "answered"
        assert cdr["answered_by_target"] == C
        assert cdr["destination"] == SALES and cdr["caller_name"] == "Alice"
        assert abs(cdr["billsec"] - 4) <= 1
        assert cdr["plan"]["plan_version"] == 1
        legs = rows(
            db_url,
            "SELECT step, target, outcome::text AS outcome FROM cdr.call_leg"
            " WHERE call_id = %s ORDER BY seq",
            cdr["id"],
        )
        assert sorted((lg["step"], lg["target"], lg["outcome"]) for lg in legs) == [
            (0, A, "busy"),
            (0, B, "no_answer"),
            (1, C, "answered"),
        ]
    finally:
        ctl.stop(grace=1)


def test_database_down_fallback_spool_and_replay_across_restart(
    db_url: str, pg_proxy: tuple[TcpProxy, str], switch: Switch, tmp_path: Path
) -> None:
    proxy, url = pg_proxy
    switch.endpoints.set(A, Behaviour.answer(after=1, hangup_after=1))
    spool = tmp_path / "spool"
    settings = make_settings(spool, url, plan_timeout=0.3)
    ctl = start_controller(settings)
    host, port = ctl.address
    ok = place(switch, f"{host}:{port}").wait(timeout=15)  # a normal call first
    assert ok.answered_by in (A, B)
    wait_for(lambda: rows(db_url, "SELECT 1 FROM cdr.call"), what="the first row")

    proxy.cut()
    t0 = time.monotonic()
    down = [place(switch, f"{host}:{port}", caller_number=f"+49170000{i}") for i in range(3)]
    results = [c.wait(timeout=15) for c in down]
    assert time.monotonic() - t0 < 2.0  # the fallback decision comes within the plan budget
    for res in results:
        assert ("transfer", "fallback XML fallback") in res.apps
        assert res.bridges == []
    wait_for(lambda: ctl.spool and ctl.spool.depth == 3, what="3 spooled CDRs")
    ctl.stop(grace=1)  # the controller restarts while the database is still down
    assert rows(db_url, "SELECT count(*) AS n FROM cdr.call")[0]["n"] == 1

    ctl2 = start_controller(settings)  # starts while the database is still away
    try:
        assert ctl2.spool is not None and ctl2.spool.depth == 3
        proxy.restore()
        wait_for(
            lambda: rows(db_url, "SELECT count(*) AS n FROM cdr.call")[0]["n"] == 4,
            timeout=20,
            what="the spooled CDRs in the database",
        )
        uuids = {r["call_uuid"] for r in rows(db_url, "SELECT call_uuid::text FROM cdr.call")}
        assert uuids == {ok.uuid} | {r.uuid for r in results}
        for r in rows(db_url, "SELECT disposition::text AS d, plan FROM cdr.call"):
            assert r["d"] in ("answered", "failed")
        wait_for(lambda: ctl2.spool and ctl2.spool.depth == 0, what="an empty spool")
        again = place(switch, f"{ctl2.address[0]}:{ctl2.address[1]}").wait(timeout=15)
        assert again.bridges, "routing works again after the database returned"
    finally:
        ctl2.stop(grace=1)
    assert rows(db_url, "SELECT count(*) AS n FROM cdr.call")[0]["n"] == 5


def free_port() -> int:
    with std_socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_controller_killed_mid_call_dialplan_resumes_to_fallback(
    db_url: str, switch: Switch, tmp_path: Path
) -> None:
    switch.endpoints.set(A, Behaviour.no_answer())
    switch.endpoints.set(B, Behaviour.no_answer())
    proc, port = _spawn_controller(db_url, tmp_path, output=subprocess.DEVNULL)
    try:
        wait_for(lambda: _listening(port), timeout=20, what="the controller process to listen")
        call = place(switch, f"127.0.0.1:{port}")
        wait_for(lambda: len(switch.legs) >= 2, what="the legs to ring")
        proc.send_signal(signal.SIGKILL)
        result = call.wait(timeout=15)
        assert result.fallback_ran
        assert result.command_names()[-1] == "execute bridge"
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_graceful_shutdown_lets_a_ringing_call_finish(
    db_url: str, switch: Switch, tmp_path: Path
) -> None:
    switch.endpoints.set(A, Behaviour.answer(after=8, hangup_after=5))
    switch.endpoints.set(B, Behaviour.no_answer())
    ctl = start_controller(make_settings(tmp_path / "spool", db_url))
    host, port = ctl.address
    call = place(switch, f"{host}:{port}")
    wait_for(lambda: len(switch.legs) >= 2, what="the legs to ring")
    ctl.stop(grace=10)
    result = call.wait(timeout=5)
    assert result.answered_by == A
    assert result.command_names()[-1] == "hangup"
    assert not result.fallback_ran
    (cdr,) = rows(db_url, "SELECT disposition::text AS d FROM cdr.call")
    assert cdr["d"] == "answered"


def test_hung_database_gives_the_fallback_within_the_deadline(
    db_url: str, pg_proxy: tuple[TcpProxy, str], switch: Switch, tmp_path: Path
) -> None:
    """The database stops answering without closing anything (no RST, no error)."""
    proxy, url = pg_proxy
    switch.endpoints.set(A, Behaviour.answer(after=1, hangup_after=1))
    ctl = start_controller(make_settings(tmp_path / "spool", url, plan_timeout=0.3))
    try:
        host, port = ctl.address
        assert place(switch, f"{host}:{port}").wait(timeout=15).bridges  # pool warmed up
        proxy.stall()
        t0 = time.monotonic()
        result = place(switch, f"{host}:{port}").wait(timeout=15)
        assert time.monotonic() - t0 < 2.5  # 2 x plan_timeout + 0.5 s guard, plus the call
        assert ("transfer", "fallback XML fallback") in result.apps
        proxy.restore()
        again = place(switch, f"{host}:{port}").wait(timeout=15)
        assert again.bridges, "routing works again once the database answers"
    finally:
        ctl.stop(grace=1)


def test_sigterm_stops_the_process_gracefully(db_url: str, tmp_path: Path) -> None:
    proc, port = _spawn_controller(db_url, tmp_path, output=subprocess.PIPE)
    try:
        wait_for(lambda: _listening(port), timeout=20, what="the controller to listen")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert b'"controller_stopped"' in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def _spawn_controller(
    db_url: str, tmp_path: Path, *, output: int
) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m controller` on a free port; its output (stdout and stderr) goes to `output`."""
    port = free_port()
    env = dict(
        os.environ,
        HUNTSMAN_ESL_LISTEN=f"127.0.0.1:{port}",
        DATABASE_URL=db_url,
        HUNTSMAN_CDR_SPOOL=str(tmp_path / "spool"),
        HUNTSMAN_METRICS_PORT="0",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output == subprocess.PIPE else output,
    )
    return proc, port


def _listening(port: int) -> bool:
    try:
        std_socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_controller_runs_with_only_the_controller_role(
    db_url: str, switch: Switch, tmp_path: Path
) -> None:
    """Least privilege end to end: a login role that is only a member of huntsman_controller
    plans the call, records registration/busy state and writes the CDR."""
    role = f"ctl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN IN ROLE huntsman_controller')
    try:
        params = pg_conninfo.conninfo_to_dict(db_url)
        params["user"] = role
        url = pg_conninfo.make_conninfo(**params)
        switch.endpoints.set(A, Behaviour.answer(after=1, hangup_after=1))
        switch.endpoints.set(B, Behaviour.no_answer())
        ctl = start_controller(make_settings(tmp_path / "spool", url))
        try:
            assert ctl.db is not None
            ctl.db.record_registration("example.com", "1003", "sip:x", True, datetime.now(UTC))
            ctl.db.record_device_busy("example.com", "1003", False, datetime.now(UTC))
            host, port = ctl.address
            result = place(switch, f"{host}:{port}").wait(timeout=15)
            assert result.answered_by == A
            wait_for(
                lambda: rows(db_url, "SELECT 1 FROM cdr.call WHERE call_uuid = %s", result.uuid),
                what="the CDR written by the controller role",
            )
        finally:
            ctl.stop(grace=1)
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
