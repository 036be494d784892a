"""SIP registrations of users, and the CUSTOM sofia::* events that report them."""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

from switchsim.events import custom_event

if TYPE_CHECKING:
    from switchsim.switch import Switch


class Registrations:
    """Who is registered where. Users never set explicitly count as registered unless their
    ``user/`` endpoint behaviour is ``unregistered``."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self._state: dict[tuple[str, str], tuple[bool, str]] = {}

    def set(self, user: str, domain: str, registered: bool, contact: str | None = None) -> None:
        """Register or unregister ``user@domain``; fires ``sofia::register``/``unregister``."""
        key = (user.lower(), domain.lower())
        contact = contact or f"sip:{user}@192.0.2.10:5060"
        self._state[key] = (registered, contact)
        subclass = "sofia::register" if registered else "sofia::unregister"
        fields = [
            ("profile-name", "internal"),
            ("from-user", user),
            ("from-host", domain),
            ("presence-hosts", domain),
            ("contact", f'"{user}" <{contact}>'),
            ("call-id", str(uuidlib.uuid4())),
            ("rpid", "unknown"),
            ("status", "Registered(UDP)" if registered else "Unregistered(UDP)"),
            ("expires", "3600" if registered else "0"),
            ("to-user", user),
            ("to-host", domain),
            ("network-ip", "192.0.2.10"),
            ("network-port", "5060"),
            ("username", user),
            ("realm", domain),
            ("user-agent", "switchsim"),
        ]
        self.switch.publish(custom_event(self.switch, subclass, fields))

    def expire(self, user: str, domain: str) -> None:
        """Let a registration expire; fires ``sofia::expire``."""
        key = (user.lower(), domain.lower())
        contact = self._state.get(key, (False, ""))[1]
        self._state[key] = (False, contact)
        fields = [
            ("profile-name", "internal"),
            ("call-id", str(uuidlib.uuid4())),
            ("user", user),
            ("host", domain),
            ("contact", contact),
            ("expires", "0"),
            ("user-agent", "switchsim"),
        ]
        self.switch.publish(custom_event(self.switch, "sofia::expire", fields))

    def is_registered(self, user: str, domain: str) -> bool:
        """Explicit registration state if set, else True unless the endpoint is unregistered."""
        state = self._state.get((user.lower(), domain.lower()))
        if state is not None:
            return state[0]
        return self.switch.endpoints.get(f"user/{user}@{domain}").kind != "unregistered"

    def contact(self, user: str, domain: str) -> str | None:
        """The registered contact (``sofia_contact``), or None when not registered."""
        if not self.is_registered(user, domain):
            return None
        state = self._state.get((user.lower(), domain.lower()))
        uri = state[1] if state else f"sip:{user}@192.0.2.10:5060"
        return f"sofia/internal/{uri}"
