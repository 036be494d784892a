"""Fixtures of the emulator's tests: a switch, and an authenticated inbound Event Socket session."""

from __future__ import annotations

from collections.abc import Iterator

import gevent.socket
import pytest

from switchsim import Switch
from tests.switchsim.esl_stub import Session, reply_text


@pytest.fixture
def sw() -> Iterator[Switch]:
    """A switch at time scale 0.01 (test_calls.py overrides it with its own)."""
    switch = Switch(time_scale=0.01)
    yield switch
    switch.close()


@pytest.fixture
def client(sw: Switch) -> Iterator[Session]:
    """An inbound ESL session to ``sw``, authenticated with the password ``secret``."""
    host, port = sw.serve_inbound(host="127.0.0.1", port=0, password="secret")
    session = Session(gevent.socket.create_connection((host, port)))
    assert session.next().content_type == "auth/request"
    assert reply_text(session.command("auth secret")) == "+OK accepted"
    yield session
    session.close()
