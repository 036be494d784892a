"""Dial-string parser: delimiters, variable scopes and FreeSWITCH's escaping rules."""

from __future__ import annotations

import pytest

from switchsim.dialstring import MAX_PEERS, DialStringError, parse


def targets(text: str) -> list[list[list[str]]]:
    d = parse(text)
    return [[[leg.target for leg in g] for g in b.groups] for b in d.branches]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("user/1001@d", [[["user/1001@d"]]], id="single"),
        pytest.param("user/1@d,user/2@d", [[["user/1@d", "user/2@d"]]], id="comma-simultaneous"),
        pytest.param("user/1@d|user/2@d", [[["user/1@d"], ["user/2@d"]]], id="pipe-sequential"),
        pytest.param(
            "user/1@d,user/2@d|user/3@d",
            [[["user/1@d", "user/2@d"], ["user/3@d"]]],
            id="comma-then-pipe",
        ),
        pytest.param(
            "user/1@d:_:user/2@d|user/3@d",
            [[["user/1@d"]], [["user/2@d"], ["user/3@d"]]],
            id="enterprise",
        ),
        pytest.param("user/1@d, ,user/2@d", [[["user/1@d", "user/2@d"]]], id="empty-leg-skipped"),
        pytest.param(
            "[a=1,b=2]user/1@d,[c=3]user/2@d",
            [[["user/1@d", "user/2@d"]]],
            id="commas-inside-brackets-do-not-split",
        ),
    ],
)
def test_delimiters(text: str, expected: list[list[list[str]]]) -> None:
    assert targets(text) == expected


def test_variable_scopes_merge_enterprise_then_global_then_local() -> None:
    d = parse("<x=ent,y=ent>{y=glob,z=glob}[z=local]user/1@d,user/2@d:_:{w=2}user/3@d")
    leg1, leg2 = d.branches[0].groups[0]
    assert leg1.variables == {"x": "ent", "y": "glob", "z": "local"}
    assert leg1.local == {"z": "local"}
    assert leg2.variables == {"x": "ent", "y": "glob", "z": "glob"}
    (leg3,) = d.branches[1].groups[0]
    assert leg3.variables == {"x": "ent", "y": "ent", "w": "2"}
    assert d.is_enterprise
    assert d.enterprise_vars == {"x": "ent", "y": "ent"}


def test_escaped_comma_stays_in_the_value() -> None:
    d = parse(r"{sip_h_X-List=a\,b\,c,leg_timeout=5}user/1@d")
    assert d.branches[0].groups[0][0].variables == {"sip_h_X-List": "a,b,c", "leg_timeout": "5"}


def test_custom_separator() -> None:
    d = parse("{^^:a=1,2:b=3}user/1@d")
    assert d.branches[0].groups[0][0].variables == {"a": "1,2", "b": "3"}


def test_single_quotes_protect_a_value() -> None:
    d = parse("{origination_caller_id_name='Smith, John'}user/1@d")
    assert d.legs()[0].variables["origination_caller_id_name"] == "Smith, John"


def test_pipe_and_comma_inside_variables_do_not_split() -> None:
    d = parse("{a=x|y}[b=1]user/1@d")
    assert [leg.target for leg in d.legs()] == ["user/1@d"]
    assert d.legs()[0].variables == {"a": "x|y", "b": "1"}


def test_more_than_max_peers_leaves_the_rest_in_the_last_leg() -> None:
    text = ",".join(f"user/{i}@d" for i in range(MAX_PEERS + 5))
    legs = parse(text).legs()
    assert len(legs) == MAX_PEERS
    assert not legs[MAX_PEERS - 2].overflow
    assert legs[-1].overflow
    assert legs[-1].target.startswith(f"user/{MAX_PEERS - 1}@d,")


def test_exactly_max_peers_is_fine() -> None:
    legs = parse(",".join(f"user/{i}@d" for i in range(MAX_PEERS))).legs()
    assert len(legs) == MAX_PEERS and not any(leg.overflow for leg in legs)


@pytest.mark.parametrize(
    "text",
    ["", "{a=1}", "{a=1user/1@d", "[x]user/1@d"],
    ids=["empty", "vars-only", "unbalanced", "no-equals"],
)
def test_errors(text: str) -> None:
    with pytest.raises(DialStringError):
        parse(text)
