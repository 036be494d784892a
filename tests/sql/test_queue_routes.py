"""plan_call hands calls for a call queue (its extension or its number) to the queue executor."""

from typing import Any

import psycopg
import pytest

from tests.queue.builders import make_queue
from tests.sql.factories import (
    add_member,
    explain_call,
    make_call,
    make_device,
    make_domain,
    make_group,
    make_number,
    plan_call,
)


@pytest.fixture
def domain(db: psycopg.Connection[Any]) -> int:
    return make_domain(db, "queues.example")


@pytest.mark.parametrize(
    ("destination", "kind"),
    [
        pytest.param("500", "queue", id="queue-extension"),
        pytest.param("+4930500500", "queue", id="queue-number"),
        pytest.param("200", "group", id="group-extension-unchanged"),
    ],
)
def test_queue_destinations_plan_a_queue_step(
    db: psycopg.Connection[Any], domain: int, destination: str, kind: str
) -> None:
    number = make_number(db, domain, "+4930500500")
    queue_id = make_queue(db, domain, name="Support queue", extension="500", number_id=number)
    group = make_group(db, domain, "Sales", extension="200")
    add_member(db, group, device_id=make_device(db, domain, "1001"))
    plan = plan_call(db, make_call(destination, domain="queues.example"))
    assert plan["route"]["kind"] == kind
    if kind == "queue":
        assert plan["steps"] == [{"type": "queue", "queue_id": queue_id}]
        assert plan["route"]["name"] == "Support queue"
    else:
        assert plan["steps"][0]["type"] == "bridge"


def test_disabled_queue_is_not_routed(db: psycopg.Connection[Any], domain: int) -> None:
    make_queue(db, domain, name="Closed queue", extension="501", enabled=False)
    plan = plan_call(db, make_call("501", domain="queues.example"))
    assert plan["route"]["kind"] == "none"
    assert plan["steps"] == [{"type": "hangup", "cause": "UNALLOCATED_NUMBER"}]


def test_explain_names_the_queue(db: psycopg.Connection[Any], domain: int) -> None:
    queue_id = make_queue(db, domain, name="Support queue", extension="500")
    reasons = explain_call(db, make_call("500", domain="queues.example"))["reasons"]
    (queue_reason,) = [r for r in reasons if r["kind"] == "queue"]
    assert queue_reason["queue_id"] == queue_id
    assert "Support queue" in queue_reason["detail"]
