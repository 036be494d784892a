"""The inbound socket: auth, subscriptions, api/bgapi, registrations, B-leg events."""

from __future__ import annotations

import gevent.socket
import pytest

from switchsim import Behaviour, Switch
from tests.switchsim.esl_stub import Session, StubController, reply_text, standard_start

D = "example.com"


def test_wrong_password_is_refused_and_closed(sw: Switch) -> None:
    host, port = sw.serve_inbound(port=0, password="secret")
    s = Session(gevent.socket.create_connection((host, port)))
    s.next()
    assert reply_text(s.command("auth nope")) == "-ERR invalid"
    assert s.next().content_type == "text/disconnect-notice"
    with pytest.raises(AssertionError, match="closed"):
        s.next(timeout=2)


def test_registration_events_reach_custom_subscribers(sw: Switch, client: Session) -> None:
    assert reply_text(
        client.command("event plain CUSTOM sofia::register sofia::unregister sofia::expire")
    ) == ("+OK event listener enabled plain")
    sw.set_registered("1001", D, True)
    ev = client.wait_event("CUSTOM", **{"Event-Subclass": "sofia::register"})
    assert (ev["from-user"], ev["from-host"]) == ("1001", D)
    assert client.command(f"api sofia_contact */1001@{D}").body.startswith(
        "sofia/internal/sip:1001@"
    )
    sw.set_registered("1001", D, False)
    client.wait_event("CUSTOM", **{"Event-Subclass": "sofia::unregister"})
    assert client.command(f"api sofia_contact 1001@{D}").body == "error/user_not_registered"
    sw.expire_registration("1001", D)
    client.wait_event("CUSTOM", **{"Event-Subclass": "sofia::expire"})


def test_unknown_user_is_not_registered_by_default(sw: Switch, client: Session) -> None:
    assert client.command(f"api sofia_contact 4711@{D}").body == "error/user_not_registered"
    sw.endpoints.set(f"user/4711@{D}", Behaviour.answer())
    assert client.command(f"api sofia_contact 4711@{D}").body != "error/user_not_registered"


def test_bgapi_job_uuid_and_background_job_only_when_subscribed(
    sw: Switch, client: Session
) -> None:
    job = "c4798126-8c7f-41ad-94e3-9f458edcfb71"
    reply = client.command(f"bgapi version\nJob-UUID: {job}")
    assert reply_text(reply) == f"+OK Job-UUID: {job}"
    assert dict(reply.headers)["Job-UUID"] == job
    with pytest.raises(AssertionError):
        client.next(timeout=0.3)  # not subscribed: nothing comes
    client.command("event plain BACKGROUND_JOB")
    reply = client.command("bgapi version")
    ev = client.wait_event("BACKGROUND_JOB")
    assert ev["Job-UUID"] == dict(reply.headers)["Job-UUID"] and ev["Job-Command"] == "version"


def test_originate_and_uuid_kill(sw: Switch, client: Session) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=1))
    sw.endpoints.set(f"user/1002@{D}", Behaviour.busy())
    client.command("event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE")
    uuid = "006a524b-9bdb-43a3-a1e3-98850b246dd8"
    assert (
        client.command(f"api originate {{origination_uuid={uuid}}}user/1001@{D} &park()").body
        == f"+OK {uuid}\n"
    )
    client.wait_event("CHANNEL_CREATE", **{"Unique-ID": uuid})
    client.wait_event("CHANNEL_ANSWER", **{"Unique-ID": uuid})
    assert client.command(f"api uuid_kill {uuid} USER_BUSY").body == "+OK\n"
    assert client.wait_event("CHANNEL_HANGUP_COMPLETE")["Hangup-Cause"] == "USER_BUSY"
    assert client.command(f"api uuid_kill {uuid}").body == "-ERR No such channel!\n"
    assert client.command(f"api originate user/1002@{D} &park()").body == "-ERR USER_BUSY\n"
    assert (
        client.command("api no_such_command x").body == "-ERR no_such_command Command not found!\n"
    )
    assert reply_text(client.command("bogus")) == "-ERR command not found"
    assert [leg.cause for leg in sw.legs] == ["USER_BUSY", "USER_BUSY"]


def test_b_legs_of_bridges_are_visible_to_inbound_subscribers(sw: Switch, client: Session) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=1, hangup_after=1))
    client.command("event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE")

    def script(s: Session) -> None:
        standard_start(s)
        s.execute("bridge", f"user/1001@{D}")
        s.wait_event("CHANNEL_EXECUTE_COMPLETE", timeout=10, Application="bridge")
        s.execute("hangup")
        s.wait_event("CHANNEL_HANGUP_COMPLETE")

    stub = StubController(script)
    try:
        sw.place_call(controllers=stub.address, destination="2000").wait(timeout=10)
    finally:
        stub.stop()
    create = client.wait_event("CHANNEL_CREATE")
    assert create["Caller-Destination-Number"] == "1001"
    b = create["Unique-ID"]
    client.wait_event("CHANNEL_ANSWER", **{"Unique-ID": b})
    client.wait_event("CHANNEL_HANGUP_COMPLETE", **{"Unique-ID": b})


def test_status_and_version(client: Session) -> None:
    assert "is ready" in client.command("api status").body
    assert (
        client.command("api version").body == "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n"
    )
    assert reply_text(client.command("exit")) == "+OK bye"


def test_uuid_bridge_joins_two_parked_legs(sw: Switch, client: Session) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer())
    sw.endpoints.set(f"user/1002@{D}", Behaviour.answer())
    client.command("event plain CHANNEL_BRIDGE")
    a = client.command(f"api originate user/1001@{D} &park()").body.split()[1]
    b = client.command(f"api originate user/1002@{D} &park()").body.split()[1]
    assert client.command(f"api uuid_bridge {a} {b}").body == f"+OK {b}\n"
    ev = client.wait_event("CHANNEL_BRIDGE")
    assert (ev["Bridge-A-Unique-ID"], ev["Bridge-B-Unique-ID"]) == (a, b)
    assert client.command(f"api uuid_bridge {a} nope").body.startswith("-ERR")


def test_user_legs_carry_dialed_user_and_domain(sw: Switch, client: Session) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer())
    client.command("event plain CHANNEL_CREATE")
    client.command(f"api originate user/1001@{D} &park()")
    ev = client.wait_event("CHANNEL_CREATE")
    assert (ev["variable_dialed_user"], ev["variable_dialed_domain"]) == ("1001", D)
