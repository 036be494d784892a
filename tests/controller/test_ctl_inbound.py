"""Inbound Event Socket client against the emulator: registrations, busy state, api, reconnect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
import structlog
from psycopg.rows import dict_row

from controller.db import Database
from controller.inbound import InboundClient
from controller.metrics import Metrics
from controller.settings import FreeswitchNode
from switchsim import Behaviour, Switch, legs
from tests.controller.harness import wait_for
from tests.controller.tcp_proxy import TcpProxy, postgres_proxy
from tests.sql import factories as f

LOG = structlog.get_logger("test")


@pytest.fixture
def switch() -> Iterator[Switch]:
    sw = Switch(time_scale=0.01, hostname="sim1")
    yield sw
    sw.close()


class Sinks:
    def __init__(self) -> None:
        self.registrations: list[tuple[str, str, str, bool]] = []
        self.busy: list[tuple[str, str, bool]] = []

    def registration(self, d: str, u: str, contact: str, reg: bool, at: datetime) -> None:
        self.registrations.append((d, u, contact, reg))

    def device_busy(self, d: str, u: str, busy: bool, at: datetime) -> None:
        self.busy.append((d, u, busy))


def client_for(
    port: int, sinks: Sinks, password: str = "ClueCon", metrics: Metrics | None = None
) -> InboundClient:
    m = metrics or Metrics()
    node = FreeswitchNode("127.0.0.1", port, password)
    c = InboundClient(
        node,
        on_registration=sinks.registration,
        on_busy=sinks.device_busy,
        log=LOG,
        on_reconnect=m.esl_reconnects.labels(node.name).inc,
        max_backoff=0.2,
    )
    c.start()
    return c


def test_registration_events_reach_the_sink(switch: Switch) -> None:
    _host, port = switch.serve_inbound(password="ClueCon")
    sinks = Sinks()
    client = client_for(port, sinks)
    try:
        assert client.ready.wait(timeout=5)
        switch.set_registered("1001", "Example.com", True, contact="sip:1001@192.0.2.10:5060")
        switch.set_registered("1001", "example.com", False)
        switch.expire_registration("1002", "example.com")
        wait_for(lambda: len(sinks.registrations) == 3, what="three registration changes")
        assert [(d, u, r) for d, u, _c, r in sinks.registrations] == [
            ("example.com", "1001", True),
            ("example.com", "1001", False),
            ("example.com", "1002", False),
        ]
        assert "sip:1001@192.0.2.10:5060" in sinks.registrations[0][2]
    finally:
        client.stop()


def test_api_and_bgapi_with_job_uuid(switch: Switch) -> None:
    _host, port = switch.serve_inbound(password="ClueCon")
    client = client_for(port, Sinks())
    try:
        assert client.ready.wait(timeout=5)
        assert "FreeSWITCH" in client.api("version")
        assert "UP" in client.bgapi("status", timeout=5)
    finally:
        client.stop()


def test_wrong_password_keeps_retrying_without_crashing(switch: Switch) -> None:
    _host, port = switch.serve_inbound(password="ClueCon")
    metrics = Metrics()
    client = client_for(port, Sinks(), password="wrong", metrics=metrics)
    try:
        wait_for(
            lambda: metrics.esl_reconnects.labels(f"127.0.0.1:{port}")._value.get() >= 2,
            what="reconnect attempts",
        )
        assert not client.ready.is_set()
    finally:
        client.stop()


def test_connection_drop_and_come_back(switch: Switch) -> None:
    _host, port = switch.serve_inbound(password="ClueCon")
    proxy = TcpProxy(("127.0.0.1", port))
    sinks = Sinks()
    client = client_for(proxy.port, sinks)
    try:
        assert client.ready.wait(timeout=5)
        proxy.cut()
        wait_for(lambda: not client.ready.is_set(), what="the loss to be noticed")
        switch.set_registered("1001", "example.com", True)  # lost: nobody is listening
        proxy.restore()
        assert client.ready.wait(timeout=10)
        switch.set_registered("1002", "example.com", True)
        wait_for(lambda: sinks.registrations, what="a registration after reconnecting")
        assert [u for _d, u, _c, _r in sinks.registrations] == ["1002"]
    finally:
        client.stop()
        proxy.close()


def test_busy_state_follows_b_legs(switch: Switch, make_database: Callable[..., str]) -> None:
    """A leg rung to a device marks it busy, its end marks it idle again (through the DB)."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        domain = f.make_domain(conn, "example.com")
        f.make_device(conn, domain, "1001")
    db = Database(url, pool_size=1)
    db.open()
    _host, port = switch.serve_inbound(password="ClueCon")
    # the leg lives 1.5 s (real) so the busy window cannot slip between two polls
    switch.endpoints.set("user/1001@example.com", Behaviour.answer(after=1, hangup_after=150))
    node = FreeswitchNode("127.0.0.1", port, "ClueCon")
    client = InboundClient(
        node, on_registration=db.record_registration, on_busy=db.record_device_busy, log=LOG
    )
    client.start()

    def busy() -> Any:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT busy, last_call_ended FROM cfg.device WHERE endpoint = %s",
                ("user/1001@example.com",),
            ).fetchone()
            assert row is not None
            return row

    try:
        assert client.ready.wait(timeout=5)
        assert "+OK" in client.api("originate user/1001@example.com &park()")
        wait_for(lambda: busy()[0] is True, what="the device to be busy")
        wait_for(lambda: busy()[0] is False and busy()[1] is not None, what="idle again")
        switch.set_registered("1001", "example.com", False)
        with psycopg.connect(url) as conn:
            wait_for(
                lambda: conn.execute(
                    "SELECT NOT registered FROM cfg.device WHERE extension = '1001'"
                ).fetchone()[0],  # type: ignore[index]
                what="the device to be unregistered",
            )
    finally:
        client.stop()
        db.close()


D = "example.com"


@pytest.fixture
def phones_url(make_database: Callable[..., str]) -> str:
    """A committed database: phone 1001 (registered, idle) and phone 1002 (unregistered)."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        domain = f.make_domain(conn, D)
        f.make_device(conn, domain, "1001")
        f.make_device(conn, domain, "1002", registered=False)
    return url


def device(url: str, ext: str) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT * FROM cfg.device WHERE extension = %s", (ext,)).fetchone()
    assert row is not None
    return row


def db_client(port: int, db: Database) -> InboundClient:
    """An inbound client writing to ``db``, as the controller wires it."""
    client = InboundClient(
        FreeswitchNode("127.0.0.1", port, "ClueCon"),
        on_registration=db.record_registration,
        on_busy=db.record_device_busy,
        on_resync=db.resync_device_state,
        log=LOG,
        max_backoff=0.2,
        resync_retry=0.1,
    )
    client.start()
    return client


def ring_1001(switch: Switch, client: InboundClient, url: str) -> str:
    """An answered leg to 1001 that stays up (until the test hangs it up); returns its uuid."""
    switch.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=1, hangup_after=100_000))
    reply = client.api(f"originate user/1001@{D} &park()")
    assert reply.startswith("+OK "), reply
    wait_for(lambda: device(url, "1001")["busy"], what="1001 to be busy")
    return reply.split()[1]


@pytest.fixture
def proxied(switch: Switch, phones_url: str) -> Iterator[tuple[TcpProxy, InboundClient]]:
    """1001 registered on the switch, and a connected inbound client writing to the database
    that reaches the switch through a proxy the test can cut."""
    _host, port = switch.serve_inbound(password="ClueCon")
    proxy = TcpProxy(("127.0.0.1", port))
    db = Database(phones_url, pool_size=1)
    db.open()
    switch.set_registered("1001", D, True)
    client = db_client(proxy.port, db)
    try:
        assert client.ready.wait(timeout=5)
        yield proxy, client
    finally:
        client.stop()
        proxy.close()
        db.close()


def test_a_call_that_ends_while_disconnected_is_idle_after_reconnecting(
    switch: Switch, phones_url: str, proxied: tuple[TcpProxy, InboundClient]
) -> None:
    proxy, client = proxied
    leg = ring_1001(switch, client, phones_url)
    proxy.cut()
    wait_for(lambda: not client.ready.is_set(), what="the loss to be noticed")
    legs.hangup(switch, switch.channels[leg], "NORMAL_CLEARING")  # nobody hears it
    assert device(phones_url, "1001")["busy"] is True
    proxy.restore()
    wait_for(lambda: not device(phones_url, "1001")["busy"], what="1001 idle again")
    assert device(phones_url, "1001")["last_call_ended"] is not None


def test_registrations_changed_while_disconnected_are_picked_up(
    switch: Switch, phones_url: str, proxied: tuple[TcpProxy, InboundClient]
) -> None:
    proxy, client = proxied
    wait_for(
        lambda: (device(phones_url, "1001")["registered_contact"] or "").startswith("sofia/"),
        what="the first resync to read 1001's registration",
    )
    assert device(phones_url, "1002")["registered"] is False
    proxy.cut()
    wait_for(lambda: not client.ready.is_set(), what="the loss to be noticed")
    switch.set_registered("1002", D, True, contact="sip:1002@192.0.2.12:5060")
    switch.expire_registration("1001", D)
    proxy.restore()
    wait_for(lambda: device(phones_url, "1002")["registered"], what="1002 registered")
    assert device(phones_url, "1002")["registered_contact"] == (
        "sofia/internal/sip:1002@192.0.2.12:5060"
    )
    wait_for(lambda: not device(phones_url, "1001")["registered"], what="1001 gone")


def test_a_hangup_lost_in_a_database_outage_is_resynced_when_it_returns(
    switch: Switch, phones_url: str
) -> None:
    _host, port = switch.serve_inbound(password="ClueCon")
    pg, proxied_url = postgres_proxy(phones_url)
    db = Database(proxied_url, pool_size=1, connect_timeout=1)
    db.open()
    switch.set_registered("1001", D, True)
    client = db_client(port, db)
    try:
        assert client.ready.wait(timeout=5)
        leg = ring_1001(switch, client, phones_url)
        pg.cut()
        legs.hangup(switch, switch.channels[leg], "NORMAL_CLEARING")
        wait_for(lambda: client.resync_due, what="the idle write to fail")
        assert device(phones_url, "1001")["busy"] is True
        pg.restore()
        wait_for(lambda: not device(phones_url, "1001")["busy"], 20, "1001 idle again")
        wait_for(lambda: not client.resync_due, what="the resync to be done")
    finally:
        client.stop()
        pg.close()
        db.close()


def test_a_resync_waits_for_every_node_and_writes_their_union(
    phones_url: str,
) -> None:
    """Two nodes, one flag per device: node 2's resync must not clear node 1's busy phone."""
    sw1, sw2 = Switch(time_scale=0.01, hostname="sim1"), Switch(time_scale=0.01, hostname="sim2")
    db = Database(phones_url, pool_size=2)
    db.open()
    sw1.set_registered("1001", D, True)
    sw2.set_registered("1002", D, True)
    c1 = db_client(sw1.serve_inbound(password="ClueCon")[1], db)
    proxy = TcpProxy(("127.0.0.1", sw2.serve_inbound(password="ClueCon")[1]))
    c2 = db_client(proxy.port, db)
    c1.peers = lambda: c2.live_state()
    c2.peers = lambda: c1.live_state()
    try:
        assert c1.ready.wait(timeout=5) and c2.ready.wait(timeout=5)
        ring_1001(sw1, c1, phones_url)
        proxy.cut()
        wait_for(lambda: not c2.ready.is_set(), what="node 2 lost")
        assert c1.live_state() is not None and c2.live_state() is None
        proxy.restore()
        assert c2.ready.wait(timeout=10)
        wait_for(lambda: c2.live_state() is not None, what="node 2 resynced")
        row1, row2 = device(phones_url, "1001"), device(phones_url, "1002")
        assert (row1["busy"], row1["registered"], row2["registered"]) == (True, True, True)
    finally:
        c1.stop()
        c2.stop()
        proxy.close()
        sw1.close()
        sw2.close()
        db.close()


def ev(**headers: str) -> Any:
    from controller.esl_frames import Event

    return Event(headers={k.replace("__", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            ev(
                Event__Name="CUSTOM",
                Event__Subclass="sofia::register",
                username="1001",
                realm="Example.COM",
                contact="sip:1001@192.0.2.10",
            ),
            ("example.com", "1001", "sip:1001@192.0.2.10", True),
            id="register",
        ),
        pytest.param(
            ev(Event__Name="CUSTOM", Event__Subclass="sofia::expire", user="1002", host="x.org"),
            ("x.org", "1002", "", False),
            id="expire",
        ),
        pytest.param(
            ev(Event__Name="CUSTOM", Event__Subclass="callcenter::info", username="1"),
            None,
            id="other-subclass",
        ),
        pytest.param(
            ev(Event__Name="CUSTOM", Event__Subclass="sofia::register", username="1001"),
            None,
            id="no-domain",
        ),
    ],
)
def test_registration_change(event: Any, expected: Any) -> None:
    from controller.inbound import registration_change

    assert registration_change(event) == expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            ev(variable_dialed_user="1001", variable_dialed_domain="Example.com"),
            ("example.com", "1001"),
            id="dialed",
        ),
        pytest.param(
            ev(variable_user_name="1003", variable_domain_name="example.com"),
            ("example.com", "1003"),
            id="authenticated-caller",
        ),
        pytest.param(
            ev(Call__Direction="outbound", Channel__Name="sofia/internal/1004@example.com"),
            ("example.com", "1004"),
            id="outbound-sofia",
        ),
        pytest.param(
            ev(Call__Direction="inbound", Channel__Name="sofia/external/+4917@198.51.100.1"),
            None,
            id="trunk-caller",
        ),
    ],
)
def test_device_of(event: Any, expected: Any) -> None:
    from controller.inbound import device_of

    assert device_of(event) == expected
