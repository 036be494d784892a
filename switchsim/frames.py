"""ESL framing: reading the controller's commands and writing FreeSWITCH's replies.

Pure functions and a small incremental parser; no sockets here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from switchsim.urlcode import encoded_line

GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

Header = tuple[str, str]


@dataclass
class Command:
    """One command the controller sent: first line split into name and args, headers, body."""

    name: str
    args: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    raw: str = ""
    at: float | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        """Header value by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default


class CommandParser:
    """Incremental parser for controller -> switch frames (chunk boundaries are arbitrary)."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[Command]:
        """Add bytes; return every command completed by them."""
        self._buf += data
        out: list[Command] = []
        while True:
            cmd = self._next()
            if cmd is None:
                return out
            out.append(cmd)

    def _next(self) -> Command | None:
        buf = self._buf.replace(b"\r\n", b"\n")
        # Skip blank lines between frames.
        stripped = buf.lstrip(b"\n")
        end = stripped.find(b"\n\n")
        if end < 0:
            self._buf = stripped
            return None
        head = stripped[:end].decode("utf-8", "replace")
        lines = head.split("\n")
        first = lines[0].strip()
        name, _, args = first.partition(" ")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip()] = value.strip()
        body: str | None = None
        rest = stripped[end + 2 :]
        length = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
        if length is not None and length.strip().isdigit() and int(length) > 0:
            size = int(length)
            if len(rest) < size:
                self._buf = stripped
                return None
            body = rest[:size].decode("utf-8", "replace")
            rest = rest[size:]
        self._buf = rest
        return Command(name=name, args=args.strip(), headers=headers, body=body, raw=head)


def command_reply(text: str, extra: Iterable[Header] = ()) -> bytes:
    """``command/reply`` with ``Reply-Text`` (and extra headers such as ``Job-UUID``)."""
    lines = ["Content-Type: command/reply", f"Reply-Text: {text}"]
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def api_response(body: str) -> bytes:
    """``api/response`` with its body."""
    data = body.encode("utf-8")
    return f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data


def auth_request() -> bytes:
    """The greeting of the inbound socket."""
    return b"Content-Type: auth/request\n\n"


def serialize_plain(
    headers: Iterable[Header], body: str | None = None, encoded: str | None = None
) -> str:
    """Serialise an event as ``text/event-plain`` does (URL-encoded values).

    ``encoded``: the headers already rendered as lines (``Event.plain``), used as is.
    """
    text = "".join(map(encoded_line, headers)) if encoded is None else encoded
    if body is not None:
        text += f"Content-Length: {len(body.encode('utf-8'))}\n\n{body}"
    else:
        text += "\n"
    return text


def serialize_json(headers: Iterable[Header], body: str | None = None) -> str:
    """Serialise an event as ``text/event-json`` does (raw values, ``_body`` last)."""
    data: dict[str, str] = {}
    for k, v in headers:
        data[k] = v
    if body is not None:
        data["Content-Length"] = str(len(body.encode("utf-8")))
        data["_body"] = body
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def event_frame(
    headers: Iterable[Header],
    body: str | None = None,
    fmt: str = "plain",
    encoded: str | None = None,
) -> bytes:
    """A whole event message in the given format (``plain`` or ``json``); ``encoded`` as in
    :func:`serialize_plain`."""
    if fmt == "json":
        payload = serialize_json(headers, body).encode("utf-8")
        ctype = "text/event-json"
    else:
        payload = serialize_plain(headers, body, encoded).encode("utf-8")
        ctype = "text/event-plain"
    return f"Content-Length: {len(payload)}\nContent-Type: {ctype}\n\n".encode() + payload


def connect_reply(headers: Iterable[Header]) -> bytes:
    """The reply to ``connect``: channel data plus the command/reply headers, all encoded."""
    tail = [
        ("Content-Type", "command/reply"),
        ("Reply-Text", "+OK\n"),
        ("Socket-Mode", "async"),
        ("Control", "full"),
    ]
    text = "".join(map(encoded_line, [*headers, *tail]))
    return (text + "\n").encode("utf-8")


def linger_notice(uuid: str, channel_name: str, linger_time: int) -> bytes:
    """The disconnect-notice sent at hangup when the session lingers."""
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode()


def disconnect_notice(uuid: str | None = None) -> bytes:
    """The goodbye notice before the switch closes the socket."""
    head = "Content-Type: text/disconnect-notice\n"
    if uuid is not None:
        head += f"Controlled-Session-UUID: {uuid}\nContent-Disposition: disconnect\n"
    body = GOODBYE.encode("utf-8")
    return (head + f"Content-Length: {len(body)}\n\n").encode("utf-8") + body
