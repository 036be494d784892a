"""freeswitch/: the configuration parses, hands every call to a controller with a fallback,
and keeps the event socket private.

There is no FreeSWITCH here, so these tests read the XML the way FreeSWITCH's preprocessor
and parser would: X-PRE-PROCESS directives are ordinary elements to the XML parser, and
`$${name}` references are resolved against the `set` defaults of vars.xml.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

FREESWITCH = Path(__file__).resolve().parents[2] / "freeswitch"
XML_FILES = sorted(FREESWITCH.rglob("*.xml"))
HANDOVER_CONTEXTS = ("default", "public")
# Global variables FreeSWITCH computes itself at start-up (switch_core.c).
BUILTIN_GLOBALS = {"local_ip_v4", "sounds_dir", "hostname", "base_dir", "conf_dir", "log_dir"}
GLOBAL_REF = re.compile(r"\$\$\{([^}]+)\}")


def parse(relative: str) -> ET.Element:
    return ET.parse(FREESWITCH / relative).getroot()


def directives(cmd: str) -> list[tuple[str, str]]:
    """(name, value) of each `cmd` directive in vars.xml, in file order."""
    found = []
    for el in parse("vars.xml").iter("X-PRE-PROCESS"):
        if el.get("cmd") == cmd:
            name, _, value = el.get("data", "").partition("=")
            found.append((name, value))
    return found


def global_defaults() -> dict[str, str]:
    """The value of each global when the environment sets none (the last `set` wins)."""
    values: dict[str, str] = {}
    for name, value in directives("set"):
        values[name] = GLOBAL_REF.sub(lambda m: values.get(m.group(1), f"<{m.group(1)}>"), value)
    return values


def expand(text: str) -> str:
    defaults = global_defaults()
    return GLOBAL_REF.sub(lambda m: defaults[m.group(1)], text)


def params(root: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in root.iter("param")}


def actions(context: str) -> list[tuple[str, str]]:
    for ctx in parse("dialplan/huntsman.xml").iter("context"):
        if ctx.get("name") == context:
            return [(a.get("application", ""), a.get("data", "")) for a in ctx.iter("action")]
    raise AssertionError(f"no context {context!r} in dialplan/huntsman.xml")


# --- Every file is well-formed and safe for the preprocessor -------------------------------


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=str(p.relative_to(FREESWITCH))) for p in XML_FILES]
)
def test_xml_file_parses(path: Path) -> None:
    ET.parse(path)


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=str(p.relative_to(FREESWITCH))) for p in XML_FILES]
)
def test_no_directive_or_include_tag_hides_in_a_comment(path: Path) -> None:
    # FreeSWITCH's preprocessor works on lines: it runs a directive even inside a comment, and
    # drops every line holding an include tag or "<?" (which could swallow a comment's end).
    text = path.read_text()
    for comment in re.findall(r"<!--(.*?)-->", text, flags=re.S):
        assert not re.search(r"x-pre-process|<include>|</include>|<\?", comment, flags=re.I)
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(r"</?include>", line):
            assert line.strip() in ("<include>", "</include>"), f"line {number}: {line!r}"


def test_root_document_includes_our_files() -> None:
    includes = [el.get("data") for el in parse("freeswitch.xml").iter("X-PRE-PROCESS")]
    assert includes[:4] == [
        "vars.xml",
        "autoload_configs/*.xml",
        "dialplan/*.xml",
        "directory/*.xml",
    ]


def test_every_global_variable_used_is_defined() -> None:
    defined = {name for cmd in ("set", "env-set", "exec-set") for name, _ in directives(cmd)}
    used = {ref for path in XML_FILES for ref in GLOBAL_REF.findall(path.read_text())}
    assert sorted(used - defined - BUILTIN_GLOBALS) == []


def test_env_set_directives_follow_a_default() -> None:
    # env-set keeps the previous value when the environment variable is missing, so each one
    # needs a set/exec-set before it; and its value must be "$NAME" (FreeSWITCH's syntax).
    seen: set[str] = set()
    for el in parse("vars.xml").iter("X-PRE-PROCESS"):
        name, _, value = el.get("data", "").partition("=")
        if el.get("cmd") == "env-set":
            assert name in seen, f"env-set {name} has no default before it"
            assert re.fullmatch(r"\$[A-Z][A-Z0-9_]*", value), value
        seen.add(name)


# --- The dialplan: hand over to a controller, fall back without one ---------------------------


@pytest.mark.parametrize("context", HANDOVER_CONTEXTS)
def test_handover_resumes_the_dialplan_when_the_controller_goes_away(context: str) -> None:
    steps = actions(context)
    apps = [app for app, _ in steps]
    socket = apps.index("socket")
    assert ("set", "socket_resume=true") in steps[:socket]
    assert steps[socket][1].endswith(" async full")
    assert steps[socket][1].startswith("$${huntsman_controllers} ")
    after = steps[socket + 1 :]
    assert after and after[-1][0] == "transfer"
    assert after[-1][1].endswith(" XML fallback")


@pytest.mark.parametrize("context", HANDOVER_CONTEXTS)
def test_handover_guards_against_a_hung_controller(context: str) -> None:
    steps = actions(context)
    socket = [app for app, _ in steps].index("socket")
    before = dict(steps[:socket])
    assert re.fullmatch(
        r"\+\$\$\{huntsman_claim_timeout\} \$1 XML fallback", before["sched_transfer"]
    )
    assert int(global_defaults()["huntsman_claim_timeout"]) <= 10
    # park_timeout bounds the whole time under the controller: only a long leak guard is safe.
    seconds, _, cause = expand(_park_timeout(steps[:socket])).partition(":")
    assert int(seconds) >= 3600
    assert cause == "RECOVERY_ON_TIMER_EXPIRE"


def _park_timeout(steps: list[tuple[str, str]]) -> str:
    values = [data.partition("=")[2] for app, data in steps if data.startswith("park_timeout=")]
    assert len(values) == 1
    return values[0]


def test_controllers_default_to_a_failover_list_of_host_port_pairs() -> None:
    for target in global_defaults()["huntsman_controllers"].split("|"):
        host, _, port = target.rpartition(":")
        assert host and port.isdigit(), target


def test_fallback_is_static_and_disarms_the_watchdog() -> None:
    steps = actions("fallback")
    apps = [app for app, _ in steps]
    assert apps[0] == "sched_cancel"
    assert "socket" not in apps and "transfer" not in apps
    assert apps[-1] == "hangup"
    assert {"bridge", "playback"} <= set(apps)


# --- The event socket is private ---------------------------------------------------------


def test_event_socket_listens_privately_behind_an_acl() -> None:
    settings = params(parse("autoload_configs/event_socket.conf.xml"))
    listen_ip = expand(settings["listen-ip"])
    acl_name = settings.get("apply-inbound-acl", "")
    assert listen_ip not in ("0.0.0.0", "::", "") or acl_name, "open listener without an ACL"
    assert listen_ip not in ("0.0.0.0", "::", "")
    lists = {lst.get("name"): lst for lst in parse("autoload_configs/acl.conf.xml").iter("list")}
    assert acl_name in lists, f"apply-inbound-acl names {acl_name!r}, which acl.conf.xml lacks"
    acl = lists[acl_name]
    assert acl.get("default") == "deny"
    cidrs = [expand(node.get("cidr", "")) for node in acl.iter("node")]
    assert cidrs and all(c.endswith("/32") for c in cidrs), cidrs
    assert settings["stop-on-bind-error"] == "true"


def test_event_socket_password_comes_from_the_environment() -> None:
    settings = params(parse("autoload_configs/event_socket.conf.xml"))
    assert settings["password"] == "$${esl_password}"
    assert ("esl_password", "$HUNTSMAN_ESL_PASSWORD") in directives("env-set")
    # Without the environment variable the password is random, never a known literal.
    assert "esl_password" not in dict(directives("set"))
    assert "esl_password" in dict(directives("exec-set"))
    values = [v for path in XML_FILES for el in ET.parse(path).iter() for v in el.attrib.values()]
    assert not [v for v in values if "cluecon" in v.lower()]


def test_system_commands_are_disabled() -> None:
    sets = dict(directives("set"))
    assert sets["disable_system_api_commands"] == "true"
    assert sets["disable_system_app_commands"] == "true"


# --- Addresses, ports, users --------------------------------------------------------------


def test_vars_look_nothing_up_over_the_network() -> None:
    assert directives("stun-set") == []
    data = [el.get("data", "") for el in parse("vars.xml").iter("X-PRE-PROCESS")]
    assert not [d for d in data if re.search(r"stun:|auto-nat|host:", d)]
    assert "external_rtp_ip" in dict(directives("set"))
    assert "external_sip_ip" in dict(directives("set"))
    assert ("external_rtp_ip", "$HUNTSMAN_EXTERNAL_IP") in directives("env-set")
    assert "stun" not in "".join(data).lower()


def test_sip_profile_listens_on_5060_with_explicit_external_addresses() -> None:
    profile = params(parse("sip_profiles/internal.xml"))
    assert expand(profile["sip-port"]) == "5060"
    assert profile["ext-rtp-ip"] == "$${external_rtp_ip}"
    assert profile["ext-sip-ip"] == "$${external_sip_ip}"
    assert profile["auth-calls"] == "true"
    assert profile["context"] == "public"


def test_switch_limits_are_set() -> None:
    settings = params(parse("autoload_configs/switch.conf.xml"))
    assert int(settings["sessions-per-second"]) >= 30
    assert int(settings["max-sessions"]) > 0
    start = int(expand(settings["rtp-start-port"]))
    end = int(expand(settings["rtp-end-port"]))
    assert 0 < end - start < 1000


def test_only_the_modules_huntsman_uses_are_loaded() -> None:
    loaded = [el.get("module") for el in parse("autoload_configs/modules.conf.xml").iter("load")]
    assert sorted(loaded) == sorted(
        [
            "mod_console",
            "mod_logfile",
            "mod_event_socket",
            "mod_sofia",
            "mod_loopback",
            "mod_commands",
            "mod_dptools",
            "mod_dialplan_xml",
            "mod_voicemail",
            "mod_say_en",
            "mod_sndfile",
            "mod_native_file",
            "mod_tone_stream",
        ]
    )


def test_directory_has_the_example_users_without_literal_passwords() -> None:
    users = {u.get("id"): params(u) for u in parse("directory/huntsman.xml").iter("user")}
    assert sorted(users) == ["1001", "1002", "1003", "1004", "1005"]
    for user_id, user_params in users.items():
        assert user_params["password"] == "$${default_password}", user_id
        assert user_params["vm-password"] == "$${voicemail_pin}", user_id
    assert "default_password" not in dict(directives("set"))
    assert ("default_password", "$HUNTSMAN_SIP_PASSWORD") in directives("env-set")
