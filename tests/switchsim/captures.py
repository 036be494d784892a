"""Reading the FreeSWITCH captures and normalising per-run values for comparison."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[2]
CAPTURES = Path(os.environ.get("HUNTSMAN_CAPTURES", REPO.parent / "shared" / "freeswitch-captures"))

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Variables whose values the controller reads; compared exactly (after UUID normalisation).
SEMANTIC_VARS = (
    "originate_disposition",
    "DIALSTATUS",
    "originate_causes",
    "originated_legs",
    "last_bridge_hangup_cause",
    "bridge_hangup_cause",
    "originate_failed_cause",
    "hangup_cause",
    "continue_on_fail",
    "endpoint_disposition",
    "current_application",
    "last_bridge_role",
)


@dataclass
class Message:
    """One ESL message: outer headers, body, and for events the event's own headers."""

    headers: list[tuple[str, str]]
    body: str

    @property
    def content_type(self) -> str:
        return dict(self.headers).get("Content-Type", "")

    def event_headers(self) -> list[tuple[str, str]]:
        """Headers of an event (plain: URL-decoded; json: as given)."""
        if self.content_type == "text/event-json":
            data = json.loads(self.body)
            return [(k, v) for k, v in data.items() if k != "_body"]
        head = self.body.split("\n\n", 1)[0]
        out = []
        for line in head.split("\n"):
            if ": " in line:
                k, v = line.split(": ", 1)
                out.append((k, unquote(v)))
        return out


class MessageParser:
    """Incremental parser of switch -> controller bytes."""

    def __init__(self) -> None:
        self.buf = b""
        self.messages: list[Message] = []

    def feed(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\n\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            headers = [
                tuple(line.split(": ", 1)) if ": " in line else (line, "")
                for line in head.split("\n")
            ]
            length = int(dict(headers).get("Content-Length", "0") or 0)
            if len(self.buf) < end + 2 + length:
                return
            body = self.buf[end + 2 : end + 2 + length].decode("utf-8", "replace")
            self.buf = self.buf[end + 2 + length :]
            self.messages.append(Message(headers=headers, body=body))  # type: ignore[arg-type]


@dataclass
class Capture:
    """A recorded session: chunks in order (``send``/``recv``/``note``)."""

    name: str
    chunks: list[tuple[str, bytes]]

    def sends(self) -> list[bytes]:
        return [data for d, data in self.chunks if d == "send"]

    def received(self) -> list[Message]:
        parser = MessageParser()
        for d, data in self.chunks:
            if d == "recv":
                parser.feed(data)
        return parser.messages

    def expected_before_each_send(self) -> list[int]:
        """How many messages had arrived before each send chunk."""
        parser = MessageParser()
        counts = []
        for d, data in self.chunks:
            if d == "recv":
                parser.feed(data)
            elif d == "send":
                counts.append(len(parser.messages))
        return counts


def load(name: str) -> Capture:
    chunks = []
    with open(CAPTURES / f"{name}.jsonl", encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            if obj["dir"] in ("send", "recv"):
                chunks.append((obj["dir"], obj["data"].encode("latin-1")))
    return Capture(name=name, chunks=chunks)


class Normaliser:
    """Replaces per-run values, explicitly and narrowly.

    - UUIDs become ``<uuid:N>`` numbered by first appearance (so the same UUID must recur
      in the same places);
    - timestamps: ``Event-Date-*`` and ``*-Time``/``*-Hold*`` headers become ``<time>`` unless 0;
    - ``Event-Sequence`` becomes ``<seq>``.
    """

    TIME_HEADERS = re.compile(r"^(Event-Date-.*|.*-Time|.*-Last-Hold|.*-Hold-Accum)$")

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def uuid(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            return self.ids.setdefault(m.group(0), f"<uuid:{len(self.ids)}>")

        return UUID_RE.sub(sub, text)

    def body(self, text: str) -> str:
        """A body: UUIDs normalised; in ``status`` output (it starts with ``UP ``) every
        number is per-run (uptime, session counts, idle CPU)."""
        if text.startswith("UP "):
            return re.sub(r"\d+(\.\d+)?", "<n>", re.sub(r"(\d+ \w+?)s?(,|\n)", r"\1\2", text))
        return self.uuid(text)

    def header(self, name: str, value: str) -> tuple[str, str]:
        if name == "Content-Length":
            return name, "<len>"
        if name == "Event-Sequence":
            return name, "<seq>"
        if self.TIME_HEADERS.match(name):
            return name, value if value == "0" else "<time>"
        return name, self.uuid(value)
