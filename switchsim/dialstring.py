"""Dial-string parser: ``,`` ``|`` ``:_:`` and the ``<>`` ``{}`` ``[]`` variable scopes.

Pure functions. Follows ``switch_ivr_originate.c``: ``<...>`` (enterprise-global) only at the
very start, ``{...}`` at the start of each ``:_:`` branch (and, leniently, of each ``|`` group),
``[...]`` before a leg. Inside a block variables are separated by ``,`` (or by the character
after ``^^``, e.g. ``{^^:a=1,2:b=3}``); a backslash escapes the separator (``\\,``) and single
quotes protect a value. A ``,`` group holds at most :data:`MAX_PEERS` legs: like
``switch_separate_string`` the last one then keeps the unsplit rest, which is not a valid
target (see :attr:`Leg.overflow`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_PEERS = 128
ENTERPRISE_DELIM = ":_:"
_OPEN = {"{": "}", "[": "]", "<": ">"}
_NESTING = re.compile(r"[\\'{\[<]")
"""Characters that make ``split_top`` walk the text: escapes, quotes, openers."""


class DialStringError(ValueError):
    """The dial string cannot be parsed (unbalanced brackets, nothing to dial)."""


@dataclass(frozen=True)
class Leg:
    """One endpoint to ring, with its effective variables (enterprise < global < local)."""

    target: str
    variables: dict[str, str] = field(default_factory=dict)
    local: dict[str, str] = field(default_factory=dict)
    overflow: bool = False


@dataclass(frozen=True)
class Branch:
    """One enterprise branch: ``|``-separated groups of ``,``-separated legs."""

    variables: dict[str, str]
    groups: list[list[Leg]]


@dataclass(frozen=True)
class DialString:
    """A parsed dial string."""

    text: str
    enterprise_vars: dict[str, str]
    branches: list[Branch]

    @property
    def is_enterprise(self) -> bool:
        """True when the string used ``:_:`` (each branch rings in its own thread)."""
        return len(self.branches) > 1

    def legs(self) -> list[Leg]:
        """Every leg in dial order."""
        return [leg for b in self.branches for g in b.groups for leg in g]


def split_top(text: str, delim: str, limit: int | None = None) -> list[str]:
    """Split on ``delim`` outside brackets and quotes and not escaped by a backslash."""
    if _NESTING.search(text) is None:  # nothing nested or escaped: a plain split
        return text.split(delim, -1 if limit is None else limit - 1)
    return _split_walk(text, delim, limit)


def _split_walk(text: str, delim: str, limit: int | None = None) -> list[str]:
    """``split_top`` for any text: jumps from one escape, quote, bracket or ``delim`` to the
    next (the text between them is copied as is)."""
    parts: list[str] = []
    depth = 0
    quote = False
    start = 0
    for match in _walk_pattern(delim).finditer(text):
        token = match.group()
        if token == "'":
            quote = not quote
        elif quote or token[0] == "\\":
            continue
        elif token in _OPEN:
            depth += 1
        elif token in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0:  # the delimiter
            if limit is not None and len(parts) == limit - 1:
                break
            parts.append(text[start : match.start()])
            start = match.end()
    parts.append(text[start:])
    return parts


_CLOSE = frozenset(_OPEN.values())
_WALK: dict[str, re.Pattern[str]] = {}


def _walk_pattern(delim: str) -> re.Pattern[str]:
    pattern = _WALK.get(delim)
    if pattern is None:
        pattern = _WALK[delim] = re.compile(r"\\.|'|[{}\[\]<>]|" + re.escape(delim), re.S)
    return pattern


def take_block(text: str) -> tuple[str | None, str]:
    """If ``text`` starts with ``{`` ``[`` or ``<``, return (inside, rest); else (None, text)."""
    if not text or text[0] not in _OPEN:
        return None, text
    opener, closer = text[0], _OPEN[text[0]]
    depth = 0
    quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "'":
            quote = not quote
        elif not quote:
            if ch == opener:
                depth += 1
            elif ch == closer:
                depth -= 1
                if depth == 0:
                    return text[1:i], text[i + 1 :]
        i += 1
    raise DialStringError(f"unbalanced {opener!r} in dial string: {text!r}")


def parse_vars(block: str) -> dict[str, str]:
    """Variables of one ``{}``/``[]``/``<>`` block, with FreeSWITCH's escaping rules."""
    sep = ","
    if block.startswith("^^") and len(block) >= 3:
        sep, block = block[2], block[3:]
    out: dict[str, str] = {}
    for item in split_top(block, sep):
        if not item.strip():
            continue
        name, eq, value = item.partition("=")
        if not eq:
            raise DialStringError(f"variable without '=' in block: {item!r}")
        value = _unescape(value.strip())
        if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
            value = value[1:-1]
        out[name.strip()] = value
    return out


def _unescape(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        out.append(value[i])
        i += 1
    return "".join(out)


def parse(text: str) -> DialString:
    """Parse a dial string (the argument of ``bridge`` or ``originate``)."""
    rest = text.strip()
    ent_vars: dict[str, str] = {}
    if rest.startswith("<"):
        inside, rest = take_block(rest)
        ent_vars = parse_vars(inside or "")
    branches: list[Branch] = []
    for raw_branch in split_top(rest, ENTERPRISE_DELIM):
        branch_text = raw_branch.strip()
        gvars: dict[str, str] = {}
        if branch_text.startswith("{"):
            inside, branch_text = take_block(branch_text)
            gvars = parse_vars(inside or "")
        groups: list[list[Leg]] = []
        for raw_group in split_top(branch_text, "|"):
            group_text = raw_group.strip()
            group_vars = dict(gvars)
            if group_text.startswith("{"):
                inside, group_text = take_block(group_text)
                group_vars.update(parse_vars(inside or ""))
            legs: list[Leg] = []
            pieces = split_top(group_text, ",", limit=MAX_PEERS)
            for index, raw_leg in enumerate(pieces):
                leg_text = raw_leg.strip()
                local: dict[str, str] = {}
                if leg_text.startswith("["):
                    inside, leg_text = take_block(leg_text)
                    local = parse_vars(inside or "")
                leg_text = leg_text.strip()
                if not leg_text:
                    continue
                overflow = index == MAX_PEERS - 1 and len(split_top(leg_text, ",")) > 1
                merged = {**ent_vars, **group_vars, **local}
                legs.append(Leg(target=leg_text, variables=merged, local=local, overflow=overflow))
            if legs:
                groups.append(legs)
        if groups:
            branches.append(Branch(variables={**ent_vars, **gvars}, groups=groups))
    if not branches:
        raise DialStringError(f"nothing to dial in {text!r}")
    return DialString(text=text, enterprise_vars=ent_vars, branches=branches)
