"""Controller settings, read once from the environment into a frozen object.

Environment variables (all optional except ``DATABASE_URL`` for live routing):

``HUNTSMAN_ESL_LISTEN``
    ``host:port`` the outbound Event Socket server listens on; FreeSWITCH's
    ``socket`` application dials it. Default ``127.0.0.1:8084``.
``DATABASE_URL``
    libpq URL of the Huntsman database (role ``huntsman_controller``).
    Default empty: every call gets the fallback and CDRs are spooled.
``HUNTSMAN_MAX_CALLS``
    Most calls handled at once; above it a new connection is closed at once so
    FreeSWITCH runs the dialplan fallback (needs ``socket_resume=true``). Default 1000.
``HUNTSMAN_SHUTDOWN_GRACE``
    Seconds to let calls in progress finish after SIGTERM/SIGINT. Default 30.
``HUNTSMAN_METRICS_PORT``
    Port of the Prometheus ``/metrics`` endpoint (bound on the ESL listen host);
    ``0`` disables it. Default 9108.
``HUNTSMAN_FREESWITCH``
    Comma-separated ``host:port:password`` of each FreeSWITCH's inbound Event
    Socket, for registration/busy state and ``api``/``bgapi``. Default empty (none).
``HUNTSMAN_CDR_SPOOL``
    Directory of the CDR spool (append-only, fsync'd); it must survive restarts
    (a volume, not the container's filesystem). Default ``./var/cdr-spool``.
``HUNTSMAN_FALLBACK``
    Where a call goes when routing cannot decide (database down, bad plan):
    ``"<destination> <dialplan> <context>"``. Default ``fallback XML fallback``.
``HUNTSMAN_PLAN_TIMEOUT``
    Seconds allowed for each part of planning a call: the wait for a pooled
    connection and ``routing.start_call`` (its ``statement_timeout``). When the
    database is down or slow the call gets the fallback within about twice this.
    Default 0.5.
``HUNTSMAN_DB_POOL_SIZE``
    Connections in the database pool (about 2x CPU cores is the sweet spot). Default 4.
``HUNTSMAN_LOG_FORMAT``
    ``json`` (one JSON object per line, for log shippers) or ``console`` (aligned,
    human-readable lines; what ``make run`` uses). Default ``json``.
``HUNTSMAN_LOG_LEVEL``
    ``debug``, ``info``, ``warning`` or ``error``. Default ``info``.
``HUNTSMAN_MAX_CALL_SECONDS``
    Upper bound on waiting for a call's end (bridged or transferred) before its
    CDR is written from what is known. Default 14400.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from controller.errors import HuntsmanError
from controller.plan import TransferStep, parse_fallback_setting


class SettingsError(HuntsmanError):
    """An environment variable has an invalid value."""


@dataclass(frozen=True)
class FreeswitchNode:
    host: str
    port: int
    password: str = field(repr=False)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    esl_host: str = "127.0.0.1"
    esl_port: int = 8084
    database_url: str = ""
    max_calls: int = 1000
    shutdown_grace: float = 30.0
    metrics_port: int = 9108
    freeswitch: tuple[FreeswitchNode, ...] = ()
    cdr_spool: str = "./var/cdr-spool"
    fallback: TransferStep = field(
        default_factory=lambda: TransferStep("fallback", "XML", "fallback")
    )
    plan_timeout: float = 0.5
    db_pool_size: int = 4
    log_level: str = "info"
    log_format: str = "json"
    max_call_seconds: float = 14400.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        host, port = _host_port(e.get("HUNTSMAN_ESL_LISTEN", "127.0.0.1:8084"))
        level = e.get("HUNTSMAN_LOG_LEVEL", "info").lower()
        if level not in ("debug", "info", "warning", "error"):
            raise SettingsError(f"HUNTSMAN_LOG_LEVEL={level!r} is not a log level")
        log_format = e.get("HUNTSMAN_LOG_FORMAT", "json").lower()
        if log_format not in ("json", "console"):
            raise SettingsError(f"HUNTSMAN_LOG_FORMAT={log_format!r}: use json or console")
        try:
            fallback = parse_fallback_setting(e.get("HUNTSMAN_FALLBACK", "fallback XML fallback"))
        except HuntsmanError as exc:
            raise SettingsError(f"HUNTSMAN_FALLBACK: {exc}") from exc
        return cls(
            esl_host=host,
            esl_port=port,
            database_url=e.get("DATABASE_URL", ""),
            max_calls=_int(e, "HUNTSMAN_MAX_CALLS", 1000, 1),
            shutdown_grace=_float(e, "HUNTSMAN_SHUTDOWN_GRACE", 30.0),
            metrics_port=_int(e, "HUNTSMAN_METRICS_PORT", 9108, 0),
            freeswitch=_nodes(e.get("HUNTSMAN_FREESWITCH", "")),
            cdr_spool=e.get("HUNTSMAN_CDR_SPOOL", "./var/cdr-spool"),
            fallback=fallback,
            plan_timeout=_float(e, "HUNTSMAN_PLAN_TIMEOUT", 0.5),
            db_pool_size=_int(e, "HUNTSMAN_DB_POOL_SIZE", 4, 1),
            log_level=level,
            log_format=log_format,
            max_call_seconds=_float(e, "HUNTSMAN_MAX_CALL_SECONDS", 14400.0),
        )


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SettingsError(f"HUNTSMAN_ESL_LISTEN={text!r} must be host:port")
    return host.strip("[]"), int(port)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be >= {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise SettingsError(f"{name}={raw!r} must be a positive number")
    return value


def _nodes(text: str) -> tuple[FreeswitchNode, ...]:
    nodes = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        host, sep1, rest = item.partition(":")
        port, sep2, password = rest.partition(":")
        if not (sep1 and sep2 and host and port.isdigit() and password):
            raise SettingsError(
                f"HUNTSMAN_FREESWITCH entry {host}:{port}:*** must be host:port:password"
            )
        nodes.append(FreeswitchNode(host, int(port), password))
    return tuple(nodes)
