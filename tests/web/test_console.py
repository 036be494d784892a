"""The admin console: sign-in (lockout, safe cookies), CSRF on every form, queue pages scoped to
the admin's domain, agent actions through the forms, escaping of hostile names, and
`huntsman admin create`. CSRF is on in every test here: forms are posted with the token the page
carried, as a browser would."""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import conninfo
from psycopg.rows import dict_row
from werkzeug.security import check_password_hash, generate_password_hash

from huntsman import admin as admin_cli
from tests.queue.builders import make_queue
from tests.sql import factories as f
from web.app import close_pool, create_app, get_pool
from web.login_throttle import LoginThrottle

PASSWORD = "correct horse battery staple"
HOSTILE = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Site:
    """example.com: queue Support (Alice, a user agent; Bob, a device agent) and a queue and an
    agent with hostile names; other.example: a queue and an agent of another tenant."""

    url: str
    queue_id: int
    alice: int
    bob: int
    hostile_queue_id: int
    hostile_agent: int
    other_queue_id: int
    other_agent: int


def _agent(conn: psycopg.Connection[Any], domain: int, queue: int, name: str, **who: int) -> int:
    (column, value), *_ = who.items()
    agent = conn.execute(
        f"INSERT INTO queue.agent (domain_id, {column}, name) VALUES (%s, %s, %s) RETURNING id",
        (domain, value, name),
    ).fetchone()["id"]
    conn.execute(
        "INSERT INTO queue.member (domain_id, queue_id, agent_id) VALUES (%s, %s, %s)",
        (domain, queue, agent),
    )
    return int(agent)


@pytest.fixture(scope="module")
def site(make_database: Callable[..., str]) -> Site:
    url = make_database()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        domain = f.make_domain(conn, "example.com")
        alice = f.make_user(conn, domain, "Alice")
        f.make_device(conn, domain, "1001", user_id=alice)
        bob_desk = f.make_device(conn, domain, "1002")
        hostile_desk = f.make_device(conn, domain, "1003")
        queue_id = make_queue(conn, domain, name="Support", extension="500")
        hostile_queue = make_queue(conn, domain, name=HOSTILE, extension="501")
        other = f.make_domain(conn, "other.example")
        other_device = f.make_device(conn, other, "2001")
        other_queue = make_queue(conn, other, name="Other support", extension="500")
        site = Site(
            url=url,
            queue_id=queue_id,
            alice=_agent(conn, domain, queue_id, "Alice", user_id=alice),
            bob=_agent(conn, domain, queue_id, "Bob", device_id=bob_desk),
            hostile_queue_id=hostile_queue,
            hostile_agent=_agent(
                conn,
                domain,
                hostile_queue,
                '<img src=x onerror="alert(2)">',
                device_id=hostile_desk,
            ),
            other_queue_id=other_queue,
            other_agent=_agent(conn, other, other_queue, "Other agent", device_id=other_device),
        )
        admin_cli.create_admin(conn, "example.com", "Admin@Example.com", PASSWORD)
        admin_cli.create_admin(conn, "example.com", "locked@example.com", PASSWORD)
        admin_cli.create_admin(conn, "example.com", "rotated@example.com", PASSWORD)
        admin_cli.create_admin(conn, "example.com", "parallel@example.com", PASSWORD)
        admin_cli.create_admin(conn, "other.example", "admin@other.example", PASSWORD)
        conn.commit()
    return site


@pytest.fixture(scope="module")
def app(site: Site) -> Iterator[Flask]:
    app = create_app(
        {"DATABASE_URL": site.url, "TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": True}
    )
    yield app
    close_pool(app)


@pytest.fixture
def client(app: Flask, site: Site) -> FlaskClient:
    """A signed-out browser; every agent starts logged out."""
    with psycopg.connect(site.url) as conn:
        conn.execute(
            "UPDATE queue.agent SET state = 'logged_out', state_since = NULL, idle_since = NULL,"
            " break_reason = NULL, no_answer_count = 0"
        )
    return app.test_client()


@pytest.fixture
def admin(client: FlaskClient) -> FlaskClient:
    """A browser signed in as the admin of example.com."""
    response = sign_in(client, "admin@example.com", PASSWORD)
    assert response.status_code == 303, response.text
    return client


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str, **kw: Any) -> Any:
    page = client.get("/console/login", **kw)
    data = {"csrf_token": csrf_token(page.text), "email": email, "password": password}
    return client.post("/console/login", data=data, **kw)


def post_form(client: FlaskClient, page_url: str, action_url: str, **fields: str) -> Any:
    """Submit a form of `page_url` as a browser does: with the token the page carried."""
    page = client.get(page_url)
    assert page.status_code == 200
    return client.post(action_url, data={"csrf_token": csrf_token(page.text), **fields})


def action_url(queue_id: int, agent_id: int, action: str) -> str:
    return f"/console/queues/{queue_id}/agents/{agent_id}/{action}"


def agent_row(site: Site, agent_id: int) -> dict[str, Any]:
    with psycopg.connect(site.url, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT state::text, idle_since, break_reason FROM queue.agent WHERE id = %s",
            (agent_id,),
        ).fetchone()
    assert row is not None
    return row


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/console/queues").status_code == 200


# --- signing in and out ------------------------------------------------------------------------


def test_sign_in_opens_the_queues_with_a_safe_session_cookie(client: FlaskClient) -> None:
    response = sign_in(client, "  ADMIN@example.com ", PASSWORD)  # any case, stray spaces
    assert response.status_code == 303
    assert response.location == "/console/queues"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # ends 12 hours after the last request
    page = client.get("/console/queues")
    assert page.status_code == 200
    assert "Signed in as admin@example.com." in page.text


def test_secure_cookie_when_configured(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTSMAN_SECURE_COOKIES", "1")
    app = create_app({"DATABASE_URL": site.url, "TESTING": True, "SECRET_KEY": "test"})
    try:
        response = sign_in(app.test_client(), "admin@example.com", PASSWORD)
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if "session=" in c)
        assert "Secure" in cookie
    finally:
        close_pool(app)


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        pytest.param(
            "admin@example.com", "wrong password!", "Wrong email or password.", id="wrong-password"
        ),
        pytest.param(
            "nobody@example.com", PASSWORD, "Wrong email or password.", id="unknown-email"
        ),
        pytest.param("admin@example.com", "", "This field is required.", id="empty-password"),
    ],
)
def test_failed_sign_in_says_so_and_signs_nobody_in(
    client: FlaskClient, email: str, password: str, message: str
) -> None:
    response = sign_in(client, email, password)
    assert response.status_code == 200
    assert message in response.text
    assert not is_signed_in(client)


def test_repeated_failures_lock_the_email_from_that_address(client: FlaskClient) -> None:
    codes = [sign_in(client, "locked@example.com", f"guess {n}").status_code for n in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    locked = sign_in(client, "locked@example.com", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert "Too many failed sign-ins: try again in 15 minutes." in locked.text
    assert int(locked.headers["Retry-After"]) > 800
    assert not is_signed_in(client)
    # another address is not locked out
    elsewhere = sign_in(
        client, "locked@example.com", PASSWORD, environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert elsewhere.status_code == 303


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        pytest.param("/console/queues/{queue_id}", "/console/queues/{queue_id}", id="console-page"),
        pytest.param("https://evil.example/console/", "/console/queues", id="other-site"),
        pytest.param("//evil.example/console/", "/console/queues", id="scheme-relative"),
        pytest.param("/\\evil.example", "/console/queues", id="backslash"),
        pytest.param("/api/v1/usage", "/console/queues", id="outside-the-console"),
        pytest.param(
            "/console/queues/{queue_id}/agents/1/login", "/console/queues", id="post-only-action"
        ),
        pytest.param("/console/nowhere", "/console/queues", id="no-such-page"),
    ],
)
def test_sign_in_returns_only_to_a_console_page(
    client: FlaskClient, site: Site, target: str, landing: str
) -> None:
    target = target.format(queue_id=site.queue_id)
    page = client.get("/console/login", query_string={"next": target})
    response = client.post(
        "/console/login",
        query_string={"next": target},
        data={
            "csrf_token": csrf_token(page.text),
            "email": "admin@example.com",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    assert response.location == landing.format(queue_id=site.queue_id)


def test_sign_out(admin: FlaskClient) -> None:
    response = post_form(admin, "/console/queues", "/console/logout")
    assert response.status_code == 303
    assert response.location == "/console/login"
    assert not is_signed_in(admin)


def test_parallel_guesses_cannot_outrun_the_lockout(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 sign-ins at once, the right password last: 5 passwords are checked, all are refused."""
    import gevent

    from web import console_auth

    checked: list[str] = []

    def counting_check(stored: str, password: str) -> bool:
        checked.append(password)
        return check_password_hash(stored, password)

    monkeypatch.setattr(console_auth, "check_password_hash", counting_check)
    passwords = [f"guess {n}" for n in range(19)] + [PASSWORD]
    jobs = [
        gevent.spawn(lambda p: sign_in(app.test_client(), "parallel@example.com", p), password)
        for password in passwords
    ]
    gevent.joinall(jobs, raise_error=True)
    assert len(checked) == 5 and PASSWORD not in checked
    assert {job.value.status_code for job in jobs} <= {200, 429}
    assert jobs[-1].value.status_code == 429


def test_a_new_password_ends_existing_sessions(client: FlaskClient, site: Site) -> None:
    assert sign_in(client, "rotated@example.com", PASSWORD).status_code == 303
    assert is_signed_in(client)
    with psycopg.connect(site.url) as conn:
        conn.execute(
            "UPDATE console.admin_user SET password_hash = %s WHERE email = 'rotated@example.com'",
            (generate_password_hash("a brand new password"),),
        )
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/console/", id="console-root"),
        pytest.param("/console/queues", id="queues"),
        pytest.param("/console/queues/{queue_id}", id="queue"),
    ],
)
def test_pages_need_a_signed_in_admin(client: FlaskClient, site: Site, path: str) -> None:
    path = path.format(queue_id=site.queue_id)
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/console/login?next=")
    assert "Support" not in response.text


def test_actions_need_a_signed_in_admin(client: FlaskClient, site: Site) -> None:
    response = post_form(client, "/console/login", action_url(site.queue_id, site.alice, "login"))
    assert response.status_code == 302
    assert response.location.startswith("/console/login")
    assert agent_row(site, site.alice)["state"] == "logged_out"


# --- CSRF --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token", [pytest.param(None, id="no-token"), pytest.param("forged", id="forged-token")]
)
def test_agent_action_without_a_valid_csrf_token_is_refused(
    admin: FlaskClient, site: Site, token: str | None
) -> None:
    data = {} if token is None else {"csrf_token": token}
    response = admin.post(action_url(site.queue_id, site.alice, "login"), data=data)
    assert response.status_code == 400
    assert "no valid security token" in response.text
    assert agent_row(site, site.alice)["state"] == "logged_out"


def test_sign_in_and_sign_out_without_csrf_token_are_refused(
    client: FlaskClient, admin: FlaskClient
) -> None:
    assert admin.post("/console/logout").status_code == 400
    assert is_signed_in(admin)
    fresh = client.application.test_client()
    refused = fresh.post(
        "/console/login", data={"email": "admin@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 400
    assert not is_signed_in(fresh)


def test_the_json_api_stays_exempt_from_csrf(client: FlaskClient) -> None:
    response = client.post("/api/v1/agents/1/login")  # no token, no cookie: refused by auth only
    assert response.status_code == 401


# --- queue pages -------------------------------------------------------------------------------


def test_queues_page_lists_only_the_admins_domain(admin: FlaskClient, site: Site) -> None:
    post_form(
        admin, f"/console/queues/{site.queue_id}", action_url(site.queue_id, site.bob, "login")
    )
    with psycopg.connect(site.url) as conn:
        conn.execute(
            "INSERT INTO queue.caller (call_uuid, domain_id, queue_id, priority, joined_at,"
            " lease_until) SELECT gen_random_uuid(), domain_id, id, 0, now() - interval '95 s',"
            " now() + interval '1 h' FROM queue.queue WHERE id = %s",
            (site.queue_id,),
        )
    try:
        page = admin.get("/console/queues")
    finally:
        with psycopg.connect(site.url) as conn:
            conn.execute("DELETE FROM queue.caller")
    assert page.status_code == 200
    assert "Other support" not in page.text
    row = re.search(
        rf'<tr>\s*<td>\s*<a href="/console/queues/{site.queue_id}">Support</a>.*?</tr>',
        page.text,
        re.S,
    )
    assert row, page.text
    callers, longest_wait, *agents = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    assert callers == "1" and longest_wait in ("1 min 35 s", "1 min 36 s")
    # available, ringing, on a call, wrap-up, on break, logged out
    assert agents == ["1", "0", "0", "0", "0", "1"]


def test_queue_page_shows_agents_and_their_buttons(admin: FlaskClient, site: Site) -> None:
    page_url = f"/console/queues/{site.queue_id}"
    post_form(admin, page_url, action_url(site.queue_id, site.bob, "login"))
    post_form(admin, page_url, action_url(site.queue_id, site.bob, "break-on"))
    page = admin.get(page_url).text
    alice = re.search(rf'<tr id="agent-{site.alice}">.*?</tr>', page, re.S)
    bob = re.search(rf'<tr id="agent-{site.bob}">.*?</tr>', page, re.S)
    assert alice and bob
    assert "Logged out" in alice.group(0) and "Log in</button>" in alice.group(0)
    assert "Break on" not in alice.group(0)
    assert "On break" in bob.group(0)
    assert "Break off</button>" in bob.group(0) and "Log out</button>" in bob.group(0)
    assert "No callers waiting." in page


def test_an_admin_logs_an_agent_in_puts_them_on_break_and_logs_them_out(
    admin: FlaskClient, site: Site
) -> None:
    page_url = f"/console/queues/{site.queue_id}"
    before = datetime.now(UTC)
    response = post_form(admin, page_url, action_url(site.queue_id, site.alice, "login"))
    assert response.status_code == 303
    assert response.location == page_url
    row = agent_row(site, site.alice)
    assert row["state"] == "available"
    assert before <= row["idle_since"] <= datetime.now(UTC)  # the server's clock
    assert "Alice is logged in." in admin.get(page_url).text

    response = post_form(
        admin, page_url, action_url(site.queue_id, site.alice, "break-on"), reason=" lunch "
    )
    assert response.status_code == 303
    row = agent_row(site, site.alice)
    assert (row["state"], row["break_reason"]) == ("on_break", "lunch")
    assert "Alice is on break." in admin.get(page_url).text

    post_form(admin, page_url, action_url(site.queue_id, site.alice, "break-off"))
    assert agent_row(site, site.alice)["state"] == "available"
    assert "Alice is back from break." in admin.get(page_url).text

    post_form(admin, page_url, action_url(site.queue_id, site.alice, "logout"))
    assert agent_row(site, site.alice)["state"] == "logged_out"
    assert "Alice is logged out." in admin.get(page_url).text


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param("logout", "Bob was already logged out.", id="logout-when-logged-out"),
        pytest.param("break-on", "Bob is logged out: log in first.", id="break-when-logged-out"),
        pytest.param("break-off", "Bob is logged out: log in first.", id="back-when-logged-out"),
    ],
)
def test_an_action_that_changes_nothing_says_so(
    admin: FlaskClient, site: Site, action: str, message: str
) -> None:
    page_url = f"/console/queues/{site.queue_id}"
    response = post_form(admin, page_url, action_url(site.queue_id, site.bob, action))
    assert response.status_code == 303
    assert message in admin.get(page_url).text
    assert agent_row(site, site.bob)["state"] == "logged_out"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        pytest.param("x" * 81, "The reason is 81 characters long: at most 80.", id="too-long"),
        pytest.param("lunch\x07", "The reason must not contain control characters.", id="control"),
    ],
)
def test_a_bad_break_reason_is_a_form_error(
    admin: FlaskClient, site: Site, reason: str, message: str
) -> None:
    page_url = f"/console/queues/{site.queue_id}"
    post_form(admin, page_url, action_url(site.queue_id, site.bob, "login"))
    response = post_form(
        admin, page_url, action_url(site.queue_id, site.bob, "break-on"), reason=reason
    )
    assert response.status_code == 422
    assert message in response.text
    assert agent_row(site, site.bob)["state"] == "available"


# --- tenant isolation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/console/queues/{other_queue_id}", id="other-domains-queue"),
        pytest.param("/console/queues/999999", id="unknown-queue"),
    ],
)
def test_a_foreign_or_unknown_queue_is_404(admin: FlaskClient, site: Site, path: str) -> None:
    response = admin.get(path.format(**vars(site)))
    assert response.status_code == 404
    assert "Other support" not in response.text


@pytest.mark.parametrize(
    ("queue", "agent", "action"),
    [
        pytest.param("other_queue_id", "other_agent", "login", id="other-domains-queue-and-agent"),
        pytest.param("queue_id", "other_agent", "login", id="other-domains-agent-in-own-queue"),
        pytest.param("other_queue_id", "alice", "login", id="own-agent-in-other-domains-queue"),
        pytest.param("queue_id", "hostile_agent", "login", id="own-agent-not-in-this-queue"),
        pytest.param("queue_id", "alice", "dance", id="unknown-action"),
    ],
)
def test_an_action_on_a_foreign_agent_is_404(
    admin: FlaskClient, site: Site, queue: str, agent: str, action: str
) -> None:
    url = action_url(getattr(site, queue), getattr(site, agent), action)
    response = post_form(admin, f"/console/queues/{site.queue_id}", url)
    assert response.status_code == 404
    for agent_id in (site.other_agent, site.alice, site.hostile_agent):
        assert agent_row(site, agent_id)["state"] == "logged_out"


def test_the_other_domains_admin_sees_only_theirs(client: FlaskClient, site: Site) -> None:
    sign_in(client, "admin@other.example", PASSWORD)
    page = client.get("/console/queues").text
    assert "Other support" in page and "Support</a>" not in page.replace("Other support", "")
    assert client.get(f"/console/queues/{site.queue_id}").status_code == 404
    response = post_form(client, "/console/queues", action_url(site.queue_id, site.alice, "login"))
    assert response.status_code == 404
    assert agent_row(site, site.alice)["state"] == "logged_out"


def test_the_console_works_with_the_console_roles_rights_only(site: Site) -> None:
    """Deployed, the web process logs in as a member of huntsman_console (docker-compose.yml)."""
    params = conninfo.conninfo_to_dict(site.url)
    params["options"] = "-c role=huntsman_console"
    app = create_app(
        {"DATABASE_URL": conninfo.make_conninfo(**params), "TESTING": True, "SECRET_KEY": "t"}
    )
    try:
        browser = app.test_client()
        with app.app_context(), get_pool(app).connection() as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("huntsman_console",)
        assert sign_in(browser, "admin@example.com", PASSWORD).status_code == 303
        assert "Support" in browser.get("/console/queues").text
        page_url = f"/console/queues/{site.queue_id}"
        response = post_form(browser, page_url, action_url(site.queue_id, site.bob, "login"))
        assert response.status_code == 303
        assert agent_row(site, site.bob)["state"] == "available"
    finally:
        close_pool(app)


# --- escaping ----------------------------------------------------------------------------------


def test_hostile_names_show_as_text(admin: FlaskClient, site: Site) -> None:
    listing = admin.get("/console/queues").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    page_url = f"/console/queues/{site.hostile_queue_id}"
    post_form(admin, page_url, action_url(site.hostile_queue_id, site.hostile_agent, "login"))
    page = admin.get(page_url).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page  # the table and the flash
    assert page.count("&lt;img src=x") == 2
    for text in (listing, page):
        assert "<script>alert" not in text and "<img" not in text


def test_console_pages_forbid_scripts_from_elsewhere_and_framing(admin: FlaskClient) -> None:
    response = admin.get("/console/queues")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"


# --- htmx: fragments, vendored assets ----------------------------------------------------------

HTMX = {"HX-Request": "true"}


def test_htmx_gets_the_live_block_of_a_page(admin: FlaskClient, site: Site) -> None:
    for path in ("/console/queues", f"/console/queues/{site.queue_id}"):
        fragment = admin.get(path, headers=HTMX)
        assert fragment.status_code == 200
        assert re.match(r'\s*<(div|section) id="live"', fragment.text), fragment.text
        assert "<html" not in fragment.text and "<h1>" not in fragment.text
        assert "HX-Request" in fragment.headers["Vary"]
    assert "Alice" in admin.get(f"/console/queues/{site.queue_id}", headers=HTMX).text
    boosted = admin.get("/console/queues", headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in boosted.text  # a boosted page load wants the whole page


def test_htmx_action_answers_with_the_live_block_and_its_flash(
    admin: FlaskClient, site: Site
) -> None:
    page_url = f"/console/queues/{site.queue_id}"
    token = csrf_token(admin.get(page_url).text)
    url = action_url(site.queue_id, site.alice, "login")
    response = admin.post(url, data={"csrf_token": token}, headers=HTMX)
    assert response.status_code == 303  # XMLHttpRequest follows it, HX-Request included
    fragment = admin.get(response.location, headers=HTMX).text
    assert fragment.lstrip().startswith('<section id="live"')
    assert "Alice is logged in." in fragment
    assert agent_row(site, site.alice)["state"] == "available"
    bad = admin.post(
        action_url(site.queue_id, site.alice, "break-on"),
        data={"csrf_token": token, "reason": "x" * 81},
        headers=HTMX,
    )
    assert bad.status_code == 422
    assert bad.text.lstrip().startswith('<section id="live"') and "at most 80" in bad.text


def test_front_end_assets_are_vendored_and_pinned(client: FlaskClient) -> None:
    page = client.get("/console/login").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/static/htmx-2.0.11.min.js" in assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    htmx = client.get("/static/htmx-2.0.11.min.js")
    assert htmx.status_code == 200
    assert htmx.text.startswith("/* htmx.org 2.0.11 from npm") and 'version:"2.0.11"' in htmx.text
    htmx.close()


# --- the lockout policy, on its own clock ------------------------------------------------------


def test_lockout_policy() -> None:
    t0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    throttle = LoginThrottle(
        max_failures=3, window=timedelta(minutes=10), lockout=timedelta(minutes=5)
    )
    assert throttle.record_failure("ip", "a", t0) is None
    assert throttle.record_failure("ip", "a", t0 + timedelta(minutes=11)) is None  # window over
    assert throttle.record_failure("ip", "a", t0 + timedelta(minutes=12)) is None
    until = throttle.record_failure("ip", "a", t0 + timedelta(minutes=13))
    assert until == t0 + timedelta(minutes=18)
    assert throttle.locked_until("ip", "a", t0 + timedelta(minutes=17)) == until
    assert throttle.locked_until("ip", "b", t0 + timedelta(minutes=17)) is None
    assert throttle.locked_until("other-ip", "a", t0 + timedelta(minutes=17)) is None
    assert throttle.locked_until("ip", "a", t0 + timedelta(minutes=18)) is None  # served
    assert throttle.record_failure("ip", "a", t0 + timedelta(minutes=19)) is None  # counts anew
    throttle.record_success("ip", "a")
    assert throttle.record_failure("ip", "a", t0 + timedelta(minutes=20)) is None


def test_lockout_memory_is_bounded() -> None:
    t0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    throttle = LoginThrottle(max_failures=2, max_entries=3)
    throttle.record_failure("ip", "victim", t0)
    for n in range(3):
        throttle.record_failure("ip", f"made-up-{n}", t0)
    assert throttle.record_failure("ip", "victim", t0) is None  # the stalest entry was dropped
    assert throttle.record_failure("ip", "victim", t0) is not None


# --- huntsman admin create ---------------------------------------------------------------------


def run_admin(monkeypatch: pytest.MonkeyPatch, url: str, argv: list[str], stdin: str) -> int:
    """`huntsman admin ...` as the CLI runs it, on the test's database."""
    parser = argparse.ArgumentParser(prog="huntsman")
    admin_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return int(args.func(args))


def test_admin_create_then_sign_in(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    site: Site,
    client: FlaskClient,
) -> None:
    argv = [
        "admin",
        "create",
        "--domain",
        "example.com",
        "--email",
        "New@Example.com",
        "--password-stdin",
    ]
    assert run_admin(monkeypatch, site.url, argv, "a long enough password\n") == 0
    assert "(new@example.com) of example.com" in capsys.readouterr().out
    assert sign_in(client, "new@example.com", "a long enough password").status_code == 303
    with psycopg.connect(site.url) as conn:
        stored = conn.execute(
            "SELECT password_hash FROM console.admin_user WHERE email = 'new@example.com'"
        ).fetchone()
    assert stored and stored[0].startswith("scrypt:") and "a long enough" not in stored[0]


@pytest.mark.parametrize(
    ("domain", "email", "password", "code", "message"),
    [
        pytest.param(
            "example.com", "admin@example.com", PASSWORD, 1, "already exists", id="taken-email"
        ),
        pytest.param(
            "nowhere.example",
            "x@nowhere.example",
            PASSWORD,
            1,
            "does not exist",
            id="unknown-domain",
        ),
        pytest.param("example.com", "not-an-email", PASSWORD, 1, "is not an email", id="bad-email"),
        pytest.param(
            "example.com", "short@example.com", "short", 2, "at least 12", id="short-password"
        ),
    ],
)
def test_admin_create_refuses(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    site: Site,
    domain: str,
    email: str,
    password: str,
    code: int,
    message: str,
) -> None:
    argv = ["admin", "create", "--domain", domain, "--email", email, "--password-stdin"]
    assert run_admin(monkeypatch, site.url, argv, password + "\n") == code
    assert message in capsys.readouterr().err
    with psycopg.connect(site.url) as conn:
        count = conn.execute(
            "SELECT count(*) FROM console.admin_user WHERE email = lower(%s)", (email,)
        ).fetchone()
    assert count == ((1,) if email == "admin@example.com" else (0,))


def test_admin_table_constraints_refuse_clear_text_passwords(site: Site) -> None:
    with psycopg.connect(site.url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO console.admin_user (domain_id, email, password_hash)"
            " SELECT id, 'plain@example.com', 'hunter2' FROM cfg.domain WHERE name = 'example.com'"
        )
