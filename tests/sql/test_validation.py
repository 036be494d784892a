"""Bad configuration is refused with an error naming the field and the value."""

import psycopg
import pytest

from tests.sql.factories import (
    add_member,
    make_call,
    make_contact_list,
    make_device,
    make_domain,
    make_group,
    make_number,
    make_rule,
    make_schedule,
    plan_call,
)


def _domain_and_group(db):
    domain_id = make_domain(db)
    return domain_id, make_group(db, domain_id, "Sales")


def _member(**kwargs):
    def build(db):
        domain_id, group_id = _domain_and_group(db)
        device_id = make_device(db, domain_id, "1000")
        add_member(db, group_id, device_id=device_id, **kwargs)

    return build


def _external_member(number):
    def build(db):
        _, group_id = _domain_and_group(db)
        add_member(db, group_id, external=number)

    return build


def _group(**kwargs):
    return lambda db: make_group(db, make_domain(db), "Sales", **kwargs)


def _number(e164):
    return lambda db: make_number(db, make_domain(db), e164)


def _device(**kwargs):
    return lambda db: make_device(db, make_domain(db), **kwargs)


def _schedule_zone(zone):
    return lambda db: make_schedule(db, make_domain(db), time_zone=zone)


def _rule(**kwargs):
    def build(db):
        domain_id = make_domain(db)
        make_rule(db, make_number(db, domain_id, "+4930123456"), "r", **kwargs)

    return build


def _extension_clash(db):
    domain_id = make_domain(db)
    make_device(db, domain_id, "2001")
    make_group(db, domain_id, "Sales", extension="2001")


def _window(start, end):
    return lambda db: make_schedule(db, make_domain(db), windows=[(1, start, end)])


BAD_INPUT = [
    pytest.param(
        _member(ring_timeout=-5),
        "23514",
        "hunt_group_member_ring_timeout_range",
        "hunt_group_member.ring_timeout = -5 is out of range: must be between 1 and 600 seconds",
        id="negative-member-timeout",
    ),
    pytest.param(
        _member(ring_timeout=0),
        "23514",
        "hunt_group_member_ring_timeout_range",
        "hunt_group_member.ring_timeout = 0",
        id="zero-member-timeout",
    ),
    pytest.param(
        _member(ring_timeout=99999999),
        "23514",
        "hunt_group_member_ring_timeout_range",
        "hunt_group_member.ring_timeout = 99999999",
        id="huge-member-timeout",
    ),
    pytest.param(
        _member(delay=301),
        "23514",
        "hunt_group_member_delay_range",
        "hunt_group_member.delay = 301 is out of range: must be between 0 and 300 seconds",
        id="delay-over-300",
    ),
    pytest.param(
        _member(delay=-1),
        "23514",
        "hunt_group_member_delay_range",
        "hunt_group_member.delay = -1",
        id="negative-delay",
    ),
    pytest.param(
        _member(weight=0),
        "23514",
        "hunt_group_member_weight_range",
        "hunt_group_member.weight = 0 is out of range: must be between 1 and 1000",
        id="zero-weight",
    ),
    pytest.param(
        _member(weight=1001),
        "23514",
        "hunt_group_member_weight_range",
        "hunt_group_member.weight = 1001",
        id="weight-over-1000",
    ),
    pytest.param(
        _group(ring_timeout=601),
        "23514",
        "hunt_group_ring_timeout_range",
        "hunt_group.ring_timeout = 601 is out of range: must be between 1 and 600 seconds",
        id="group-timeout-over-600",
    ),
    pytest.param(
        _group(strategy="ring_all"),
        "22P02",
        None,
        'invalid input value for enum cfg.hunt_strategy: "ring_all"',
        id="unknown-strategy",
    ),
    pytest.param(
        _schedule_zone("Mars/Olympus"),
        "HM003",
        "schedule_time_zone_known",
        "schedule.time_zone = 'Mars/Olympus' is not a known IANA time zone",
        id="unknown-time-zone",
    ),
    pytest.param(
        _schedule_zone("PST"),
        "HM003",
        "schedule_time_zone_known",
        "schedule.time_zone = 'PST'",
        id="abbreviation-is-not-a-zone",
    ),
    pytest.param(
        _schedule_zone("UTC+3"),
        "HM003",
        "schedule_time_zone_known",
        "schedule.time_zone = 'UTC+3'",
        id="posix-offset-is-not-a-zone",
    ),
    pytest.param(
        lambda db: make_domain(db, time_zone="Europe/Berlinn"),
        "HM003",
        "domain_time_zone_known",
        "domain.time_zone = 'Europe/Berlinn' is not a known IANA time zone",
        id="domain-time-zone",
    ),
    pytest.param(
        _number("0301234567"),
        "23514",
        "number_e164_format",
        "number.e164 = '0301234567' is not valid: expected an E.164 number",
        id="national-number",
    ),
    pytest.param(
        _number("+49 30 123456"),
        "23514",
        "number_e164_format",
        "number.e164 = '+49 30 123456'",
        id="number-with-spaces",
    ),
    pytest.param(
        _number("+4930123456789012"),
        "23514",
        "number_e164_format",
        "number.e164 = '+4930123456789012'",
        id="sixteen-digits",
    ),
    pytest.param(
        _number("1001,sofia/gateway/intl/0088213000000"),
        "23514",
        "number_e164_format",
        "number.e164 = '1001,sofia/gateway/intl/0088213000000'",
        id="dial-string-injection",
    ),
    pytest.param(
        _number("+４９30123"),
        "23514",
        "number_e164_format",
        "number.e164 = '+４９30123'",
        id="full-width-digits",
    ),
    pytest.param(
        _external_member("+49301|sofia/gateway/x/1"),
        "23514",
        "hunt_group_member_external_number_format",
        "hunt_group_member.external_number = '+49301|sofia/gateway/x/1'",
        id="external-member-injection",
    ),
    pytest.param(
        _device(extension="1000", endpoint="user/1000@example.com,user/1001@example.com"),
        "23514",
        "device_endpoint_format",
        "device.endpoint = 'user/1000@example.com,user/1001@example.com'",
        id="endpoint-with-comma",
    ),
    pytest.param(
        _device(extension="1000", endpoint="{origination_caller_id_number=1}user/1000@example.com"),
        "23514",
        "device_endpoint_format",
        "device.endpoint = '{origination_caller_id_number=1}",
        id="endpoint-with-variables",
    ),
    pytest.param(
        _device(extension="1000", endpoint="sofia/internal/a@b:_:user/1@example.com"),
        "23514",
        "device_endpoint_format",
        "device.endpoint = 'sofia/internal/a@b:_:user/1@example.com'",
        id="endpoint-with-enterprise-separator",
    ),
    pytest.param(
        _device(extension="10a"),
        "23514",
        "device_extension_format",
        "device.extension = '10a'",
        id="extension-with-letter",
    ),
    pytest.param(
        _device(extension="1000", name="Bob\n\napi system touch /tmp/pwned"),
        "23514",
        "device_name_format",
        'device.name = "Bob\\n\\napi system touch /tmp/pwned" is not valid',
        id="name-with-newlines",
    ),
    pytest.param(
        _device(extension="1000", name=""),
        "23514",
        "device_name_format",
        "device.name = ''",
        id="empty-name",
    ),
    pytest.param(
        _device(extension="1000", name="x" * 81),
        "23514",
        "device_name_format",
        "device.name = '" + "x" * 81 + "' is not valid: expected 1 to 80 characters",
        id="name-of-81-characters",
    ),
    pytest.param(
        _device(extension="1000", endpoint="user/1000@" + "a" * 300),
        "23514",
        "device_endpoint_format",
        "device.endpoint = 'user/1000@aaaa",
        id="endpoint-over-300-characters",
    ),
    pytest.param(
        lambda db: make_domain(db, "Example.COM"),
        "23514",
        "domain_name_format",
        "domain.name = 'Example.COM' is not valid: expected a lower-case domain name",
        id="upper-case-domain",
    ),
    pytest.param(
        lambda db: make_domain(db, gateway="gw|x"),
        "23514",
        "domain_gateway_format",
        "domain.gateway = 'gw|x'",
        id="gateway-with-pipe",
    ),
    pytest.param(
        _rule(caller_match="pattern", caller_value="(["),
        "23514",
        "routing_rule_caller_value_pattern",
        "routing_rule.caller_value = '([' is not a valid regular expression",
        id="bad-regex",
    ),
    pytest.param(
        _rule(caller_match="prefix", caller_value="+49 89"),
        "23514",
        "routing_rule_caller_value_format",
        "routing_rule.caller_value = '+49 89'",
        id="prefix-with-space",
    ),
    pytest.param(
        _rule(caller_match="exact"),
        "23514",
        "routing_rule_caller_consistent",
        "routing_rule.caller_match = 'exact' needs caller_value",
        id="exact-without-value",
    ),
    pytest.param(
        _rule(action="group"),
        "23514",
        "routing_rule_action_consistent",
        "routing_rule.action = 'group' needs target_group_id",
        id="group-action-without-group",
    ),
    pytest.param(
        _group(overflow_kind="group"),
        "23514",
        "hunt_group_overflow_consistent",
        "hunt_group.overflow_kind = 'group' needs overflow_group_id",
        id="overflow-without-target",
    ),
    pytest.param(
        _group(overflow_kind="number", overflow_number="0800123"),
        "23514",
        "hunt_group_overflow_number_format",
        "hunt_group.overflow_number = '0800123'",
        id="overflow-number-not-e164",
    ),
    pytest.param(
        _group(overflow_kind="hangup", overflow_cause="no answer"),
        "23514",
        "hunt_group_overflow_cause_format",
        "hunt_group.overflow_cause = 'no answer'",
        id="overflow-cause-not-a-cause",
    ),
    pytest.param(
        _window("09:00", "09:00"),
        "23514",
        "schedule_window_not_empty",
        "schedule_window.end_time = 09:00:00 equals start_time",
        id="empty-window",
    ),
    pytest.param(
        _extension_clash,
        "23505",
        "hunt_group_domain_extension_key",
        "hunt_group.extension = '2001' is already used by device 'Phone 2001'",
        id="extension-clash",
    ),
    pytest.param(
        lambda db: make_contact_list(db, make_domain(db), "VIP", ["+49 170"]),
        "23514",
        "contact_list_entry_number_format",
        "contact_list_entry.number = '+49 170'",
        id="contact-list-number",
    ),
]


@pytest.mark.parametrize(("build", "sqlstate", "constraint", "message"), BAD_INPUT)
def test_bad_input_is_refused_naming_field_and_value(db, build, sqlstate, constraint, message):
    with pytest.raises(psycopg.Error) as raised:
        build(db)
    error = raised.value
    assert error.sqlstate == sqlstate
    assert message in error.diag.message_primary
    assert error.diag.constraint_name == constraint


def test_member_kind_must_match_its_target(db):
    domain_id, group_id = _domain_and_group(db)
    device_id = make_device(db, domain_id, "1000")
    with pytest.raises(psycopg.errors.CheckViolation) as raised:
        db.execute(
            "INSERT INTO cfg.hunt_group_member (domain_id, group_id, kind, device_id) VALUES (%s, %s, 'user', %s)",
            (domain_id, group_id, device_id),
        )
    assert (
        raised.value.diag.message_primary
        == "hunt_group_member.kind = 'user' needs exactly one target: user_id"
    )
    assert raised.value.diag.column_name == "kind"


def test_check_constraints_hold_when_the_trigger_is_bypassed(db):
    domain_id, group_id = _domain_and_group(db)
    device_id = make_device(db, domain_id, "1000")
    db.execute(
        "SET LOCAL session_replication_role = replica"
    )  # row triggers off: only constraints left
    with pytest.raises(psycopg.errors.CheckViolation) as raised:
        add_member(db, group_id, device_id=device_id, ring_timeout=-5)
    assert raised.value.diag.constraint_name == "hunt_group_member_ring_timeout_range"


def test_cross_tenant_references_are_refused(db):
    domain_a = make_domain(db, "a.example")
    domain_b = make_domain(db, "b.example")
    group_a = make_group(db, domain_a, "Sales")
    foreign_device = make_device(db, domain_b, "1000")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute(
            "INSERT INTO cfg.hunt_group_member (domain_id, group_id, kind, device_id) VALUES (%s, %s, 'device', %s)",
            (domain_a, group_a, foreign_device),
        )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("'; DROP TABLE cfg.device;--", id="sql-metacharacters"),
        pytest.param("${system(id)} $${hostname}", id="freeswitch-expansion"),
        pytest.param("Doe, John", id="comma"),
        pytest.param("\u202eevil\u202c 😀 e\u0301", id="unicode"),
    ],
)
def test_odd_but_printable_names_are_stored_verbatim_and_stay_inert(db, name):
    domain_id = make_domain(db)
    group_id = make_group(db, domain_id, name, extension="2001")
    add_member(db, group_id, device_id=make_device(db, domain_id, "1000", name=name))
    plan = plan_call(db, make_call("2001"))
    assert plan["steps"][0]["label"] == f"{name} (simultaneous)"
    assert plan["steps"][0]["legs"][0]["label"] == name
    assert plan["steps"][0]["legs"][0]["target"] == "user/1000@example.com"
