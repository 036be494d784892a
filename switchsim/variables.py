"""Channel variables with FreeSWITCH's ordering: setting a variable moves it to the end."""

from __future__ import annotations

from collections.abc import Iterator

from switchsim.urlcode import encoded_line

Header = tuple[str, str]
_PENDING: Header = ("", "")


class VarList:
    """Ordered channel variables.

    FreeSWITCH keeps variables in a ``switch_event``; ``switch_channel_set_variable`` deletes
    the old header and appends a new one, so a re-set variable moves to the end. Events list
    them in that order as ``variable_<name>``.  Each variable keeps its header and its
    URL-encoded ``text/event-plain`` line once an event carried it: the channel's next
    events repeat them.
    """

    def __init__(self) -> None:
        self._vars: dict[str, str] = {}
        # The same order as _vars: each variable's header and its encoded line ("" until an
        # event needs it; the names set since then are in _unencoded).
        self._headers: dict[str, Header] = {}
        self._lines: dict[str, str] = {}
        self._unencoded: dict[str, None] = {}  # an ordered set
        self._block: tuple[tuple[Header, ...], str] | None = None

    def set(self, name: str, value: str | None) -> None:
        """Set (and move to the end), or delete when ``value`` is None."""
        self._block = None
        self._vars.pop(name, None)
        self._headers.pop(name, None)
        self._lines.pop(name, None)
        if value is not None:
            self._vars[name] = str(value)
            self._headers[name] = _PENDING  # header and line are made when first sent
            self._lines[name] = ""
            self._unencoded[name] = None

    def update(self, pairs: dict[str, str]) -> None:
        """Set several variables in order (``set`` inlined: channels get hundreds)."""
        self._block = None
        values, headers, lines, unencoded = self._vars, self._headers, self._lines, self._unencoded
        for name, value in pairs.items():
            values.pop(name, None)
            headers.pop(name, None)
            lines.pop(name, None)
            if value is not None:
                values[name] = str(value)
                headers[name] = _PENDING
                lines[name] = ""
                unencoded[name] = None

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value or ``default``."""
        return self._vars.get(name, default)

    def delete(self, name: str) -> None:
        """Remove a variable if present."""
        self.set(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._vars

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._vars.items()))

    def block(self) -> tuple[tuple[Header, ...], str]:
        """``variable_<name>`` headers in order and the same headers URL-encoded as
        ``text/event-plain`` lines (built once per change)."""
        if self._block is None:
            lines, headers, values = self._lines, self._headers, self._vars
            for name in self._unencoded:
                if name in values:
                    header = headers[name] = (f"variable_{name}", values[name])
                    lines[name] = encoded_line(header)  # memoised: most repeat across calls
            self._unencoded.clear()
            self._block = (tuple(self._headers.values()), "".join(lines.values()))
        return self._block

    def headers(self) -> tuple[Header, ...]:
        """``variable_<name>`` headers in order."""
        return self.block()[0]

    def as_dict(self) -> dict[str, str]:
        """A copy as a plain dict."""
        return dict(self._vars)
