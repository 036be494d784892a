"""Two calls to one round-robin group at the same moment start at different members."""

import threading
import time

import psycopg
from psycopg.types.json import Jsonb

from tests.sql.factories import (
    DEFAULT_NOW,
    add_member,
    make_call,
    make_device,
    make_domain,
    make_group,
)


def _start(conn: psycopg.Connection, uuid: str) -> int:
    plan = conn.execute(
        "SELECT routing.start_call(%s, %s)", (Jsonb(make_call("200", uuid=uuid)), DEFAULT_NOW)
    ).fetchone()[0]
    return plan["steps"][0]["legs"][0]["device_id"]


def test_simultaneous_calls_rotate(make_database):
    url = make_database()
    with psycopg.connect(url, autocommit=True) as admin:
        domain_id = make_domain(admin)
        group = make_group(admin, domain_id, strategy="round_robin", extension="200")
        devices = [make_device(admin, domain_id, str(1001 + i)) for i in range(3)]
        for device in devices:
            add_member(admin, group, device_id=device)
    first = psycopg.connect(url)  # a transaction, as if the first call were still being started
    second = psycopg.connect(url, autocommit=True)
    try:
        assert _start(first, "00000000-0000-4000-8000-000000000001") == devices[0]
        got: list[int] = []
        racer = threading.Thread(
            target=lambda: got.append(_start(second, "00000000-0000-4000-8000-000000000002"))
        )
        racer.start()
        time.sleep(0.3)
        assert racer.is_alive()  # waits for the first call's pointer
        first.commit()
        racer.join(10)
        assert got == [devices[1]]
        assert _start(second, "00000000-0000-4000-8000-000000000003") == devices[2]
    finally:
        first.close()
        second.close()


def test_calls_to_other_groups_do_not_wait(make_database):
    url = make_database()
    with psycopg.connect(url, autocommit=True) as admin:
        domain_id = make_domain(admin)
        a = make_group(admin, domain_id, "A", strategy="round_robin", extension="200")
        b = make_group(admin, domain_id, "B", strategy="round_robin", extension="201")
        add_member(admin, a, device_id=make_device(admin, domain_id, "1001"))
        add_member(admin, b, device_id=make_device(admin, domain_id, "1002"))
    first = psycopg.connect(url)
    second = psycopg.connect(url, autocommit=True)
    try:
        _start(first, "00000000-0000-4000-8000-000000000001")
        second.execute("SET lock_timeout = '2s'")
        plan = second.execute(
            "SELECT routing.start_call(%s, %s)", (Jsonb(make_call("201")), DEFAULT_NOW)
        ).fetchone()[0]
        assert plan["steps"][0]["group_id"] == b
    finally:
        first.rollback()
        first.close()
        second.close()
