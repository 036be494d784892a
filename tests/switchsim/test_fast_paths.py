"""The emulator's fast paths give exactly what the straightforward code gives."""

from __future__ import annotations

import random

import gevent.event
import pytest

from switchsim.call import Call
from switchsim.channel import Channel, Profile
from switchsim.dialstring import _split_walk, split_top
from switchsim.events import Event, channel_event
from switchsim.frames import event_frame, serialize_plain
from switchsim.switch import Switch
from switchsim.urlcode import encoded_line, url_encode
from switchsim.variables import VarList

OPEN = {"{": "}", "[": "]", "<": ">"}


def split_by_chars(text: str, delim: str, limit: int | None = None) -> list[str]:
    """The original character-by-character ``split_top``: the oracle."""
    parts: list[str] = []
    depth = 0
    quote = False
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == "'":
            quote = not quote
        elif not quote:
            if ch in OPEN:
                depth += 1
            elif ch in OPEN.values() and depth > 0:
                depth -= 1
            elif depth == 0 and text.startswith(delim, i):
                if limit is not None and len(parts) == limit - 1:
                    cur.append(text[i:])
                    break
                parts.append("".join(cur))
                cur = []
                i += len(delim)
                continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("user/1001@a,user/1002@a", id="plain-commas"),
        pytest.param("a:_:b:_:c", id="enterprise"),
        pytest.param("a|b|c,d", id="pipes"),
        pytest.param("{x=1,y=2}user/1,[z=3]user/2", id="nested"),
        pytest.param("a\\,b,c", id="escaped"),
        pytest.param("'a,b',c", id="quoted"),
        pytest.param(",,", id="only-delims"),
    ],
)
@pytest.mark.parametrize("delim", [",", "|", ":_:"])
@pytest.mark.parametrize("limit", [None, 1, 2])
def test_split_top_matches_the_walk(text: str, delim: str, limit: int | None) -> None:
    expected = split_by_chars(text, delim, limit)
    assert split_top(text, delim, limit) == expected
    assert _split_walk(text, delim, limit) == expected


def test_split_walk_matches_the_oracle_on_random_text() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice("ab,|:_\\'{}[]<>") for _ in range(rng.randint(0, 24)))
        for delim in (",", "|", ":_:"):
            for limit in (None, 1, 2, 3):
                assert _split_walk(text, delim, limit) == split_by_chars(text, delim, limit), text


@pytest.mark.parametrize(
    "value",
    ["plain", "a b:c", "100%", "%41 stays", "Zoë \u202e", "line\nbreak", ""],
)
def test_encoded_line_is_the_url_encoded_header(value: str) -> None:
    assert encoded_line(("Key", value)) == f"Key: {url_encode(value)}\n"
    assert encoded_line(("Key", value)) == f"Key: {url_encode(value)}\n"  # memoised


def test_serialize_plain_is_every_header_encoded_in_order() -> None:
    headers = [("Event-Name", "CHANNEL_ANSWER"), ("variable_x", "a b"), ("Event-Name", "x")]
    expected = "".join(f"{k}: {url_encode(v)}\n" for k, v in headers) + "\n"
    assert serialize_plain(headers) == expected


def test_var_headers_follow_every_change() -> None:
    v = VarList()
    v.update({"a": "1", "b": "2"})
    assert v.headers() == (("variable_a", "1"), ("variable_b", "2"))
    v.set("a", "3")  # re-set moves to the end
    assert v.headers() == (("variable_b", "2"), ("variable_a", "3"))
    v.delete("b")
    v.set("c", None)
    assert v.headers() == (("variable_a", "3"),)
    assert v.headers() == tuple((f"variable_{k}", val) for k, val in v)


def _channel(profile: str = "full") -> Channel:
    sw = Switch(event_profile=profile)
    chan = Channel(switch=sw, name="sofia/internal/1001@a", profile=Profile(caller_id_name="A B"))
    chan.vars.update({"x": "a b:c", "y": "Zoë %41 \n", "z": "plain"})
    chan.vars.set("x", "moved to the end")
    return chan


@pytest.mark.parametrize("name", ["CHANNEL_PARK", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"])
def test_channel_event_text_is_its_headers_encoded(name: str) -> None:
    event = channel_event(_channel(), name, pre=[("Pre", "a b")], post=[("Post", "%zz")])
    assert event.plain == "".join(f"{k}: {url_encode(v)}\n" for k, v in event.headers)
    assert event_frame(event.headers, None, "plain", event.plain) == event_frame(event.headers)
    assert [k for k, _ in event.headers][-4:] == [
        "variable_y",
        "variable_z",
        "variable_x",
        "Post",
    ]


@pytest.mark.parametrize(
    ("name", "keeps_variables"),
    [
        pytest.param("CHANNEL_PARK", False, id="park-thinned"),
        pytest.param("CHANNEL_EXECUTE", False, id="execute-thinned"),
        pytest.param("CHANNEL_EXECUTE_COMPLETE", True, id="execute-complete-kept"),
        pytest.param("CHANNEL_HANGUP_COMPLETE", True, id="hangup-complete-kept"),
    ],
)
def test_fast_profile_drops_only_the_variables_of_other_events(
    name: str, keeps_variables: bool
) -> None:
    full = channel_event(_channel("full"), name)
    fast = channel_event(_channel("fast"), name)
    strip = [(k, v) for k, v in full.headers if not k.startswith("variable_")]
    if keeps_variables:
        assert names(fast) == names(full)
    else:
        assert names(fast) == [k for k, _ in strip if k not in _CHANGING]
    assert fast.plain == "".join(f"{k}: {url_encode(v)}\n" for k, v in fast.headers)


_CHANGING = {"Event-Sequence", "Event-Date-Timestamp"}


def names(event: Event) -> list[str]:
    """Header names, without those that differ between two events built in a row."""
    return [k for k, _ in event.headers if k not in _CHANGING]


def test_unknown_event_profile_is_refused() -> None:
    with pytest.raises(ValueError):
        Switch(event_profile="lean")


def url_encode_bytewise(value: str) -> str:
    """FreeSWITCH's encoding byte by byte: the oracle of ``url_encode``'s fast paths."""
    data = value.encode("utf-8")
    out = []
    for i, byte in enumerate(data):
        ch = chr(byte)
        hex2 = data[i + 1 : i + 3]
        if ch == "%" and len(hex2) == 2 and all(chr(b) in "0123456789abcdefABCDEF" for b in hex2):
            out.append(ch)
        elif byte < 0x20 or byte > 0x7E or ch in '\r\n #%&+:;<=>?@[\\]^`{|}"':
            out.append(f"%{byte:02X}")
        else:
            out.append(ch)
    return "".join(out)


def test_url_encode_matches_the_bytewise_oracle() -> None:
    rng = random.Random(11)
    alphabet = [chr(c) for c in range(0x80)] + ["%41", "%4", "é", "\u202e"]
    samples = [chr(c) for c in range(0x80)]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(5000)
    ]
    for value in samples:
        assert url_encode(value) == url_encode_bytewise(value), repr(value)


def test_profile_headers_are_the_prefixed_fields() -> None:
    chan = _channel()
    chan.profile.callee_id_number = ""  # empty fields are left out
    headers = chan.profile_headers("Other-Leg", with_index=False)
    names = [k for k, _ in headers]
    assert names[0] == "Other-Leg-Direction" and "Other-Leg-Profile-Index" not in names
    assert "Other-Leg-Callee-ID-Number" not in names
    assert dict(headers)["Other-Leg-Caller-ID-Name"] == "A B"
    assert dict(chan.profile_headers())["Caller-Profile-Index"] == "1"
    assert dict(headers)["Other-Leg-Channel-Created-Time"] == str(chan.times["created"])


def test_profile_block_follows_the_channel_times() -> None:
    chan = _channel()
    before = channel_event(chan, "CHANNEL_PROGRESS")
    chan.times["answered"] = 1_700_000_000_000_000
    after = channel_event(chan, "CHANNEL_ANSWER")
    assert dict(before.headers)["Caller-Channel-Answered-Time"] == "0"
    assert dict(after.headers)["Caller-Channel-Answered-Time"] == "1700000000000000"
    assert "Caller-Channel-Answered-Time: 1700000000000000\n" in (after.plain or "")


def test_update_is_set_in_order() -> None:
    a, b = VarList(), VarList()
    pairs = {"x": "1", "y": "2", "x2": "3"}
    a.update({"y": "0", "gone": "1"})
    b.set("y", "0")
    b.set("gone", "1")
    a.update({**pairs, "gone": None})  # type: ignore[dict-item]
    for name, value in {**pairs, "gone": None}.items():
        b.set(name, value)
    assert list(a) == list(b) and a.block() == b.block()


def test_forget_finished_keeps_only_live_calls() -> None:
    sw = Switch()
    live, ended = object.__new__(Call), object.__new__(Call)
    live.done, ended.done = gevent.event.Event(), gevent.event.Event()
    ended.done.set()
    sw.calls = [ended, live]
    assert sw.forget_finished() == 1 and sw.calls == [live]
