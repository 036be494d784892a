"""`huntsman report`: CSV and JSON files, and the signed webhook to a local HTTP server; private
actions absent from the employer's files and webhook."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from huntsman import report
from tests.web.conftest import World

SECRET = "s3cret-s3cret-s3cret"


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="huntsman")
    report.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *argv])
    return int(args.func(args))


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("DATABASE_URL", world.url)
    return world


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 204

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"headers": dict(self.headers), "body": body})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 204})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def _set_webhook(world: World, account_id: int, url: str) -> None:
    with psycopg.connect(world.url) as conn:
        conn.execute(
            "INSERT INTO billing.account_webhook (account_id, domain_id, url, secret)"
            " SELECT id, domain_id, %s, %s FROM billing.account WHERE id = %s"
            " ON CONFLICT (account_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret",
            (url, SECRET, account_id),
        )


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_employer_export_omits_private_actions(cli_env: World, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    account = cli_env.phone.business_account_id
    assert (
        _run(
            "--account",
            str(account),
            "--from",
            "2026-06-01",
            "--to",
            "2026-06-30",
            "--format",
            fmt,
            "-o",
            str(out),
        )
        == 0
    )
    text = out.read_text()
    assert "+442071234567" in text  # the work call
    assert "+336" not in text  # the private call and SMS
    if fmt == "json":
        data = json.loads(text, parse_float=Decimal)
        assert data["totals"] == {
            "count": 1,
            "amount": Decimal("0.90"),
            "currency": "EUR",
            "by_action": {"outgoing_call": {"count": 1, "amount": Decimal("0.90"), "quantity": 90}},
        }
    else:
        assert text.splitlines()[-1].split(",")[1] == "total"


def test_bad_period_exits_2(cli_env: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--account", "1", "--from", "2026-06-30", "--to", "2026-06-01") == 2
    assert "period is empty" in capsys.readouterr().err


def test_unknown_account_exits_1(cli_env: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--account", "999999", "--from", "2026-06-01", "--to", "2026-06-30") == 1
    assert "999999 does not exist" in capsys.readouterr().err


def test_webhook_is_signed_and_omits_private_actions(
    cli_env: World, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    account = cli_env.phone.business_account_id
    _set_webhook(cli_env, account, url)
    assert (
        _run("--account", str(account), "--from", "2026-06-01", "--to", "2026-06-30", "--webhook")
        == 0
    )
    (delivery,) = handler.received
    body = delivery["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivery["headers"]["X-Huntsman-Signature"], expected)
    payload = json.loads(body, parse_float=Decimal)
    assert payload["type"] == "billing.period_report" and payload["account_id"] == account
    assert [line["charge_id"] for line in payload["report"]["lines"]] == [cli_env.work_charge_id]
    assert payload["report"]["totals"]["amount"] == Decimal("0.90")
    assert b"+336" not in body


def test_webhook_refused_by_receiver_exits_1(
    cli_env: World, receiver: tuple[str, type[_Receiver]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, handler = receiver
    handler.status = 500
    _set_webhook(cli_env, cli_env.phone.business_account_id, url)
    code = _run(
        "--account",
        str(cli_env.phone.business_account_id),
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-30",
        "--webhook",
    )
    assert code == 1
    assert "answered 500" in capsys.readouterr().err


def test_account_without_webhook_exits_1(
    cli_env: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(
        "--account",
        str(cli_env.phone.personal_account_id),
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-30",
        "--webhook",
    )
    assert code == 1
    assert "has no webhook" in capsys.readouterr().err
