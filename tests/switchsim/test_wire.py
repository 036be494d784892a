"""Pure pieces of the wire protocol: command framing and FreeSWITCH's URL encoding."""

from __future__ import annotations

import pytest

from switchsim import frames
from switchsim.urlcode import url_decode, url_encode


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        pytest.param("+OK\n", "%2BOK%0A", id="reply-text"),
        pytest.param(
            "sofia/external/sipp@127.0.0.1:5070",
            "sofia/external/sipp%40127.0.0.1%3A5070",
            id="channel-name",
        ),
        pytest.param(
            "Thu, 26 Nov 2026 01:15:39 GMT",
            "Thu,%2026%20Nov%202026%2001%3A15%3A39%20GMT",
            id="comma-kept",
        ),
        pytest.param(
            "tone_stream://%(1000,0,440);loops=2",
            "tone_stream%3A//%25(1000,0,440)%3Bloops%3D2",
            id="lone-percent",
        ),
        pytest.param("a%2Bb", "a%2Bb", id="no-double-encoding"),
        pytest.param('"sipp" <sipp>', "%22sipp%22%20%3Csipp%3E", id="quotes-angles"),
        pytest.param("ARRAY::a|:b", "ARRAY%3A%3Aa%7C%3Ab", id="array"),
        pytest.param("Müller", "M%C3%BCller", id="utf8"),
    ],
)
def test_url_encode_matches_the_captures(raw: str, encoded: str) -> None:
    assert url_encode(raw) == encoded
    if "%2B" not in raw:
        assert url_decode(encoded) == raw


def test_command_parser_handles_any_chunking_and_bodies() -> None:
    body = "tone_stream://%(100,0,440)"
    stream = (
        b"connect\n\n"
        b"sendmsg\r\ncall-command: execute\r\nexecute-app-name: playback\r\n"
        + f"content-type: text/plain\r\ncontent-length: {len(body)}\r\n\r\n{body}".encode()
        + b"api uuid_getvar abc originate_disposition\n\n"
    )
    parser = frames.CommandParser()
    cmds = []
    for i in range(len(stream)):
        cmds += parser.feed(stream[i : i + 1])
    assert [c.name for c in cmds] == ["connect", "sendmsg", "api"]
    assert cmds[1].header("Execute-App-Name") == "playback"
    assert cmds[1].body == body
    assert cmds[2].args == "uuid_getvar abc originate_disposition"


def test_replies_and_notices_are_framed_like_freeswitch() -> None:
    assert frames.command_reply("+OK", [("Job-UUID", "x")]) == (
        b"Content-Type: command/reply\nReply-Text: +OK\nJob-UUID: x\n\n"
    )
    assert frames.api_response("+OK\n") == b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n"
    assert frames.linger_notice("u", "sofia/x@y:1", -1).endswith(
        b"Linger-Time: -1\nContent-Length: 0\n\n"
    )
    assert frames.disconnect_notice().endswith(frames.GOODBYE.encode())
    plain = frames.event_frame([("Event-Name", "BACKGROUND_JOB")], "+OK x\n")
    assert plain == (
        b"Content-Length: 52\nContent-Type: text/event-plain\n\n"
        b"Event-Name: BACKGROUND_JOB\nContent-Length: 6\n\n+OK x\n"
    )


def test_outbound_socket_sets_tcp_nodelay_like_the_socket_app() -> None:
    """mod_event_socket sets TCP_NODELAY on the socket app's connection; without it every
    command round trip waits ~40 ms for a delayed ACK."""
    from gevent import socket

    from switchsim.call import _connect_tcp

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        sock = _connect_tcp("127.0.0.1", server.getsockname()[1])
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        sock.close()
    finally:
        server.close()
