"""A FreeSWITCH node's device state read from ``show channels|registrations as json``.

Pure functions: the inbound client fetches the two bodies after it (re)connects and
resyncs the database with what they say (``routing.resync_device_state``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from controller import channel_vars as cv
from controller.errors import EslError

SOFIA_USER = re.compile(r"sofia/[^/]+/([A-Za-z0-9_.+\-]{1,64})@([A-Za-z0-9.\-]{1,253})")
"""An outbound ``sofia/<profile>/<user>@<domain>`` channel name."""
_USER_AT_DOMAIN = re.compile(r"([A-Za-z0-9_.+\-]{1,64})@([A-Za-z0-9.\-]{1,253})")

Device = tuple[str, str]
"""(domain in lower case, user)"""


def show_rows(body: str) -> list[dict[str, str]]:
    """The rows of a ``show ... as json`` body.

    mod_commands prints ``{"row_count":N,"rows":[{column: text}, ...]}``, and
    ``{"row_count": 0}`` without ``rows`` when the table is empty; anything else
    (``-ERR SQL DISABLED ...``, a usage line) raises ``EslError``.
    """
    try:
        doc = json.loads(body)
    except ValueError:
        raise EslError(f"show: not a JSON answer: {body.strip()[:120]!r}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get(cv.SHOW_ROW_COUNT), int):
        raise EslError(f"show: no row_count in {body.strip()[:120]!r}")
    rows: Any = doc.get(cv.SHOW_ROWS, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise EslError(f"show: rows is not a list of objects in {body.strip()[:120]!r}")
    return [{str(k): str(v) for k, v in r.items()} for r in rows]


def channel_device(row: dict[str, str]) -> Device | None:
    """The device a ``show channels`` row belongs to, or None.

    ``presence_id`` (``<user>@<domain>``, set by the ``user/`` endpoint on every leg it
    rings), else the name of an outbound ``sofia/<profile>/<user>@<domain>`` leg, the
    rule ``inbound.device_of`` applies to CHANNEL_CREATE.
    """
    match = _USER_AT_DOMAIN.fullmatch(row.get(cv.COL_PRESENCE_ID, ""))
    if match is None and row.get(cv.COL_DIRECTION) == cv.DIRECTION_OUTBOUND:
        match = SOFIA_USER.fullmatch(row.get(cv.COL_NAME, ""))
    if match is None:
        return None
    return match.group(2).lower(), match.group(1)


def busy_devices(rows: list[dict[str, str]]) -> dict[str, Device]:
    """``{channel uuid: device}`` for the channels that belong to a device."""
    channels: dict[str, Device] = {}
    for row in rows:
        device = channel_device(row)
        if device is not None and row.get("uuid"):
            channels[row["uuid"]] = device
    return channels


def registered_devices(rows: list[dict[str, str]]) -> dict[Device, str]:
    """``{device: contact}`` from ``show registrations`` rows (the first of several)."""
    registered: dict[Device, str] = {}
    for row in rows:
        user, realm = row.get(cv.COL_REG_USER, ""), row.get(cv.COL_REALM, "").lower()
        if user and realm:
            registered.setdefault((realm, user), row.get(cv.COL_URL, ""))
    return registered


def resync_lists(
    busy: set[Device], registered: dict[Device, str]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The ``p_busy`` and ``p_registered`` arguments of ``routing.resync_device_state``."""
    return (
        [{"domain": d, "user": u} for d, u in sorted(busy)],
        [{"domain": d, "user": u, "contact": c} for (d, u), c in sorted(registered.items())],
    )
