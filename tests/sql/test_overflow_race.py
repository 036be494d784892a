"""Two sessions each saving one half of an overflow cycle: the second one must be refused."""

import time

import gevent
import psycopg
import pytest

from tests.sql.factories import make_domain, make_group, set_overflow


def _wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        gevent.sleep(0.01)


def test_concurrent_halves_of_a_cycle_are_refused(make_database):
    url = make_database()
    with psycopg.connect(url, autocommit=True) as admin:
        domain_id = make_domain(admin)
        a = make_group(admin, domain_id, "A")
        b = make_group(admin, domain_id, "B")

    first = psycopg.connect(url)
    second = psycopg.connect(url)
    try:
        set_overflow(first, a, "group", b)  # holds the domain's cycle-check lock until commit
        second_pid = second.info.backend_pid
        racer = gevent.spawn(set_overflow, second, b, "group", a)

        with psycopg.connect(url, autocommit=True) as observer:
            _wait_until(
                lambda: (
                    observer.execute(
                        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                        (second_pid,),
                    ).fetchone()
                    == (True,)
                )
            )
        assert not racer.ready()
        first.commit()
        racer.join(timeout=10)
        assert racer.ready()
        with pytest.raises(psycopg.Error) as raised:
            racer.get()
        assert raised.value.sqlstate == "HM002"
        assert (
            raised.value.diag.message_primary
            == "overflow cycle: group 'B' -> group 'A' -> group 'B'"
        )
    finally:
        second.close()
        first.close()
