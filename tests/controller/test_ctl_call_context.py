"""Channel data -> call dict: sanitised names, validated numbers, nothing forged."""

import pytest

from controller.call_context import MAX_NAME_CHARS, build_call, clean_number
from controller.errors import InvalidCall
from controller.esl_frames import parse_headers

UUID = "b75234f1-689a-4787-b60b-b32eefdf1072"


def channel(**over: str) -> dict[str, str]:
    base = {
        "Unique-ID": UUID,
        "Caller-Destination-Number": "+4930123456",
        "Caller-Caller-ID-Number": "+4917012345",
        "Caller-Caller-ID-Name": "Alice",
        "variable_domain_name": "example.com",
        "variable_sip_from_user": "1001",
        "variable_sip_authorized": "true",
        "variable_user_name": "1001",
        "variable_network_addr": "192.0.2.10",
    }
    base.update(over)
    return base


def test_contract_shape() -> None:
    assert build_call(channel(**{"variable_sip_h_X-Foo": "bar"})) == {
        "uuid": UUID,
        "domain": "example.com",
        "destination": "+4930123456",
        "caller_number": "+4917012345",
        "caller_name": "Alice",
        "from_user": "1001",
        "network_addr": "192.0.2.10",
        "sip_headers": {"X-Foo": "bar"},
    }


def test_domain_falls_back_to_sip_hosts() -> None:
    h = channel(variable_domain_name="", variable_sip_to_host="Sip.Example.org")
    assert build_call(h)["domain"] == "sip.example.org"
    h = channel(variable_domain_name="bad domain!", variable_sip_req_host="req.example.net")
    assert build_call(h)["domain"] == "req.example.net"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "Alice\r\nvariable_x_trusted: true", "Alicevariable_x_trusted: true", id="crlf"
        ),
        pytest.param("A\x00B", "AB", id="nul"),
        pytest.param("A\ufffd(", "A\ufffd(", id="invalid-utf8-replaced"),
        pytest.param("  Bob \t", "Bob", id="whitespace"),
        pytest.param("x" * 65536, "x" * MAX_NAME_CHARS, id="64k"),
        pytest.param("\u202eevil", "\u202eevil", id="rtl-kept"),
        pytest.param("Zoë 😀", "Zoë 😀", id="unicode"),
        pytest.param("'; DROP TABLE cdr;--", "'; DROP TABLE cdr;--", id="sql"),
        pytest.param("${system(id)}", "${system(id)}", id="expansion-inert-data"),
    ],
)
def test_caller_name_sanitised(raw: str, expected: str) -> None:
    assert build_call(channel(**{"Caller-Caller-ID-Name": raw}))["caller_name"] == expected


def test_url_encoded_name_from_the_wire_forges_nothing() -> None:
    block = (
        f"Unique-ID: {UUID}\nCaller-Destination-Number: 2001\n"
        "Caller-Caller-ID-Name: Alice%0D%0Avariable_x_trusted%3A%20true%00%C3%28\n"
        "Caller-Caller-ID-Number: 1001"
    ).encode()
    headers = parse_headers(block)
    assert "variable_x_trusted" not in headers
    call = build_call(headers)
    assert call["caller_name"] == "Alicevariable_x_trusted: true\ufffd("
    assert call["destination"] == "2001"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+4917012345", "+4917012345"),
        ("1001", "1001"),
        ("+", "anonymous"),
        ("++1555", "anonymous"),
        ("+1 (555) 123-4567", "anonymous"),
        ("tel:+1555", "anonymous"),
        ("sip:1001@evil.example", "anonymous"),
        ("*67", "anonymous"),
        ("#", "anonymous"),
        ("", "anonymous"),
        ("1234567890123456", "anonymous"),
        ("1" * 1000, "anonymous"),
        ("\uff0b\uff11", "anonymous"),
        ("\u0661\u0662", "anonymous"),
        ("1001,sofia/gateway/intl/0088213000000", "anonymous"),
        ("${system(id)}", "anonymous"),
    ],
)
def test_caller_number_normalisation(raw: str, expected: str) -> None:
    assert clean_number(raw) == expected
    assert build_call(channel(**{"Caller-Caller-ID-Number": raw}))["caller_number"] == expected


@pytest.mark.parametrize(
    "destination",
    ["", "1001,user/2@x", "+49 30", "abc", "${system(id)}", "1" * 40, "\uff11\uff12"],
)
def test_bad_destination_is_an_invalid_call(destination: str) -> None:
    with pytest.raises(InvalidCall) as info:
        build_call(channel(**{"Caller-Destination-Number": destination}))
    assert info.value.hangup_cause == "INVALID_NUMBER_FORMAT"


@pytest.mark.parametrize("uuid", ["", "not-a-uuid", UUID + "\n", "${uuid}"])
def test_missing_or_bad_uuid_is_an_invalid_call(uuid: str) -> None:
    with pytest.raises(InvalidCall):
        build_call(channel(**{"Unique-ID": uuid}))


def test_untrusted_extras_are_dropped() -> None:
    call = build_call(
        channel(
            variable_user_name="1001,evil",
            variable_network_addr="not-an-ip",
            **{"variable_sip_h_X-Bad Name": "x", "variable_sip_h_Via": "y"},
        )
    )
    assert "from_user" not in call
    assert "network_addr" not in call
    assert "sip_headers" not in call


@pytest.mark.parametrize(
    "over",
    [
        pytest.param({"variable_sip_authorized": ""}, id="not-authorized"),
        pytest.param({"variable_sip_authorized": "false"}, id="authorized-false"),
        pytest.param(
            {"variable_sip_authorized": "", "variable_user_name": ""}, id="only-sip-from-user"
        ),
    ],
)
def test_from_user_needs_an_authenticated_caller(over: dict[str, str]) -> None:
    """A trunk caller writing `From: 1001` must not be planned as our device 1001 (toll fraud)."""
    call = build_call(channel(**over))
    assert "from_user" not in call


def test_from_user_falls_back_to_the_auth_username() -> None:
    call = build_call(channel(variable_user_name="", variable_sip_auth_username="1002"))
    assert call["from_user"] == "1002"
