"""Channel variables with FreeSWITCH's ordering: setting a variable moves it to the end."""

from __future__ import annotations

from collections.abc import Iterator


class VarList:
    """Ordered channel variables.

    FreeSWITCH keeps variables in a ``switch_event``; ``switch_channel_set_variable`` deletes
    the old header and appends a new one, so a re-set variable moves to the end. Events list
    them in that order as ``variable_<name>``.
    """

    def __init__(self) -> None:
        self._vars: dict[str, str] = {}

    def set(self, name: str, value: str | None) -> None:
        """Set (and move to the end), or delete when ``value`` is None."""
        self._vars.pop(name, None)
        if value is not None:
            self._vars[name] = str(value)

    def update(self, pairs: dict[str, str]) -> None:
        """Set several variables in order."""
        for name, value in pairs.items():
            self.set(name, value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value or ``default``."""
        return self._vars.get(name, default)

    def delete(self, name: str) -> None:
        """Remove a variable if present."""
        self._vars.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._vars

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._vars.items()))

    def as_dict(self) -> dict[str, str]:
        """A copy as a plain dict."""
        return dict(self._vars)
