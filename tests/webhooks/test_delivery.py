"""Resource events delivered to a real receiver: signatures, vendors' shapes, retries, who gets
what. Deliveries run as the deliver job runs them, and through a real Celery worker."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from ferry.db.base import utcnow
from ferry.db.engine import session_scope
from ferry.db.models import WebhookDelivery
from ferry.jobs import SENDER
from ferry.services import webhook_delivery
from ferry.settings import Settings
from ferry.transfer import schedule
from tests import factories
from tests.conftest import Api, Tenant
from tests.webhooks.conftest import (
    Receiver,
    deliver_pending,
    deliveries_of,
    make_webhook,
    public_key,
    verify,
    wait_until,
)


def make_recipient(api: Api, key: str | None = None) -> dict[str, Any]:
    return dict(api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"])


def make_destination(api: Api) -> dict[str, Any]:
    recipient = make_recipient(api)
    body = factories.postgres_destination(recipient["id"])
    return dict(api.ok("POST", "/destinations", json=body)["destination"])


def make_due(sessions: Any, webhook_id: str) -> None:
    """Move the webhook's pending retries to now, as if their wait had passed."""
    with session_scope(sessions) as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == uuid.UUID(webhook_id))
            .values(next_attempt_at=utcnow())
        )


def test_a_created_destination_is_delivered_signed(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(api, receiver.url, ["destination.created"])
    destination = make_destination(api)
    assert receiver.requests == []  # nothing is sent by the request itself
    assert deliver_pending(sessions, hook["id"]) == [None]
    [received] = receiver.wait_for(1)
    verify(received, public_key(api))
    assert received.method == "POST"
    assert received.path == "/hook"
    assert received.headers["content-type"] == "application/json"
    event = received.json()
    assert set(event) == {"type", "version", "created_at", "data"}
    assert event["type"] == "destination.created"
    assert event["version"] == "2023-10-15"
    assert factories.is_rfc3339_utc(event["created_at"])
    assert event["data"] == api.ok("GET", f"/destinations/{destination['id']}")["destination"]
    assert factories.DEST_PASSWORD.encode() not in received.body


def test_updates_and_deletes_carry_the_object_as_it_stands_and_as_it_was(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(
        api, receiver.url, ["recipient.created", "recipient.updated", "recipient.deleted"]
    )
    recipient = make_recipient(api, "acme")
    renamed = api.ok(
        "PATCH", f"/recipients/{recipient['id']}", json={"recipient": {"name": "Acme Corp"}}
    )["recipient"]
    api.ok("DELETE", f"/recipients/{recipient['id']}")
    deliver_pending(sessions, hook["id"])
    events = [r.json() for r in receiver.wait_for(3)]
    assert [e["type"] for e in events] == [
        "recipient.created",
        "recipient.updated",
        "recipient.deleted",
    ]
    assert events[0]["data"] == recipient
    assert events[1]["data"] == renamed
    assert events[2]["data"] == renamed


def test_magic_link_events_never_carry_the_link(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(api, receiver.url, ["magic_link.created", "magic_link.deleted"])
    recipient = make_recipient(api)
    link = api.ok("POST", "/magic-links", json=factories.magic_link(recipient["id"]))["magic_link"]
    api.ok("DELETE", f"/magic-links/{link['id']}")
    deliver_pending(sessions, hook["id"])
    created, deleted = (r.json() for r in receiver.wait_for(2))
    assert (created["type"], deleted["type"]) == ("magic_link.created", "magic_link.deleted")
    assert created["data"]["id"] == deleted["data"]["id"] == link["id"]
    assert "link" not in created["data"]
    assert link["link"] not in json.dumps([created, deleted])


def test_generic_get_sends_the_event_as_query_parameters(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(
        api, receiver.url + "?token=abc%20def", ["product.created"], vendor="generic_get"
    )
    product = api.ok("POST", "/products", json=factories.product("gold"))["product"]
    deliver_pending(sessions, hook["id"])
    [received] = receiver.wait_for(1)
    verify(received, public_key(api))  # over the query string, as sent
    assert received.method == "GET"
    assert received.body == b""
    params = received.params()
    assert set(params) == {"token", "type", "version", "created_at", "data"}
    assert params["token"] == "abc def"
    assert params["type"] == "product.created"
    assert params["version"] == "2023-10-15"
    assert factories.is_rfc3339_utc(params["created_at"])
    assert json.loads(params["data"]) == product


def test_slack_gets_an_incoming_webhook_message(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(api, receiver.url, ["source.created"], vendor="slack")
    source = api.ok("POST", "/sources", json=factories.postgres_source("warehouse-db"))["source"]
    deliver_pending(sessions, hook["id"])
    [received] = receiver.wait_for(1)
    verify(received, public_key(api))
    message = received.json()
    assert set(message) == {"text", "blocks"}
    assert message["text"] == f"source.created: warehouse-db ({source['id']})"
    section, context = message["blocks"]
    assert section["type"] == "section"
    assert section["text"]["type"] == "mrkdwn"
    assert message["text"] in section["text"]["text"]
    assert context["type"] == "context"
    assert "staging" in context["elements"][0]["text"]
    assert factories.SOURCE_PASSWORD.encode() not in received.body


def test_datadog_gets_an_events_v1_event_with_its_key(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(api, receiver.url, ["product.created"], vendor="datadog")
    api.ok("POST", "/products", json=factories.product("gold"))
    deliver_pending(sessions, hook["id"])
    [received] = receiver.wait_for(1)
    verify(received, public_key(api))
    assert received.headers["dd-api-key"] == factories.WEBHOOK_API_KEY
    event = received.json()
    assert set(event) == {"title", "text", "tags", "date_happened", "alert_type"}
    assert event["title"] == "product.created for gold"
    assert event["text"] == "product created"
    assert event["alert_type"] == "user_update"
    assert isinstance(event["date_happened"], int)
    assert abs(event["date_happened"] - utcnow().timestamp()) < 300
    assert set(event["tags"]) == {
        "service:prequel",
        "event_type:product.created",
        "env:staging",
        "resource_name:gold",
    }


def test_pagerduty_gets_an_events_v2_alert_with_the_routing_key(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(api, receiver.url, ["model.created"], vendor="pagerduty")
    api.ok("POST", "/models", json=factories.unchecked_model("orders"))
    deliver_pending(sessions, hook["id"])
    [received] = receiver.wait_for(1)
    verify(received, public_key(api))
    event = received.json()
    assert event["routing_key"] == factories.WEBHOOK_API_KEY
    assert event["event_action"] == "trigger"
    assert event["payload"]["severity"] == "info"
    assert event["payload"]["class"] == "model.created"
    assert event["payload"]["summary"].startswith("model.created: orders")
    assert event["payload"]["custom_details"]["data"]["model_name"] == "orders"


def test_a_failed_attempt_is_retried_and_every_attempt_is_listed(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    receiver.statuses = [500]
    hook = make_webhook(api, receiver.url, ["recipient.created"])
    make_recipient(api)
    assert deliver_pending(sessions, hook["id"]) == [webhook_delivery.POLICY.retry_in(1)]
    [waiting] = api.ok("GET", f"/webhooks/{hook['id']}/deliveries")["webhook_deliveries"]
    assert (waiting["status"], waiting["attempt_count"], waiting["last_status_code"]) == (
        "pending",
        1,
        500,
    )
    # Not due yet: a second job for it sends nothing.
    assert deliver_pending(sessions, hook["id"]) == [None]
    assert len(receiver.requests) == 1
    make_due(sessions, hook["id"])
    assert deliver_pending(sessions, hook["id"]) == [None]
    first, second = receiver.wait_for(2)
    assert first.body == second.body  # the same event, signed afresh
    verify(second, public_key(api))

    [done] = api.ok("GET", f"/webhooks/{hook['id']}/deliveries")["webhook_deliveries"]
    assert done["status"] == "succeeded"
    assert done["attempt_count"] == 2
    assert done["last_status_code"] == 200
    assert done["last_error"] is None
    assert done["next_attempt_at"] is None
    assert factories.is_rfc3339_utc(done["delivered_at"])
    assert done["event_type"] == "recipient.created"
    assert done["payload"] == json.loads(second.body)
    assert [a["attempt"] for a in done["attempts"]] == [1, 2]
    assert [a["status_code"] for a in done["attempts"]] == [500, 200]
    assert done["attempts"][0]["error"] == "HTTP 500: receiver is down"
    assert done["attempts"][1]["error"] is None
    for attempt in done["attempts"]:
        assert factories.is_rfc3339_utc(attempt["attempted_at"])
        assert isinstance(attempt["duration_ms"], int)


def test_retries_run_on_a_real_worker(
    api: Api,
    receiver: Receiver,
    sessions: Any,
    worker: None,
    fast_retries: webhook_delivery.Policy,
) -> None:
    receiver.statuses = [500, 503]
    hook = make_webhook(api, receiver.url, ["recipient.created"])
    make_recipient(api)
    receiver.wait_for(3)

    def finished() -> Any:
        found = api.ok("GET", f"/webhooks/{hook['id']}/deliveries")["webhook_deliveries"]
        return found if found and found[0]["status"] != "pending" else None

    [done] = wait_until(finished, what="the delivery to succeed")
    assert done["status"] == "succeeded"
    assert [a["status_code"] for a in done["attempts"]] == [500, 503, 200]
    for received in receiver.requests:
        verify(received, public_key(api))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_dead_receiver_fails_after_the_last_attempt(api: Api, sessions: Any) -> None:
    policy = webhook_delivery.Policy(max_attempts=2)
    hook = make_webhook(api, f"http://127.0.0.1:{closed_port()}/gone", ["recipient.created"])
    make_recipient(api)
    [delivery] = deliveries_of(sessions, hook["id"])
    assert webhook_delivery.deliver(sessions, delivery.id, policy=policy) == policy.retry_in(1)
    make_due(sessions, hook["id"])
    assert webhook_delivery.deliver(sessions, delivery.id, policy=policy) is None
    [failed] = api.ok("GET", f"/webhooks/{hook['id']}/deliveries")["webhook_deliveries"]
    assert failed["status"] == "failed"
    assert failed["next_attempt_at"] is None
    assert failed["last_status_code"] is None
    assert failed["attempt_count"] == len(failed["attempts"]) == 2
    assert all(a["error"].startswith("ConnectError") for a in failed["attempts"])
    # Nothing more to do for it, whoever asks.
    make_due(sessions, hook["id"])
    assert webhook_delivery.deliver(sessions, delivery.id, policy=policy) is None


def test_unsubscribed_events_are_not_delivered(api: Api, receiver: Receiver, sessions: Any) -> None:
    hook = make_webhook(api, receiver.url, ["transfer.success", "destination.deleted"])
    make_destination(api)
    assert deliveries_of(sessions, hook["id"]) == []
    default = make_webhook(api, receiver.url, [])  # no events given: the transfer events
    assert default["events"] == ["transfer.success", "transfer.error", "transfer.cancelled"]
    make_recipient(api)
    assert deliveries_of(sessions, default["id"]) == []
    assert receiver.requests == []


def test_disabled_webhooks_get_nothing(api: Api, receiver: Receiver, sessions: Any) -> None:
    disabled = make_webhook(api, receiver.url, ["recipient.created"], is_enabled=False)
    make_recipient(api)
    assert deliveries_of(sessions, disabled["id"]) == []

    # Disabled after the event, before the send: still nothing.
    late = make_webhook(api, receiver.url, ["recipient.created"])
    make_recipient(api)
    api.ok("PATCH", f"/webhooks/{late['id']}", json={"webhook": {"is_enabled": False}})
    assert deliver_pending(sessions, late["id"]) == [None]
    [skipped] = api.ok("GET", f"/webhooks/{late['id']}/deliveries")["webhook_deliveries"]
    assert skipped["status"] == "failed"
    assert skipped["attempts"] == []
    assert skipped["last_error"] == "not sent: the webhook was disabled"
    assert receiver.requests == []


def test_other_environments_never_get_the_events(
    tenant: Tenant, make_tenant: Any, receiver: Receiver, sessions: Any
) -> None:
    events = ["recipient.created"]
    staging = make_webhook(tenant.staging, receiver.url, events)
    prod = make_webhook(tenant.prod, receiver.url, events)
    other = make_webhook(make_tenant().staging, receiver.url, events)
    recipient = make_recipient(tenant.staging)
    assert len(deliveries_of(sessions, staging["id"])) == 1
    assert deliveries_of(sessions, prod["id"]) == []
    assert deliveries_of(sessions, other["id"]) == []
    deliver_pending(sessions, staging["id"])
    [received] = receiver.wait_for(1)
    assert received.json()["data"]["id"] == recipient["id"]
    # Deliveries are the environment's own to read.
    tenant.prod.error("GET", f"/webhooks/{staging['id']}/deliveries", 404)
    assert tenant.prod.ok("GET", f"/webhooks/{prod['id']}/deliveries")["webhook_deliveries"] == []


def test_deliveries_are_listed_newest_first_a_page_at_a_time(api: Api, receiver: Receiver) -> None:
    hook = make_webhook(api, receiver.url, ["recipient.created"])
    made = [make_recipient(api) for _ in range(3)]
    response = api.call("GET", f"/webhooks/{hook['id']}/deliveries?page_size=2")
    first = response.json()
    assert first["has_next"] is True
    assert [d["payload"]["data"]["id"] for d in first["data"]["webhook_deliveries"]] == [
        made[2]["id"],
        made[1]["id"],
    ]
    rest = api.client.get(first["next_url"], headers={"X-API-KEY": api.key}).json()
    assert [d["payload"]["data"]["id"] for d in rest["data"]["webhook_deliveries"]] == [
        made[0]["id"]
    ]
    base = api.ok("GET", f"/webhooks/{hook['id']}/deliveries", version="2022-01-01")
    assert len(base["webhook_deliveries"]) == 3
    api.error("GET", f"/webhooks/{uuid.uuid4()}/deliveries", 404)


def test_a_transfer_cancelled_before_it_started_is_an_event(
    api: Api, receiver: Receiver, sessions: Any
) -> None:
    hook = make_webhook(api, receiver.url, ["transfer.cancelled", "transfer.error"])
    destination = make_destination(api)
    requested = api.ok("POST", f"/destinations/{destination['id']}/transfer", json={})
    api.ok("POST", f"/transfers/{requested['transfer_id']}/cancel")
    deliver_pending(sessions, hook["id"])
    [received] = receiver.wait_for(1)
    event = received.json()
    assert event["type"] == "transfer.cancelled"
    assert event["data"] == api.ok("GET", f"/transfers/{requested['transfer_id']}")["transfer"]
    assert event["data"]["status"] == "CANCELLED"


def test_the_scheduler_sends_overdue_deliveries_again(
    api: Api, receiver: Receiver, sessions: Any, settings: Settings
) -> None:
    hook = make_webhook(api, receiver.url, ["recipient.created"])
    make_recipient(api)
    [delivery] = deliveries_of(sessions, hook["id"])
    sent: list[tuple[str, dict[str, Any]]] = []
    info = sessions.kw.setdefault("info", {})
    info[SENDER] = lambda name, kwargs: sent.append((name, kwargs))
    try:
        # Its message was lost: nobody sends it, and a while later the scheduler notices.
        later = utcnow() + timedelta(minutes=3)
        assert schedule.tick(sessions, settings, now=later).redelivered >= 1
        assert ("ferry.webhooks.deliver", {"delivery_id": str(delivery.id)}) in sent
        # Woken up: the next ticks leave it alone for a while.
        sent.clear()
        schedule.tick(sessions, settings, now=later)
        assert str(delivery.id) not in {kwargs.get("delivery_id") for _, kwargs in sent}
    finally:
        info.pop(SENDER, None)
    [woken] = deliveries_of(sessions, hook["id"])
    assert woken.next_attempt_at == later


def test_finished_deliveries_are_kept_a_month(
    api: Api, receiver: Receiver, sessions: Any, settings: Settings
) -> None:
    hook = make_webhook(api, receiver.url, ["recipient.created"])
    make_recipient(api)
    deliver_pending(sessions, hook["id"])
    receiver.wait_for(1)
    make_recipient(api)  # still pending: kept however old it is
    assert len(deliveries_of(sessions, hook["id"])) == 2
    # The metadata database is shared with the other tests: judge by this hook's deliveries.
    soon = utcnow() + timedelta(days=29)
    schedule.tick(sessions, settings, now=soon)
    assert len(deliveries_of(sessions, hook["id"])) == 2
    later = utcnow() + timedelta(days=31)
    assert schedule.tick(sessions, settings, now=later).pruned_deliveries >= 1
    [left] = deliveries_of(sessions, hook["id"])
    assert left.status == "pending"
    listed = api.ok("GET", f"/webhooks/{hook['id']}/deliveries")["webhook_deliveries"]
    assert [d["id"] for d in listed] == [str(left.id)]
