"""Agents and queues in the JSON API: log in, log out and break with a device token (own agent
only) or a domain_admin token (its domain only); a queue's status; clear 400/401/403/404."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg.rows import dict_row

from tests.billing import billing_factories as bf
from tests.queue.builders import make_queue
from tests.sql import factories as f
from tests.web.conftest import bearer
from web.app import close_pool, create_app


@dataclass(frozen=True)
class Office:
    """example.com: queue Support with Alice (a user agent: her desk phone and mobile) and Bob
    (a device agent); other.example: a queue and an agent of another tenant."""

    url: str
    queue_id: int
    alice_agent: int
    bob_agent: int
    other_queue_id: int
    other_agent: int
    tokens: dict[str, str]


def _agent(conn: psycopg.Connection[Any], domain_id: int, queue_id: int, **who: int) -> int:
    (column, value), *_ = who.items()
    agent = conn.execute(
        f"INSERT INTO queue.agent (domain_id, {column}, name) VALUES (%s, %s, %s) RETURNING id",
        (domain_id, value, f"agent {column} {value}"),
    ).fetchone()["id"]
    conn.execute(
        "INSERT INTO queue.member (domain_id, queue_id, agent_id) VALUES (%s, %s, %s)",
        (domain_id, queue_id, agent),
    )
    return int(agent)


def _token(conn: psycopg.Connection[Any], kind: str, subject: int) -> str:
    return str(
        conn.execute("SELECT billing.issue_token(%s, %s) AS t", (kind, subject)).fetchone()["t"]
    )


@pytest.fixture(scope="module")
def office(make_database: Callable[..., str]) -> Office:
    url = make_database()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        domain = f.make_domain(conn, "example.com")
        alice = f.make_user(conn, domain, "Alice")
        f.make_device(conn, domain, "1001", user_id=alice)
        alice_mobile = f.make_device(conn, domain, "1011", user_id=alice)
        bob_desk = f.make_device(conn, domain, "1002")
        queue_id = make_queue(conn, domain, name="Support", extension="500")
        account = bf.make_account(conn, domain, "Alice private")

        other = f.make_domain(conn, "other.example")
        other_device = f.make_device(conn, other, "2001")
        other_queue = make_queue(conn, other, name="Other support", extension="500")
        office = Office(
            url=url,
            queue_id=queue_id,
            alice_agent=_agent(conn, domain, queue_id, user_id=alice),
            bob_agent=_agent(conn, domain, queue_id, device_id=bob_desk),
            other_queue_id=other_queue,
            other_agent=_agent(conn, other, other_queue, device_id=other_device),
            tokens={
                "admin": _token(conn, "domain_admin", domain),
                "alice_mobile": _token(conn, "device", alice_mobile),
                "bob_desk": _token(conn, "device", bob_desk),
                "account": _token(conn, "account", account),
                "other_admin": _token(conn, "domain_admin", other),
                "other_device": _token(conn, "device", other_device),
            },
        )
        conn.commit()
    return office


@pytest.fixture(scope="module")
def app(office: Office) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": office.url, "TESTING": True, "SECRET_KEY": "test"})
    yield app
    close_pool(app)


@pytest.fixture
def client(app: Flask, office: Office) -> FlaskClient:
    """A test client; every agent starts logged out."""
    with psycopg.connect(office.url) as conn:
        conn.execute(
            "UPDATE queue.agent SET state = 'logged_out', state_since = NULL, idle_since = NULL,"
            " break_reason = NULL, no_answer_count = 0"
        )
    return app.test_client()


def agent_row(office: Office, agent_id: int) -> dict[str, Any]:
    with psycopg.connect(office.url, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT state::text, state_since, idle_since, break_reason FROM queue.agent"
            " WHERE id = %s",
            (agent_id,),
        ).fetchone()
    assert row is not None
    return row


def as_(office: Office, who: str) -> dict[str, str]:
    return bearer(office.tokens[who])


# --- what the endpoints do ---------------------------------------------------------------------


def test_admin_logs_an_agent_in_then_out(client: FlaskClient, office: Office) -> None:
    before = datetime.now(UTC)
    response = client.post(
        f"/api/v1/agents/{office.alice_agent}/login", headers=as_(office, "admin")
    )
    after = datetime.now(UTC)
    assert response.status_code == 200
    assert response.get_json() == {
        "agent_id": office.alice_agent,
        "state": "available",
        "changed": True,
    }
    row = agent_row(office, office.alice_agent)
    assert row["state"] == "available"
    assert before <= row["idle_since"] <= after  # p_now is the server's clock
    again = client.post(f"/api/v1/agents/{office.alice_agent}/login", headers=as_(office, "admin"))
    assert again.get_json() == {
        "agent_id": office.alice_agent,
        "state": "available",
        "changed": False,
    }

    response = client.post(
        f"/api/v1/agents/{office.alice_agent}/logout", headers=as_(office, "admin")
    )
    assert response.status_code == 200
    assert response.get_json()["state"] == "logged_out"
    assert agent_row(office, office.alice_agent)["state"] == "logged_out"


def test_break_with_a_reason_then_back(client: FlaskClient, office: Office) -> None:
    url = f"/api/v1/agents/{office.bob_agent}"
    headers = as_(office, "admin")
    client.post(f"{url}/login", headers=headers)
    response = client.post(f"{url}/break", json={"on": True, "reason": "lunch"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "agent_id": office.bob_agent,
        "state": "on_break",
        "changed": True,
    }
    row = agent_row(office, office.bob_agent)
    assert (row["state"], row["break_reason"]) == ("on_break", "lunch")

    response = client.post(f"{url}/break", json={"on": False}, headers=headers)
    assert response.get_json() == {
        "agent_id": office.bob_agent,
        "state": "available",
        "changed": True,
    }
    row = agent_row(office, office.bob_agent)
    assert (row["state"], row["break_reason"]) == ("available", None)


def test_a_logged_out_agent_cannot_go_on_break(client: FlaskClient, office: Office) -> None:
    response = client.post(
        f"/api/v1/agents/{office.bob_agent}/break", json={"on": True}, headers=as_(office, "admin")
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "agent_id": office.bob_agent,
        "state": "logged_out",
        "changed": False,
    }


@pytest.mark.parametrize(
    ("token", "agent"),
    [
        pytest.param("alice_mobile", "alice_agent", id="user-agent-by-one-of-the-users-devices"),
        pytest.param("bob_desk", "bob_agent", id="device-agent-by-its-device"),
    ],
)
def test_device_token_acts_on_its_own_agent(
    client: FlaskClient, office: Office, token: str, agent: str
) -> None:
    agent_id = getattr(office, agent)
    url = f"/api/v1/agents/{agent_id}"
    assert (
        client.post(f"{url}/login", headers=as_(office, token)).get_json()["state"] == "available"
    )
    on_break = client.post(f"{url}/break", json={"on": True}, headers=as_(office, token))
    assert on_break.get_json()["state"] == "on_break"
    assert (
        client.post(f"{url}/logout", headers=as_(office, token)).get_json()["state"] == "logged_out"
    )
    assert agent_row(office, agent_id)["state"] == "logged_out"


def test_queue_status_shows_the_agents(client: FlaskClient, office: Office) -> None:
    headers = as_(office, "admin")
    client.post(f"/api/v1/agents/{office.alice_agent}/login", headers=headers)
    client.post(f"/api/v1/agents/{office.bob_agent}/login", headers=headers)
    client.post(f"/api/v1/agents/{office.bob_agent}/break", json={"on": True}, headers=headers)
    response = client.get(f"/api/v1/queues/{office.queue_id}/status", headers=headers)
    assert response.status_code == 200
    status = response.get_json()
    assert status["queue"]["name"] == "Support"
    assert status["agents"] == {"available": 1, "on_break": 1}
    assert {a["agent_id"]: a["state"] for a in status["agent_list"]} == {
        office.alice_agent: "available",
        office.bob_agent: "on_break",
    }
    assert status["callers"] == []


# --- who may do it -----------------------------------------------------------------------------

ENDPOINTS = [
    pytest.param(("post", "/api/v1/agents/{alice_agent}/login"), id="login"),
    pytest.param(("post", "/api/v1/agents/{alice_agent}/logout"), id="logout"),
    pytest.param(("post", "/api/v1/agents/{alice_agent}/break"), id="break"),
    pytest.param(("get", "/api/v1/queues/{queue_id}/status"), id="status"),
]


def call(client: FlaskClient, office: Office, endpoint: tuple[str, str], **kw: Any) -> Any:
    method, template = endpoint
    url = template.format(**vars(office))
    if method == "post":
        return client.post(url, json={"on": True}, **kw)
    return client.get(url, **kw)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, "missing_token", id="no-authorization-header"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_token", id="basic-auth"),
        pytest.param(bearer("not-a-token"), "invalid_token", id="malformed-token"),
        pytest.param(bearer("hmt_999999_" + "0" * 64), "invalid_token", id="unknown-token-id"),
    ],
)
def test_missing_or_bad_token_is_401(
    client: FlaskClient,
    office: Office,
    endpoint: tuple[str, str],
    headers: dict[str, str],
    code: str,
) -> None:
    response = call(client, office, endpoint, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert agent_row(office, office.alice_agent)["state"] == "logged_out"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_right_id_wrong_secret_is_401(
    client: FlaskClient, office: Office, endpoint: tuple[str, str]
) -> None:
    prefix, _, secret = office.tokens["admin"].rpartition("_")
    forged = f"{prefix}_{'f' * len(secret) if secret[0] != 'f' else '0' * len(secret)}"
    response = call(client, office, endpoint, headers=bearer(forged))
    assert response.status_code == 401


def test_revoked_token_is_401(client: FlaskClient, office: Office) -> None:
    with psycopg.connect(office.url, row_factory=dict_row) as conn:
        domain_id = conn.execute("SELECT id FROM cfg.domain WHERE name = 'example.com'").fetchone()
        token = _token(conn, "domain_admin", domain_id["id"])
        conn.execute(
            "UPDATE billing.api_token SET revoked_at = now() WHERE id = %s",
            (int(token.split("_")[1]),),
        )
    response = client.post(f"/api/v1/agents/{office.alice_agent}/login", headers=bearer(token))
    assert response.status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_account_token_is_403(
    client: FlaskClient, office: Office, endpoint: tuple[str, str]
) -> None:
    response = call(client, office, endpoint, headers=as_(office, "account"))
    assert response.status_code == 403
    assert response.get_json()["error"] == "wrong_token_kind"


@pytest.mark.parametrize(
    ("token", "endpoint"),
    [
        pytest.param(
            "other_admin", ("post", "/api/v1/agents/{alice_agent}/login"), id="other-admin-login"
        ),
        pytest.param(
            "other_admin", ("post", "/api/v1/agents/{alice_agent}/break"), id="other-admin-break"
        ),
        pytest.param(
            "other_device", ("post", "/api/v1/agents/{alice_agent}/login"), id="other-device-login"
        ),
        pytest.param(
            "admin", ("post", "/api/v1/agents/{other_agent}/login"), id="admin-other-agent"
        ),
        pytest.param(
            "admin", ("get", "/api/v1/queues/{other_queue_id}/status"), id="admin-other-queue"
        ),
    ],
)
def test_another_domain_is_403(
    client: FlaskClient, office: Office, token: str, endpoint: tuple[str, str]
) -> None:
    response = call(client, office, endpoint, headers=as_(office, token))
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    for agent in (office.alice_agent, office.other_agent):
        assert agent_row(office, agent)["state"] == "logged_out"


@pytest.mark.parametrize("action", ["login", "logout", "break"])
def test_device_token_cannot_change_another_agent(
    client: FlaskClient, office: Office, action: str
) -> None:
    client.post(f"/api/v1/agents/{office.alice_agent}/login", headers=as_(office, "admin"))
    response = client.post(
        f"/api/v1/agents/{office.alice_agent}/{action}",
        json={"on": True},
        headers=as_(office, "bob_desk"),
    )
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert agent_row(office, office.alice_agent)["state"] == "available"


def test_device_token_cannot_read_a_queue(client: FlaskClient, office: Office) -> None:
    response = client.get(
        f"/api/v1/queues/{office.queue_id}/status", headers=as_(office, "bob_desk")
    )
    assert response.status_code == 403
    assert response.get_json()["error"] == "wrong_token_kind"


def test_a_deleted_domains_admin_token_stops_working(client: FlaskClient, office: Office) -> None:
    with psycopg.connect(office.url, row_factory=dict_row) as conn:
        gone = f.make_domain(conn, "gone.example")
        token = _token(conn, "domain_admin", gone)
    url = f"/api/v1/queues/{office.queue_id}/status"
    assert client.get(url, headers=bearer(token)).status_code == 403  # valid, foreign domain
    with psycopg.connect(office.url) as conn:
        conn.execute("DELETE FROM cfg.domain WHERE id = %s", (gone,))
    assert client.get(url, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("kind", "subject", "message"),
    [
        pytest.param(
            "domain_admin", 999999, "domain_admin 999999 does not exist", id="unknown-domain"
        ),
        pytest.param(
            "root", 1, "token kind must be device, account or domain_admin", id="unknown-kind"
        ),
    ],
)
def test_issue_token_refuses_unknown_kind_or_domain(
    office: Office, kind: str, subject: int, message: str
) -> None:
    with psycopg.connect(office.url) as conn, pytest.raises(psycopg.Error, match=message) as exc:
        conn.execute("SELECT billing.issue_token(%s, %s)", (kind, subject))
    assert exc.value.sqlstate == "HMB02"


# --- bad input, unknown objects ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param("not json", "body", id="body-not-json"),
        pytest.param([True], "body", id="body-not-an-object"),
        pytest.param({}, "on", id="on-missing"),
        pytest.param({"on": "yes"}, "on", id="on-a-string"),
        pytest.param({"on": 1}, "on", id="on-a-number"),
        pytest.param({"on": True, "reason": 5}, "reason", id="reason-not-a-string"),
        pytest.param({"on": True, "reason": "x" * 81}, "reason", id="reason-too-long"),
        pytest.param({"on": True, "reason": "lunch\nbreak"}, "reason", id="reason-control-char"),
    ],
)
def test_bad_break_body_is_400_with_the_field(
    client: FlaskClient, office: Office, body: Any, field: str
) -> None:
    client.post(f"/api/v1/agents/{office.bob_agent}/login", headers=as_(office, "admin"))
    url = f"/api/v1/agents/{office.bob_agent}/break"
    if isinstance(body, str):
        response = client.post(
            url, data=body, headers=as_(office, "admin"), content_type="application/json"
        )
    else:
        response = client.post(url, json=body, headers=as_(office, "admin"))
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "invalid_body" and answer["field"] == field and answer["message"]
    assert agent_row(office, office.bob_agent)["state"] == "available"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        pytest.param("/api/v1/agents/abc/login", "agent_id", id="agent-id-not-a-number"),
        pytest.param("/api/v1/agents/0/logout", "agent_id", id="agent-id-zero"),
        pytest.param("/api/v1/agents/-4/break", "agent_id", id="agent-id-negative"),
        pytest.param(
            "/api/v1/agents/99999999999999999999/login", "agent_id", id="agent-id-past-bigint"
        ),
        pytest.param("/api/v1/queues/x/status", "queue_id", id="queue-id-not-a-number"),
    ],
)
def test_bad_id_is_400(client: FlaskClient, office: Office, url: str, field: str) -> None:
    headers = as_(office, "admin")
    if url.endswith("status"):
        response = client.get(url, headers=headers)
    else:
        response = client.post(url, json={"on": True}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


@pytest.mark.parametrize(
    ("method", "url", "code"),
    [
        pytest.param("post", "/api/v1/agents/999999/login", "unknown_agent", id="login"),
        pytest.param("post", "/api/v1/agents/999999/logout", "unknown_agent", id="logout"),
        pytest.param("post", "/api/v1/agents/999999/break", "unknown_agent", id="break"),
        pytest.param("get", "/api/v1/queues/999999/status", "unknown_queue", id="status"),
    ],
)
def test_unknown_agent_or_queue_is_404(
    client: FlaskClient, office: Office, method: str, url: str, code: str
) -> None:
    headers = as_(office, "admin")
    if method == "post":
        response = client.post(url, json={"on": True}, headers=headers)
    else:
        response = client.get(url, headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == code
