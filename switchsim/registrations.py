"""SIP registrations of users, and the CUSTOM sofia::* events that report them."""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

from switchsim.events import custom_event

if TYPE_CHECKING:
    from switchsim.switch import Switch


EXPIRES = 3600
"""Registration lifetime (s) the simulated phones ask for."""


class Registrations:
    """Who is registered where. Users never set explicitly count as registered unless their
    ``user/`` endpoint behaviour is ``unregistered`` (dialling works without a directory), but
    only explicit registrations are listed by :meth:`rows` (``show registrations``)."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self._state: dict[tuple[str, str], tuple[bool, str]] = {}
        # (user, domain) as given, Call-ID, epoch second: for the registrations table
        self._bindings: dict[tuple[str, str], tuple[str, str, str, int]] = {}

    def set(self, user: str, domain: str, registered: bool, contact: str | None = None) -> None:
        """Register or unregister ``user@domain``; fires ``sofia::register``/``unregister``."""
        key = (user.lower(), domain.lower())
        contact = contact or f"sip:{user}@192.0.2.10:5060"
        self._state[key] = (registered, contact)
        call_id = str(uuidlib.uuid4())
        if registered:
            self._bindings[key] = (user, domain, call_id, int(self.switch.clock.epoch()))
        else:
            self._bindings.pop(key, None)
        subclass = "sofia::register" if registered else "sofia::unregister"
        fields = [
            ("profile-name", "internal"),
            ("from-user", user),
            ("from-host", domain),
            ("presence-hosts", domain),
            ("contact", f'"{user}" <{contact}>'),
            ("call-id", call_id),
            ("rpid", "unknown"),
            ("status", "Registered(UDP)" if registered else "Unregistered(UDP)"),
            ("expires", str(EXPIRES) if registered else "0"),
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
        self._bindings.pop(key, None)
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

    def rows(self) -> list[dict[str, str]]:
        """The core ``registrations`` table (sofia_reg.c, switch_core_add_registration):
        one row per explicit registration, in registration order."""
        rows = []
        for key, (user, domain, call_id, since) in self._bindings.items():
            contact = self._state[key][1]
            host, _, port = contact.partition("@")[2].partition(";")[0].partition(":")
            uri = contact.partition(":")[2] if contact.startswith(("sip:", "sips:")) else contact
            rows.append(
                {
                    "reg_user": user,
                    "realm": domain,
                    "token": call_id,
                    "url": f"sofia/internal/sip:{uri}",
                    "expires": str(since + EXPIRES),
                    "network_ip": host,
                    "network_port": port or "5060",
                    "network_proto": "udp",
                    "hostname": self.switch.hostname,
                    "metadata": "",
                }
            )
        return rows
