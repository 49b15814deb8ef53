"""Transfer events: real transfers (PostgreSQL to PostgreSQL) and a real Celery worker sending
what they emit to a real receiver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from ferry.services import webhook_delivery
from tests import factories
from tests.transfer.conftest import Setup
from tests.webhooks.conftest import (
    Receiver,
    deliver_pending,
    deliveries_of,
    make_webhook,
    public_key,
    verify,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.celery]

Run = Callable[..., dict[str, Any]]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_successful_transfer_is_delivered_by_a_worker(
    setup: Setup, run_transfer: Run, receiver: Receiver, worker: None
) -> None:
    api = setup.api
    hook = make_webhook(api, receiver.url, ["transfer.success", "transfer.error"])
    done = run_transfer(api, setup.destinations["acme"])
    assert done["status"] == "SUCCESS"
    [received] = receiver.wait_for(1)
    verify(received, public_key(api))
    event = received.json()
    assert event["type"] == "transfer.success"
    assert event["version"] == "2023-10-15"
    assert factories.is_rfc3339_utc(event["created_at"])
    assert event["data"] == done
    assert event["data"]["rows_transferred"] == 120

    def delivered() -> Any:
        [found] = api.ok("GET", f"/webhooks/{hook['id']}/deliveries")["webhook_deliveries"]
        return found if found["status"] == "succeeded" else None

    assert wait_until(delivered, what="the delivery")["attempt_count"] == 1


def test_vendors_describe_the_transfer(
    setup: Setup, run_transfer: Run, receiver: Receiver, sessions: Any
) -> None:
    api = setup.api
    hooks = {
        vendor: make_webhook(api, f"{receiver.url}/{vendor}", ["transfer.success"], vendor=vendor)
        for vendor in ("datadog", "pagerduty", "slack")
    }
    done = run_transfer(api, setup.destinations["globex"])
    for hook in hooks.values():
        deliver_pending(sessions, hook["id"])
    received = {r.path.rsplit("/", 1)[-1]: r for r in receiver.wait_for(3)}
    key = public_key(api)
    for request in received.values():
        verify(request, key)

    datadog = received["datadog"].json()
    assert datadog["title"] == f"transfer.success for {done['id']}"
    assert datadog["text"] == done["log"]
    assert datadog["alert_type"] == "info"
    assert set(datadog["tags"]) == {
        "service:prequel",
        "event_type:transfer.success",
        f"transfer_id:{done['id']}",
        f"destination_id:{done['destination_id']}",
        "destination_name:globex warehouse",
        "id_in_provider_system:globex",
        "transfer_status:SUCCESS",
        "rows_transferred:120",
        "env:staging",
    }

    # A success closes the destination's incident, if an error had opened one.
    assert received["pagerduty"].json() == {
        "routing_key": factories.WEBHOOK_API_KEY,
        "dedup_key": f"ferry-destination-{done['destination_id']}",
        "event_action": "resolve",
    }
    slack = received["slack"].json()
    assert slack["text"] == (
        f"transfer.success: transfer {done['id']} to destination globex warehouse "
        "(recipient globex) ended SUCCESS, 120 row(s) transferred"
    )


def test_failed_and_partly_failed_transfers_are_errors(
    setup: Setup, run_transfer: Run, receiver: Receiver, sessions: Any
) -> None:
    api = setup.api
    hook = make_webhook(api, receiver.url, ["transfer.error"])
    datadog = make_webhook(api, receiver.url + "/dd", ["transfer.error"], vendor="datadog")
    pagerduty = make_webhook(api, receiver.url + "/pd", ["transfer.error"], vendor="pagerduty")
    api.ok(
        "PATCH",
        f"/destinations/{setup.destinations['acme']}",
        json={"destination": {"postgres": {"database": "ferry_no_such_database"}}},
    )
    failed = run_transfer(api, setup.destinations["acme"])
    assert failed["status"] == "ERROR"
    partial_model = factories.unchecked_model("broken", source_table="public.no_such_table")
    api.ok("POST", "/models", json={"skip_model_validation": True, **partial_model})
    partial = run_transfer(api, setup.destinations["initech"])
    assert partial["status"] == "PARTIAL_FAILURE"
    for made in (hook, datadog, pagerduty):
        deliver_pending(sessions, made["id"])

    received = receiver.wait_for(6)
    plain = [r.json() for r in received if r.path == "/hook"]
    assert [(e["type"], e["data"]["status"]) for e in plain] == [
        ("transfer.error", "ERROR"),
        ("transfer.error", "PARTIAL_FAILURE"),
    ]
    assert [e["data"] for e in plain] == [failed, partial]
    [dd_error, dd_partial] = [r.json() for r in received if r.path == "/hook/dd"]
    assert dd_error["alert_type"] == dd_partial["alert_type"] == "error"
    assert "transfer_blamed_party:third_party" in dd_error["tags"]
    assert "transfer_status:PARTIAL_FAILURE" in dd_partial["tags"]
    pd_error = next(r.json() for r in received if r.path == "/hook/pd")
    assert pd_error["event_action"] == "trigger"
    assert pd_error["dedup_key"] == f"ferry-destination-{setup.destinations['acme']}"
    assert pd_error["payload"]["severity"] == "error"
    assert pd_error["payload"]["component"] == "acme warehouse"
    assert pd_error["payload"]["group"] == "acme"


def test_a_receiver_that_never_answers_does_not_hold_up_the_transfer(
    setup: Setup,
    run_transfer: Run,
    receiver: Receiver,
    worker: None,
    fast_retries: webhook_delivery.Policy,
    monkeypatch: pytest.MonkeyPatch,
    sessions: Any,
) -> None:
    # Long enough that the transfer's own end is over before the first attempt can be.
    policy = replace(fast_retries, timeout_seconds=3)
    monkeypatch.setattr(webhook_delivery, "POLICY", policy)
    api = setup.api
    hook = make_webhook(api, receiver.url, ["transfer.success"])
    receiver.hold.clear()  # the receiver takes requests and never answers them
    done = run_transfer(api, setup.destinations["acme"])
    assert done["status"] == "SUCCESS"
    # The transfer has ended, and its event is still on its way.
    [delivery] = deliveries_of(sessions, hook["id"])
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    receiver.wait_for(1)  # the worker is sending it now, to a receiver that says nothing
    assert receiver.answered == 0

    def first_attempt() -> Any:
        [found] = api.ok("GET", f"/webhooks/{hook['id']}/deliveries")["webhook_deliveries"]
        return found["attempts"][0] if found["attempts"] else None

    attempt = wait_until(first_attempt, what="the attempt to time out")
    assert attempt["status_code"] is None
    assert attempt["error"] == "no answer within 3 s"
    assert moment(attempt["attempted_at"]) > moment(done["ended_at"])
    assert api.ok("GET", f"/transfers/{done['id']}")["transfer"] == done
    receiver.hold.set()
