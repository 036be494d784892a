"""Event Socket wire format: a bounded frame reader and safe command builders.

Pure: no sockets, no gevent.  Two hazards of greenswitch 0.0.19 are fixed here:

* Header blocks are split on ``\\n`` *before* each value is URL-decoded, so a caller
  name ``Alice%0Avariable_x_trusted%3A%20true`` stays one value and forges no header.
* ``Content-Length`` must be plain decimal digits and at most 16 MiB (what
  FreeSWITCH itself accepts since CVE-2026-49840); anything else is a
  ``FrameError`` and the connection is dropped instead of reading to EOF.

On the way out, application arguments travel as a length-framed ``text/plain``
body, so a newline inside an argument can never start a second ESL command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from controller import channel_vars as cv
from controller.errors import FrameError, UnsafeCommand

MAX_CONTENT_LENGTH = 16 * 1024 * 1024
"""Largest body accepted from FreeSWITCH (bytes)."""

MAX_HEADER_BLOCK = 1024 * 1024
"""Largest header block accepted (bytes); channel data is typically 10-20 kB."""

_DIGITS = re.compile(r"[0-9]{1,10}")
_EVENT_NAME = re.compile(rb"(?:^|\n)Event-Name: ([A-Za-z0-9_]+)")
_APP_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_CAUSE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_UNSAFE_IN_LINE = re.compile(r"[\r\n\x00]")


@dataclass(frozen=True)
class Frame:
    """One ESL message: its header block (values URL-decoded) and raw body."""

    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get(cv.H_CONTENT_TYPE, "")

    @property
    def reply_text(self) -> str:
        return self.headers.get(cv.H_REPLY_TEXT, "")


@dataclass(frozen=True)
class Event:
    """A ``text/event-plain`` event: its headers and optional body (e.g. BACKGROUND_JOB)."""

    headers: Mapping[str, str]
    body: str = ""

    @property
    def name(self) -> str:
        return self.headers.get(cv.H_EVENT_NAME, "")

    def get(self, key: str, default: str = "") -> str:
        return self.headers.get(key, default)


class Headers(Mapping[str, str]):
    """A header block kept as text; a value is found and URL-decoded on first access.

    FreeSWITCH sends 60-200 headers per event and the controller reads a handful, so
    nothing is split up front: ``"\\nKey:"`` is searched in the raw (still URL-encoded)
    text.  A forged ``%0AKey:`` inside a value is still encoded there, so it can never
    match: lines are told apart before any value is decoded.  The first occurrence of
    a key wins.
    """

    __slots__ = ("_text", "_decoded")

    def __init__(self, text: str) -> None:
        self._text = "\n" + text
        self._decoded: dict[str, str] = {}

    def _raw(self, key: str) -> str | None:
        start = self._text.find("\n" + key + ":")
        if start < 0 or "\n" in key or ":" in key:
            return None
        start += len(key) + 2
        end = self._text.find("\n", start)
        value = self._text[start:] if end < 0 else self._text[start:end]
        if value.startswith(" "):
            value = value[1:]
        if value.endswith("\r"):
            value = value[:-1]
        return value

    def __getitem__(self, key: str) -> str:
        try:
            return self._decoded[key]
        except KeyError:
            pass
        raw = self._raw(key)
        if raw is None:
            raise KeyError(key)
        value = unquote(raw, errors="replace") if "%" in raw else raw
        self._decoded[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._raw(key) is not None

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for line in self._text.split("\n"):
            key, sep, _ = line.partition(":")
            if sep and key and key.isascii() and key not in seen:
                seen.add(key)
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


def keys_with_prefix(headers: Mapping[str, str], prefix: str) -> list[str]:
    """Keys starting with ``prefix``, in order; a Headers block is searched, not split."""
    if not isinstance(headers, Headers):
        return [k for k in headers if k.startswith(prefix)]
    text, keys, pos = headers._text, [], 0
    needle = "\n" + prefix
    while (pos := text.find(needle, pos)) >= 0:
        end = text.find(":", pos)
        line_end = text.find("\n", pos + 1)
        pos += 1
        if end < 0 or (0 <= line_end < end):
            continue
        key = text[pos:end]
        if key not in keys:
            keys.append(key)
    return keys


def parse_headers(block: bytes) -> Headers:
    """Parse ``Key: value`` lines; lines are told apart before values are URL-decoded.

    Lines without a colon or with a non-ASCII key are ignored (inert).  The first
    occurrence of a key wins.  Invalid UTF-8 becomes U+FFFD.
    """
    return Headers(block.decode("utf-8", "replace"))


def event_name(body: bytes) -> bytes:
    """The ``Event-Name`` of a plain event body without parsing it (for cheap filtering)."""
    match = _EVENT_NAME.search(body)
    return match.group(1) if match else b""


def parse_content_length(value: str, limit: int = MAX_CONTENT_LENGTH) -> int:
    """Validate a Content-Length value: decimal digits only, ``0 <= n <= limit``."""
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        raise FrameError(f"invalid Content-Length {value[:40]!r}")
    length = int(text)
    if length > limit:
        raise FrameError(f"Content-Length {length} exceeds the {limit} byte limit")
    return length


def parse_event(frame: Frame) -> Event:
    """Decode the body of a ``text/event-plain`` frame into an Event."""
    head, sep, rest = frame.body.partition(b"\n\n")
    headers = parse_headers(head)
    body = ""
    if sep and cv.H_CONTENT_LENGTH in headers:
        length = parse_content_length(headers[cv.H_CONTENT_LENGTH])
        body = rest[:length].decode("utf-8", "replace")
    return Event(headers=headers, body=body)


@dataclass
class FrameReader:
    """Incremental ESL frame parser: feed it bytes as they arrive, get whole frames back."""

    max_content_length: int = MAX_CONTENT_LENGTH
    max_header_block: int = MAX_HEADER_BLOCK
    _buf: bytearray = field(default_factory=bytearray)
    _pending: Headers | None = None
    _need: int = 0

    def feed(self, data: bytes) -> list[Frame]:
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        pos = 0  # consumed bytes are dropped once per call, not once per frame
        try:
            while True:
                if self._pending is None:
                    while pos < len(buf) and buf[pos] == 0x0A:
                        pos += 1
                    end = buf.find(b"\n\n", pos)
                    if end < 0:
                        if len(buf) - pos > self.max_header_block:
                            raise FrameError("header block exceeds the size limit")
                        return frames
                    if end - pos > self.max_header_block:
                        raise FrameError("header block exceeds the size limit")
                    headers = parse_headers(bytes(buf[pos:end]))
                    pos = end + 2
                    length = 0
                    if cv.H_CONTENT_LENGTH in headers:
                        length = parse_content_length(
                            headers[cv.H_CONTENT_LENGTH], self.max_content_length
                        )
                    self._pending, self._need = headers, length
                if len(buf) - pos < self._need:
                    return frames
                body = bytes(buf[pos : pos + self._need])
                pos += self._need
                frames.append(Frame(headers=self._pending, body=body))
                self._pending, self._need = None, 0
        finally:
            del buf[:pos]


# --- building commands ----------------------------------------------------------------------


def _check_line(value: str, what: str) -> str:
    if _UNSAFE_IN_LINE.search(value):
        raise UnsafeCommand(f"{what} contains a newline or NUL: {value[:60]!r}")
    return value


def build_command(command: str) -> bytes:
    """A one-line ESL command (``myevents``, ``linger 30``, ``api status``...)."""
    return (_check_line(command, "command") + "\n\n").encode("utf-8")


def build_sendmsg_execute(
    app: str,
    arg: str | None = None,
    *,
    event_uuid: str | None = None,
    event_lock: bool = False,
) -> bytes:
    """``sendmsg`` executing ``app``; the argument rides as a length-framed text/plain body."""
    if not _APP_NAME.fullmatch(app):
        raise UnsafeCommand(f"invalid application name {app[:60]!r}")
    lines = [
        "sendmsg",
        f"{cv.SM_CALL_COMMAND}: execute",
        f"{cv.SM_EXECUTE_APP_NAME}: {app}",
    ]
    if event_uuid is not None:
        lines.append(f"{cv.SM_EVENT_UUID}: {_check_line(event_uuid, 'Event-UUID')}")
    if event_lock:
        lines.append(f"{cv.SM_EVENT_LOCK}: true")
    body = b""
    if arg:
        body = arg.encode("utf-8")
        lines.append(f"{cv.SM_CONTENT_TYPE}: text/plain")
        lines.append(f"{cv.SM_CONTENT_LENGTH}: {len(body)}")
    return ("\n".join(lines) + "\n\n").encode("utf-8") + body


def build_sendmsg_hangup(cause: str) -> bytes:
    """``sendmsg`` with ``call-command: hangup`` (no application, acts at once)."""
    if not _CAUSE.fullmatch(cause):
        raise UnsafeCommand(f"invalid hangup cause {cause[:60]!r}")
    return f"sendmsg\n{cv.SM_CALL_COMMAND}: hangup\n{cv.SM_HANGUP_CAUSE}: {cause}\n\n".encode()


def build_bgapi(command: str, job_uuid: str) -> bytes:
    """``bgapi`` with a client-chosen ``Job-UUID`` header (FreeSWITCH honours it)."""
    _check_line(command, "bgapi command")
    _check_line(job_uuid, "Job-UUID")
    return f"bgapi {command}\n{cv.H_JOB_UUID}: {job_uuid}\n\n".encode()
