"""ESL framing: header forging, Content-Length bounds, length-framed sendmsg."""

import json
from pathlib import Path

import pytest

from controller.errors import FrameError, UnsafeCommand
from controller.esl_frames import (
    MAX_CONTENT_LENGTH,
    FrameReader,
    build_bgapi,
    build_command,
    build_sendmsg_execute,
    build_sendmsg_hangup,
    parse_content_length,
    parse_event,
    parse_headers,
)

CAPTURES = Path("/work/shared/freeswitch-captures")


def _event_frame(body_headers: str) -> bytes:
    body = body_headers.encode() + b"\n\n"
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Alice%0Avariable_x_trusted%3A%20true", id="lf"),
        pytest.param("Alice%0D%0Avariable_x_trusted%3A%20true", id="crlf"),
        pytest.param("Alice%0A%0Avariable_x_trusted%3A%20true", id="double-lf"),
    ],
)
def test_url_encoded_newline_does_not_forge_a_header(name: str) -> None:
    block = f"Unique-ID: abc\nCaller-Caller-ID-Name: {name}\nCaller-Caller-ID-Number: 1001".encode()
    headers = parse_headers(block)
    assert "variable_x_trusted" not in headers
    assert headers["Caller-Caller-ID-Name"].startswith("Alice")
    assert "variable_x_trusted: true" in headers["Caller-Caller-ID-Name"]
    assert headers["Caller-Caller-ID-Number"] == "1001"


def test_forged_header_inside_event_body_stays_in_the_value() -> None:
    frame = _event_frame(
        "Event-Name: CHANNEL_ANSWER\nCaller-Caller-ID-Name: x%0AEvent-Name%3A%20CHANNEL_HANGUP"
    )
    (parsed,) = FrameReader().feed(frame)
    event = parse_event(parsed)
    assert event.name == "CHANNEL_ANSWER"
    assert event.get("Caller-Caller-ID-Name") == "x\nEvent-Name: CHANNEL_HANGUP"


def test_first_header_wins_and_junk_lines_are_ignored() -> None:
    headers = parse_headers(b"A: 1\nA: 2\nno colon here\n\xff\xfe: x\nB:  spaced")
    assert dict(headers) == {"A": "1", "B": " spaced"}


def test_invalid_utf8_and_nul_are_decoded_not_fatal() -> None:
    headers = parse_headers(b"Caller-Caller-ID-Name: A%C3%28%00B\nX: \xc3\x28")
    assert headers["Caller-Caller-ID-Name"] == "A\ufffd(\x00B"
    assert headers["X"] == "\ufffd("


def test_reply_text_keeps_plus_sign() -> None:
    assert parse_headers(b"Reply-Text: %2BOK%0A")["Reply-Text"] == "+OK\n"
    assert parse_headers(b"Reply-Text: +OK accepted")["Reply-Text"] == "+OK accepted"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("-1", id="negative"),
        pytest.param("2147483648", id="int-overflow"),
        pytest.param(str(MAX_CONTENT_LENGTH + 1), id="above-16MiB"),
        pytest.param("abc", id="garbage"),
        pytest.param("12abc", id="trailing-garbage"),
        pytest.param("", id="empty"),
        pytest.param("1e3", id="exponent"),
        pytest.param("99999999999999999999", id="huge"),
    ],
)
def test_bad_content_length_is_rejected(value: str) -> None:
    with pytest.raises(FrameError):
        parse_content_length(value)
    with pytest.raises(FrameError):
        FrameReader().feed(f"Content-Type: api/response\nContent-Length: {value}\n\n".encode())


def test_content_length_limits() -> None:
    assert parse_content_length("0") == 0
    assert parse_content_length(str(MAX_CONTENT_LENGTH)) == MAX_CONTENT_LENGTH


def test_unbounded_header_block_is_rejected() -> None:
    reader = FrameReader(max_header_block=1024)
    with pytest.raises(FrameError):
        reader.feed(b"X: " + b"a" * 2000)


def test_reader_waits_for_whole_body_and_splits_frames() -> None:
    reader = FrameReader()
    data = (
        b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n"
        b"Content-Type: command/reply\nReply-Text: +OK\n\n"
    )
    frames = []
    for i in range(len(data)):
        frames += reader.feed(data[i : i + 1])
    assert [f.content_type for f in frames] == ["api/response", "command/reply"]
    assert frames[0].body == b"+OK\n"


def test_background_job_body() -> None:
    frame = _event_frame("Event-Name: BACKGROUND_JOB\nJob-UUID: j1\nContent-Length: 4")
    frame = frame[:-2]  # rebuild with the inner body
    inner = b"Event-Name: BACKGROUND_JOB\nJob-UUID: j1\nContent-Length: 4\n\n+OK\n"
    frame = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner
    (parsed,) = FrameReader().feed(frame)
    event = parse_event(parsed)
    assert event.get("Job-UUID") == "j1"
    assert event.body == "+OK\n"


@pytest.mark.parametrize(
    "capture",
    sorted(p.name for p in CAPTURES.glob("*.jsonl")) if CAPTURES.exists() else [],
)
def test_replays_real_freeswitch_captures_chunk_by_chunk(capture: str) -> None:
    reader = FrameReader()
    frames = []
    for line in (CAPTURES / capture).read_text().splitlines():
        rec = json.loads(line)
        if rec["dir"] == "recv":
            frames += reader.feed(rec["data"].encode("latin-1"))
    assert frames, capture
    for frame in frames:
        assert frame.content_type, frame.headers
        if frame.content_type == "text/event-plain":
            assert parse_event(frame).name
    if capture.startswith("outbound-") and "json" not in capture:
        assert frames[0].headers["Reply-Text"] == "+OK\n"
        assert frames[0].headers["Unique-ID"]


# --- building -------------------------------------------------------------------------------


def _split_commands(wire: bytes) -> list[bytes]:
    """Split a byte stream the way FreeSWITCH does: header block, then content-length body."""
    out = []
    while wire:
        head, _, rest = wire.partition(b"\n\n")
        length = 0
        for line in head.split(b"\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        out.append(head + b"\n\n" + rest[:length])
        wire = rest[length:]
    return out


@pytest.mark.parametrize(
    "arg",
    [
        pytest.param("Bob\n\napi system touch /tmp/pwned", id="double-newline"),
        pytest.param("Bob\nexecute-app-name: hangup", id="header-injection"),
        pytest.param("Bob\r\n\r\nexit", id="crlf"),
        pytest.param("x" * 70000 + "\n\nexit", id="64k-then-command"),
        pytest.param("Ünïcødé ☎\n", id="unicode"),
    ],
)
def test_newline_in_app_arg_stays_one_sendmsg_frame(arg: str) -> None:
    wire = build_sendmsg_execute("bridge", arg, event_uuid="11111111-2222-3333-4444-555555555555")
    commands = _split_commands(wire)
    assert len(commands) == 1
    assert commands[0].startswith(b"sendmsg\ncall-command: execute\nexecute-app-name: bridge\n")
    assert b"Event-UUID: 11111111-2222-3333-4444-555555555555\n" in commands[0]
    assert commands[0].endswith(arg.encode())
    assert f"content-length: {len(arg.encode())}\n".encode() in commands[0]


def test_sendmsg_without_arg_has_no_body() -> None:
    assert build_sendmsg_execute("answer") == (
        b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n"
    )


@pytest.mark.parametrize("app", ["bridge\nexit", "Bridge", "", "a b", "x" * 65])
def test_bad_app_names_are_refused(app: str) -> None:
    with pytest.raises(UnsafeCommand):
        build_sendmsg_execute(app, "x")


def test_event_uuid_with_newline_is_refused() -> None:
    with pytest.raises(UnsafeCommand):
        build_sendmsg_execute("bridge", "x", event_uuid="a\nb")


def test_hangup_and_commands() -> None:
    assert build_sendmsg_hangup("NO_ANSWER") == (
        b"sendmsg\ncall-command: hangup\nhangup-cause: NO_ANSWER\n\n"
    )
    for bad in ("NO_ANSWER\n\nexit", "no_answer", ""):
        with pytest.raises(UnsafeCommand):
            build_sendmsg_hangup(bad)
    with pytest.raises(UnsafeCommand):
        build_command("api status\n\napi system id")
    assert build_command("linger 30") == b"linger 30\n\n"
    assert build_bgapi("status", "j-1") == b"bgapi status\nJob-UUID: j-1\n\n"
    with pytest.raises(UnsafeCommand):
        build_bgapi("status\nexit", "j")
