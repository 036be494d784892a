"""``api show channels|registrations [as json|delim <d>|csv]`` from the switch's live state.

FreeSWITCH answers ``show`` from its core database (switch_core_sqldb.c): one row per live
channel (inserted at CHANNEL_CREATE, deleted at CHANNEL_DESTROY) and one per registration
(sofia_reg.c: ``url`` is ``sofia/<profile>/sip:<contact>``, ``expires`` an epoch second).
Every value is text.  ``as json`` prints ``{"row_count":N,"rows":[{column: value}, ...]}``
(unformatted cJSON), or ``{"row_count": 0}`` and a newline when there is no row
(mod_commands.c, show_function); the default format is comma-separated with a header line
and ``\\n<N> total.\\n``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from switchsim.channel import Channel
    from switchsim.switch import Switch

USAGE = "-USAGE: channels [count|as json]|registrations [count|as json]\n"
CHANNEL_COLUMNS = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
)
REGISTRATION_COLUMNS = (
    "reg_user",
    "realm",
    "token",
    "url",
    "expires",
    "network_ip",
    "network_port",
    "network_proto",
    "hostname",
    "metadata",
)


def channel_row(chan: Channel) -> dict[str, str]:
    """The ``channels`` table row of one live channel."""
    p = chan.profile
    created = chan.times["created"] // 1_000_000
    media = chan.has_codec
    values = {
        "uuid": chan.uuid,
        "direction": p.direction,
        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
        "created_epoch": str(created),
        "name": chan.name,
        "state": chan.state,
        "cid_name": p.caller_id_name,
        "cid_num": p.caller_id_number,
        "ip_addr": p.network_addr,
        "dest": p.destination_number,
        "application": chan.vars.get("current_application") or "",
        "application_data": chan.vars.get("current_application_data") or "",
        "dialplan": p.dialplan,
        "context": p.context,
        "read_codec": "PCMU" if media else "",
        "read_rate": "8000" if media else "",
        "read_bit_rate": "64000" if media else "",
        "write_codec": "PCMU" if media else "",
        "write_rate": "8000" if media else "",
        "write_bit_rate": "64000" if media else "",
        "secure": "",
        "hostname": chan.switch.hostname,
        "presence_id": chan.vars.get("presence_id") or "",
        "presence_data": chan.vars.get("presence_data") or "",
        "accountcode": chan.vars.get("accountcode") or "",
        "callstate": chan.call_state,
        "callee_name": p.callee_id_name,
        "callee_num": p.callee_id_number,
        "callee_direction": "",
        "call_uuid": chan.uuid,
        "sent_callee_name": "",
        "sent_callee_num": "",
        "initial_cid_name": p.orig_caller_id_name or p.caller_id_name,
        "initial_cid_num": p.orig_caller_id_number or p.caller_id_number,
        "initial_ip_addr": p.network_addr,
        "initial_dest": p.destination_number,
        "initial_dialplan": p.dialplan,
        "initial_context": p.context,
    }
    return {column: values[column] for column in CHANNEL_COLUMNS}


def render(columns: tuple[str, ...], rows: list[dict[str, str]], fmt: str, delim: str) -> str:
    """``rows`` as mod_commands prints them in format ``fmt`` (json, or delimited)."""
    if fmt == "json":
        if not rows:
            return '{"row_count": 0}\n'
        doc = {"row_count": len(rows), "rows": rows}
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    lines = [delim.join(columns)] if rows else []
    lines += [delim.join(row[c] for c in columns) for row in rows]
    return "".join(f"{line}\n" for line in lines) + f"\n{len(rows)} total.\n"


def show(switch: Switch, arg: str) -> str:
    """The body of ``api show <arg>`` for ``channels`` and ``registrations``."""
    words = arg.split()
    if not words or words[0] not in ("channels", "registrations"):
        return USAGE
    table, options = words[0], words[1:]
    count = options[:1] == ["count"]
    options = options[1:] if count else options
    fmt, delim = "delim", ","
    if len(options) >= 2 and options[0] == "as":
        fmt = options[1].lower()
        if fmt == "delim" and len(options) >= 3:
            delim = options[2]
    elif options:
        return USAGE
    if fmt not in ("json", "delim", "csv"):
        return f"-ERR Cannot find format {fmt}\n"
    if table == "channels":
        columns = CHANNEL_COLUMNS
        chans = sorted(switch.channels.values(), key=lambda c: c.times["created"])
        rows = [channel_row(c) for c in chans]
    else:
        columns = REGISTRATION_COLUMNS
        rows = switch.registrations.rows()
    if count:  # mod_commands counts without listing: json has only row_count
        if fmt == "json":
            doc = {"row_count": len(rows), "rows": []}
            return '{"row_count": 0}\n' if not rows else json.dumps(doc, separators=(",", ":"))
        return f"\n{len(rows)} total.\n"
    return render(columns, rows, fmt, delim)
