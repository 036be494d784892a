"""Dial strings: every strategy's layout, timers, and inert caller-controlled values."""

import re

import pytest

from controller.dialstring import build_dial_string, escape_value, ring_budget
from controller.errors import DialStringError, PlanError
from controller.plan import BridgeStep, CallerId, Leg, parse_step

CALL = "b75234f1-689a-4787-b60b-b32eefdf1072"
U1 = "11111111-1111-4111-8111-111111111111"
U2 = "22222222-2222-4222-8222-222222222222"


def step(strategy: str, **kw: object) -> BridgeStep:
    legs = (
        Leg("user/1001@example.com", delay=0, timeout=20),
        Leg("user/1002@example.com", delay=5, timeout=15),
    )
    return BridgeStep(strategy=strategy, timeout=30, legs=legs, **kw)  # type: ignore[arg-type]


def split_top(dial: str, delim: str) -> list[str]:
    """Split on a delimiter outside brackets, honouring backslash escapes (like FreeSWITCH)."""
    parts, depth, cur, i = [], 0, "", 0
    while i < len(dial):
        ch = dial[i]
        if ch == "\\":
            cur += dial[i : i + 2]
            i += 2
            continue
        if ch in "{[<":
            depth += 1
        elif ch in "}]>":
            depth -= 1
        if depth == 0 and dial.startswith(delim, i):
            parts.append(cur)
            cur, i = "", i + len(delim)
            continue
        cur += ch
        i += 1
    return parts + [cur]


def fs_expand_escapes(text: str) -> str:
    """The backslash handling of FreeSWITCH's variable expansion (switch_channel.c), which
    runs on every application argument before the dial string is split: ``\\$`` gives
    ``$``, ``\\\\`` gives one backslash, ``\\'`` drops the backslash; others stay."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "$\\'":
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def parse_vars(block: str) -> dict[str, str]:
    """``a=1,b=x\\,y`` the way FreeSWITCH splits a variable block: a backslash escapes
    the next character (itself included), an unescaped comma separates variables."""
    items, cur, i = [], "", 0
    while i < len(block):
        if block[i] == "\\" and i + 1 < len(block):
            cur += block[i + 1]
            i += 2
            continue
        if block[i] == ",":
            items.append(cur)
            cur = ""
        else:
            cur += block[i]
        i += 1
    items.append(cur)
    return dict(item.partition("=")[::2] for item in items)


def test_simultaneous_layout() -> None:
    dial = build_dial_string(step("simultaneous"), CallerId("Alice", "+4917012345"), CALL, [U1, U2])
    assert dial == (
        "{ignore_early_media=true,origination_caller_id_name=Alice,"
        "origination_caller_id_number=+4917012345,sip_h_X-Huntsman-Call=" + CALL + ","
        "originate_timeout=30}"
        f"[origination_uuid={U1},leg_timeout=20,leg_delay_start=0]user/1001@example.com,"
        f"[origination_uuid={U2},leg_timeout=15,leg_delay_start=5]user/1002@example.com"
    )


def test_sequential_layout() -> None:
    dial = build_dial_string(step("sequential"), CallerId(), CALL, [U1, U2])
    assert dial.startswith("{ignore_early_media=true,sip_h_X-Huntsman-Call=" + CALL + "}[")
    assert "originate_timeout" not in dial
    legs = split_top(dial.split("}", 1)[1], "|")
    assert [leg.rsplit("]", 1)[1] for leg in legs] == [
        "user/1001@example.com",
        "user/1002@example.com",
    ]


def test_enterprise_layout() -> None:
    dial = build_dial_string(step("enterprise"), CallerId("A", "1001"), CALL, [U1, U2])
    assert dial.startswith("<ignore_early_media=true,")
    assert ",originate_timeout=30>" in dial
    parts = split_top(dial.split(">", 1)[1], ":_:")
    assert parts == [
        f"{{origination_uuid={U1},originate_timeout=20,originate_delay_start=0}}user/1001@example.com",
        f"{{origination_uuid={U2},originate_timeout=15,originate_delay_start=5}}user/1002@example.com",
    ]
    assert "leg_timeout" not in dial


def test_step_and_leg_variables_are_added() -> None:
    s = BridgeStep(
        strategy="simultaneous",
        timeout=30,
        legs=(Leg("user/1001@example.com", variables={"sip_h_X-Member": "5"}),),
        variables={"ignore_early_media": "ring_ready", "instant_ringback": "true"},
    )
    dial = build_dial_string(s, CallerId(), CALL, [U1])
    glob = parse_vars(dial[1 : dial.index("}")])
    assert glob["ignore_early_media"] == "ring_ready"
    assert glob["instant_ringback"] == "true"
    assert "sip_h_X-Member=5]" in dial


NASTY = [
    pytest.param("${system(id)}", id="api-expansion"),
    pytest.param("${bg_system(touch /tmp/x)}", id="bg-system"),
    pytest.param("$${hostname}", id="global-var"),
    pytest.param("${expr(1+1)}", id="expr"),
    pytest.param("Doe, John", id="comma"),
    pytest.param("a|b", id="pipe"),
    pytest.param("x}[leg_timeout=1]user/666@evil.example,{a=b", id="braces"),
    pytest.param("a:_:user/666@evil.example", id="enterprise-delim"),
    pytest.param("^^:a=b:c=d", id="delimiter-switch"),
    pytest.param("<x=y>", id="angle"),
    pytest.param('O\'Brien "Bob"', id="quotes"),
    pytest.param("Bob\n\napi system touch /tmp/pwned", id="newlines"),
    pytest.param("back\\slash,", id="backslash"),
    pytest.param("a\\,x=y", id="backslash-comma"),
    pytest.param("a\\\\,x=y\\", id="double-backslash-comma"),
    pytest.param("a\\$${hostname}", id="backslash-dollar"),
    pytest.param("x" * 70000, id="64k"),
]


@pytest.mark.parametrize("name", NASTY)
@pytest.mark.parametrize("strategy", ["simultaneous", "sequential", "enterprise"])
def test_caller_name_stays_one_inert_value(name: str, strategy: str) -> None:
    dial = build_dial_string(step(strategy), CallerId(name, "+4917012345"), CALL, [U1, U2])
    dial = fs_expand_escapes(dial)  # what the originate parser sees after expansion
    delim = {"simultaneous": ",", "sequential": "|", "enterprise": ":_:"}[strategy]
    close = ">" if strategy == "enterprise" else "}"
    glob_end = split_top(dial, close)[0]  # up to the first unescaped closing bracket
    legs = split_top(dial[len(glob_end) + 1 :], delim)
    assert len(legs) == 2
    assert [leg.rsplit("]", 1)[-1].rsplit("}", 1)[-1] for leg in legs] == [
        "user/1001@example.com",
        "user/1002@example.com",
    ]
    glob = parse_vars(glob_end[1:])
    assert set(glob) == {
        "ignore_early_media",
        "origination_caller_id_name",
        "origination_caller_id_number",
        "sip_h_X-Huntsman-Call",
    } | ({"originate_timeout"} if strategy != "sequential" else set())
    value = glob["origination_caller_id_name"]
    assert "\n" not in value and len(value) <= 256
    assert not re.search(r"(?<!\\)\$\{", glob_end)  # no unescaped ${ reaches FreeSWITCH
    assert dial.count(":_:") == (1 if strategy == "enterprise" else 0)


def test_escape_value_keeps_text_readable() -> None:
    assert escape_value("Doe, John") == "Doe\\, John"
    assert escape_value("${system(id)}") == "$ system(id)"
    assert escape_value('O\'Brien "Bob"') == "O\u2019Brien \u201dBob\u201d"
    assert escape_value("a\\,evil=1") == "a \\,evil=1"  # no backslash can pair with ours
    assert escape_value("a\x00b\r\nc") == "abc"
    assert ":_:" not in escape_value("a:_:b")


@pytest.mark.parametrize(
    "number",
    [
        "1001,sofia/gateway/intl/0088213000000",
        "1001|user/2",
        "+1 (555) 123-4567",
        "\uff0b\uff11",
        "${system(id)}",
        "1234567890123456",
    ],
)
def test_invalid_caller_number_is_left_out(number: str) -> None:
    dial = build_dial_string(step("simultaneous"), CallerId("A", number), CALL, [U1, U2])
    assert "origination_caller_id_number" not in dial


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("user/1001@example.com,sofia/gateway/intl/0088213000000", id="comma"),
        pytest.param("user/1001@example.com|user/2@x", id="pipe"),
        pytest.param("{origination_caller_id_number=1}user/1@x", id="vars"),
        pytest.param("user/1001@example.com:_:user/2@x", id="enterprise"),
        pytest.param("user/${system(id)}@x", id="expansion"),
        pytest.param("sofia/gateway/intl/0088213000000;fs_path=x", id="params"),
        pytest.param("", id="empty"),
        pytest.param("user/1001@example.com\n", id="newline"),
    ],
)
def test_bad_targets_are_refused(target: str) -> None:
    s = BridgeStep(strategy="simultaneous", timeout=30, legs=(Leg(target),))
    with pytest.raises(DialStringError):
        build_dial_string(s, CallerId(), CALL, [U1])


@pytest.mark.parametrize(
    "name", ["a,b", "a=b", "leg_timeout", "origination_uuid", "x}y", "sip_h_X-Huntsman-Call", ""]
)
def test_bad_or_reserved_variable_names_are_refused(name: str) -> None:
    s = BridgeStep(
        strategy="simultaneous",
        timeout=30,
        legs=(Leg("user/1@example.com"),),
        variables={name: "1"},
    )
    with pytest.raises(DialStringError):
        build_dial_string(s, CallerId(), CALL, [U1])


def test_more_than_128_legs_is_refused() -> None:
    legs = tuple(Leg(f"user/{1000 + i}@example.com") for i in range(129))
    s = BridgeStep(strategy="simultaneous", timeout=30, legs=legs)
    with pytest.raises(DialStringError):
        build_dial_string(s, CallerId(), CALL, [U1] * 129)
    raw = {
        "type": "bridge",
        "strategy": "simultaneous",
        "timeout": 30,
        "legs": [{"target": f"user/{i}@example.com"} for i in range(129)],
    }
    with pytest.raises(PlanError):
        parse_step(raw)


def test_exactly_128_legs_is_fine() -> None:
    legs = tuple(Leg(f"user/{1000 + i}@example.com") for i in range(128))
    uuids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(128)]
    dial = build_dial_string(BridgeStep("simultaneous", 30, legs), CallerId(), CALL, uuids)
    assert dial.count("user/") == 128


def test_ring_budget() -> None:
    assert ring_budget(step("simultaneous")) == 30
    assert ring_budget(step("sequential")) == 40
    assert ring_budget(step("enterprise")) == 30
