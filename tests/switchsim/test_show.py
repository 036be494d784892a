"""``api show channels|registrations``: FreeSWITCH's formats, from the switch's live state."""

from __future__ import annotations

import json

import gevent.socket
import pytest

from switchsim import Behaviour, Switch
from switchsim.show import CHANNEL_COLUMNS, REGISTRATION_COLUMNS
from tests.switchsim.esl_stub import Session

D = "example.com"


def api(client: Session, command: str) -> str:
    frame = client.command(f"api {command}")
    assert frame.content_type == "api/response"
    body: str = frame.body
    return body


@pytest.mark.parametrize("table", ["channels", "registrations"])
def test_an_empty_table_is_row_count_zero_without_rows(client: Session, table: str) -> None:
    # mod_commands prints this literal (with its space) when the query returns no row
    assert api(client, f"show {table} as json") == '{"row_count": 0}\n'
    assert api(client, f"show {table}") == "\n0 total.\n"


def test_registrations_list_explicit_registrations_as_sofia_reg_stores_them(
    sw: Switch, client: Session
) -> None:
    sw.set_registered("1001", D, True, contact="sip:1001@192.0.2.10:5062")
    sw.set_registered("1002", D, True)
    sw.set_registered("1002", D, False)
    sw.set_registered("1003", D, True)
    sw.expire_registration("1003", D)
    body = api(client, "show registrations as json")
    assert " " not in body  # cJSON_PrintUnformatted
    doc = json.loads(body)
    assert doc["row_count"] == 1
    (row,) = doc["rows"]
    assert tuple(row) == REGISTRATION_COLUMNS
    assert all(isinstance(v, str) for v in row.values())
    assert (row["reg_user"], row["realm"], row["url"]) == (
        "1001",
        D,
        "sofia/internal/sip:1001@192.0.2.10:5062",
    )
    assert (row["network_ip"], row["network_port"], row["network_proto"]) == (
        "192.0.2.10",
        "5062",
        "udp",
    )
    assert int(row["expires"]) > sw.clock.epoch()
    assert api(client, "show registrations count as json") == '{"row_count":1,"rows":[]}'


def test_channels_list_live_legs_with_presence_id_until_hangup_complete(
    sw: Switch, client: Session
) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=1, hangup_after=20))
    reply = api(client, f"originate user/1001@{D} &park()")
    assert reply.startswith("+OK ")
    uuid = reply.split()[1]
    doc = json.loads(api(client, "show channels as json"))
    assert doc["row_count"] == 1
    (row,) = doc["rows"]
    assert tuple(row) == CHANNEL_COLUMNS
    assert (row["uuid"], row["direction"], row["presence_id"], row["application"]) == (
        uuid,
        "outbound",
        f"1001@{D}",
        "park",
    )
    assert row["name"].startswith("sofia/internal/1001@")
    csv = api(client, "show channels").splitlines()
    assert csv[0] == ",".join(CHANNEL_COLUMNS) and csv[-1] == "1 total."
    with gevent.Timeout(5):  # the leg hangs up after 20 simulated seconds (0.2 s)
        while uuid in sw.channels:
            gevent.sleep(0.01)
    assert api(client, "show channels as json") == '{"row_count": 0}\n'


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        pytest.param("show channels as yaml", "-ERR Cannot find format yaml\n", id="format"),
        pytest.param("show nothing", "-USAGE:", id="table"),
    ],
)
def test_unknown_show_arguments(client: Session, command: str, answer: str) -> None:
    assert api(client, command).startswith(answer)
