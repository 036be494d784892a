"""Channel data (the ``connect`` reply) -> the call dict of contracts.md section 2.

Pure.  Everything here is caller-controlled, so it is sanitised before it reaches
the database or a dial string:

* text: NUL and other control characters removed (C0, DEL, C1, line/paragraph
  separators), invalid UTF-8 already replaced by U+FFFD in the frame parser,
  surrounding whitespace stripped, names capped at ``MAX_NAME_CHARS``;
* numbers: ``^\\+?[0-9]{1,15}$`` (ASCII digits only) or the literal ``anonymous``;
* destination: a number or an extension (``[0-9*#]``, up to 32); anything else is
  ``InvalidCall`` (the call is hung up with INVALID_NUMBER_FORMAT);
* domain, user and SIP header names are matched against allow-lists.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from controller import channel_vars as cv
from controller.errors import InvalidCall
from controller.esl_frames import keys_with_prefix

MAX_NAME_CHARS = 80
MAX_HEADER_VALUE_CHARS = 256
MAX_SIP_HEADERS = 16
ANONYMOUS = "anonymous"

NUMBER_RE = re.compile(r"\+?[0-9]{1,15}")
_DESTINATION_RE = re.compile(r"\+?[0-9]{1,15}|[0-9*#]{1,32}")
_DOMAIN_RE = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
_USER_RE = re.compile(r"[A-Za-z0-9_.+\-]{1,64}")
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_SIP_HEADER_NAME_RE = re.compile(r"[XP]-[A-Za-z0-9\-]{1,64}")


def is_uuid(value: str) -> bool:
    return bool(_UUID_RE.fullmatch(value))


def clean_text(value: str, limit: int) -> str:
    """Drop control/format-breaking characters, strip, cap at ``limit`` characters."""
    kept = []
    for ch in value[: limit * 4]:
        cat = unicodedata.category(ch)
        if cat == "Cc" or ch in "\u2028\u2029":
            continue
        kept.append(ch)
    return "".join(kept).strip()[:limit].strip()


def clean_number(value: str) -> str:
    """An E.164-ish number or extension, else ``anonymous``.

    Non-ASCII digits (full-width, Arabic-Indic) are rejected, never normalised.
    """
    text = value.strip()
    return text if NUMBER_RE.fullmatch(text) else ANONYMOUS


def _domain(headers: Mapping[str, str]) -> str:
    for key in (cv.CV_DOMAIN_NAME, cv.CV_SIP_TO_HOST, cv.CV_SIP_REQ_HOST):
        value = headers.get(key, "").strip().lower()
        if value and _DOMAIN_RE.fullmatch(value):
            return value
    return ""


def _from_user(headers: Mapping[str, str]) -> str | None:
    """The calling device's directory user, only when FreeSWITCH authenticated the caller.

    ``sip_from_user`` is whatever the caller wrote in its From header: trusting it would let
    anyone on a trunk call out as one of our devices (toll fraud). FreeSWITCH sets
    ``sip_authorized=true`` (and the directory identity) only after digest authentication.
    """
    if headers.get(cv.CV_SIP_AUTHORIZED, "").strip().lower() != "true":
        return None
    for key in (cv.CV_USER_NAME, cv.CV_SIP_AUTH_USERNAME):
        value = headers.get(key, "").strip()
        if value and _USER_RE.fullmatch(value):
            return value
    return None


def _network_addr(headers: Mapping[str, str]) -> str | None:
    for key in (cv.CV_NETWORK_ADDR, cv.H_CALLER_NETWORK_ADDR):
        value = headers.get(key, "").strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            continue
    return None


def _sip_headers(headers: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key in keys_with_prefix(headers, cv.CV_SIP_HEADER_PREFIX):
        name = key[len(cv.CV_SIP_HEADER_PREFIX) :]
        if _SIP_HEADER_NAME_RE.fullmatch(name) and len(found) < MAX_SIP_HEADERS:
            found[name] = clean_text(headers[key], MAX_HEADER_VALUE_CHARS)
    return found


def build_call(headers: Mapping[str, str]) -> dict[str, Any]:
    """Build the planning input from the channel data of the ``connect`` reply."""
    uuid = headers.get(cv.H_UNIQUE_ID) or headers.get(cv.CV_UUID, "")
    if not is_uuid(uuid):
        raise InvalidCall(f"channel data has no valid Unique-ID: {uuid[:40]!r}")
    destination = headers.get(cv.H_CALLER_DESTINATION_NUMBER, "").strip()
    if not _DESTINATION_RE.fullmatch(destination):
        raise InvalidCall(f"destination is not a number or extension: {destination[:40]!r}")
    call: dict[str, Any] = {
        "uuid": uuid.lower(),
        "domain": _domain(headers),
        "destination": destination,
        "caller_number": clean_number(headers.get(cv.H_CALLER_ID_NUMBER, "")),
        "caller_name": clean_text(headers.get(cv.H_CALLER_ID_NAME, ""), MAX_NAME_CHARS),
    }
    from_user = _from_user(headers)
    if from_user is not None:
        call["from_user"] = from_user
    addr = _network_addr(headers)
    if addr is not None:
        call["network_addr"] = addr
    sip_headers = _sip_headers(headers)
    if sip_headers:
        call["sip_headers"] = sip_headers
    return call


def fallback_call(headers: Mapping[str, str]) -> dict[str, Any]:
    """Best-effort call dict for a CDR when ``build_call`` refused the channel data."""
    uuid = headers.get(cv.H_UNIQUE_ID) or headers.get(cv.CV_UUID, "")
    return {
        "uuid": uuid.lower() if is_uuid(uuid) else None,
        "domain": _domain(headers),
        "destination": clean_text(headers.get(cv.H_CALLER_DESTINATION_NUMBER, ""), 32),
        "caller_number": clean_number(headers.get(cv.H_CALLER_ID_NUMBER, "")),
        "caller_name": clean_text(headers.get(cv.H_CALLER_ID_NAME, ""), MAX_NAME_CHARS),
    }
