"""FreeSWITCH's URL encoding of event header values (``switch_url_encode``)."""

from __future__ import annotations

import re
from urllib.parse import unquote

_UNSAFE = '\r\n #%&+:;<=>?@[\\]^`{|}"'
_HEX = frozenset("0123456789abcdefABCDEF")
# ASCII fast path: control characters, DEL and the unsafe set (``%`` is handled apart).
_TABLE = {i: f"%{i:02X}" for i in range(0x20)}
_TABLE[0x7F] = "%7F"
_TABLE.update({ord(c): f"%{ord(c):02X}" for c in _UNSAFE if c != "%"})
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NOTHING_TO_ENCODE = re.compile(r"[A-Za-z0-9!$'()*,./_~-]*")
"""Printable ASCII outside ``_UNSAFE`` (the common case: numbers, UUIDs, names)."""


def url_encode(value: str) -> str:
    """Encode ``value`` the way FreeSWITCH serialises plain events.

    Bytes outside printable ASCII and the characters of ``SWITCH_URL_UNSAFE`` become ``%XX``;
    a ``%`` already followed by two hex digits is kept (no double encoding), as in 1.10.
    """
    if value.isascii():
        if _NOTHING_TO_ENCODE.fullmatch(value):
            return value
        if "%" in value:
            value = _LONE_PERCENT.sub("%25", value)
        return value.translate(_TABLE)
    data = value.encode("utf-8")
    out: list[str] = []
    n = len(data)
    for i, byte in enumerate(data):
        ch = chr(byte)
        if ch == "%" and i + 2 < n and chr(data[i + 1]) in _HEX and chr(data[i + 2]) in _HEX:
            out.append(ch)
        elif byte < 0x20 or byte > 0x7E or ch in _UNSAFE:
            out.append(f"%{byte:02X}")
        else:
            out.append(ch)
    return "".join(out)


_LINES: dict[tuple[str, str], str] = {}
_LINES_MAX = 100_000


def encoded_line(header: tuple[str, str]) -> str:
    """``"Key: <url_encode(value)>\\n"`` for one header, memoised.

    Events repeat most of their headers (profile, variables, codecs) from one event to the
    next, so each distinct (key, value) pair is encoded once; the memo is dropped when it
    grows past ``_LINES_MAX`` entries, which bounds its memory.
    """
    line = _LINES.get(header)
    if line is None:
        if len(_LINES) >= _LINES_MAX:
            _LINES.clear()
        line = _LINES[header] = f"{header[0]}: {url_encode(header[1])}\n"
    return line


def url_decode(value: str) -> str:
    """Inverse of :func:`url_encode` (``%XX`` sequences back to bytes, UTF-8)."""
    return unquote(value)
