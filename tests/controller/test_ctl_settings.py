"""Settings from the environment."""

import pytest

from controller.plan import TransferStep
from controller.settings import Settings, SettingsError


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.esl_host, s.esl_port) == ("127.0.0.1", 8084)
    assert s.fallback == TransferStep("fallback", "XML", "fallback")
    assert s.freeswitch == ()


def test_values() -> None:
    s = Settings.from_env(
        {
            "HUNTSMAN_ESL_LISTEN": "0.0.0.0:9000",
            "DATABASE_URL": "postgresql://x/y",
            "HUNTSMAN_MAX_CALLS": "5",
            "HUNTSMAN_FREESWITCH": "fs1:8021:ClueCon, fs2:8022:s3cr:et",
            "HUNTSMAN_FALLBACK": "operator XML default",
            "HUNTSMAN_PLAN_TIMEOUT": "0.25",
            "HUNTSMAN_LOG_LEVEL": "DEBUG",
        }
    )
    assert s.esl_port == 9000 and s.max_calls == 5 and s.plan_timeout == 0.25
    assert [n.name for n in s.freeswitch] == ["fs1:8021", "fs2:8022"]
    assert s.freeswitch[1].password == "s3cr:et"
    assert "s3cr" not in repr(s)
    assert s.fallback.argument == "operator XML default"
    assert s.log_level == "debug"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUNTSMAN_ESL_LISTEN", "8084"),
        ("HUNTSMAN_MAX_CALLS", "0"),
        ("HUNTSMAN_MAX_CALLS", "ten"),
        ("HUNTSMAN_PLAN_TIMEOUT", "-1"),
        ("HUNTSMAN_PLAN_TIMEOUT", "nan"),
        ("HUNTSMAN_FREESWITCH", "fs1:8021"),
        ("HUNTSMAN_FALLBACK", "fallback"),
        ("HUNTSMAN_LOG_LEVEL", "loud"),
        ("HUNTSMAN_LOG_FORMAT", "xml"),
    ],
)
def test_invalid_values(name: str, value: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({name: value})


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_log_format(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import structlog

    from controller import logs

    settings = Settings.from_env({"HUNTSMAN_LOG_FORMAT": fmt})
    assert settings.log_format == fmt
    before = structlog.get_config()  # restored as it was: later tests keep their own stdout
    logs.configure("info", settings.log_format)
    try:
        logs.get_logger().info("call_planned", route="number")
        line = capsys.readouterr().out.strip().splitlines()[-1]
    finally:
        structlog.configure(**before)
    if fmt == "json":
        assert json.loads(line)["event"] == "call_planned"
    else:
        assert "call_planned" in line and "route=number" in line and not line.startswith("{")
