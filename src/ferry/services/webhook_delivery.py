"""Webhook deliveries (spec §9.11): events become delivery rows; the deliver job sends them.

Events come from a transfer's end (``on_transfer_end``) and from every audited write of a
resource (``on_audit``). Each enabled webhook of the event's environment that subscribes to it
gets a ``webhook_delivery`` row in the transaction of the event's cause, and a
``ferry.webhooks.deliver`` job once that commits. Only that job sends anything: a slow or dead
receiver holds up a worker thread for at most the timeout, never a transfer or a request.

Transfer statuses: SUCCESS is ``transfer.success``; ERROR and PARTIAL_FAILURE are
``transfer.error`` (some of the recipient's data did not arrive, which is what a receiver
watching for errors must hear; ``data.status`` tells the two apart); CANCELLED is
``transfer.cancelled``, whether the transfer stopped running or was cancelled before it started
(its TRANSFER_CANCELED audit event). EXPIRED and ORPHANED transfers emit nothing: an orphan is
retried, and its retry's end is the event.

Attempts: one per job run, each recorded on the row (time, HTTP status, duration, error). A
2xx answer succeeds; anything else, or no answer within ``Policy.timeout_seconds``, is retried
after ``Policy.retry_in`` (30 s, 2 min, 8 min, 32 min, ~2 h, then every 8 h: eight attempts
within about 19 hours), then the delivery has failed. The row is the truth: a claim (a
conditional UPDATE pushing ``next_attempt_at`` past the attempt's end) makes each attempt one
worker's, and the scheduler re-sends deliveries overdue because a message or a worker was lost.
Delivery is at least once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from ferry import __version__, jobs, webhooks
from ferry.db import queries
from ferry.db.base import utcnow
from ferry.db.engine import affected, session_scope
from ferry.db.models import (
    DeliveryStatus,
    Destination,
    Environment,
    EventLog,
    Recipient,
    Transfer,
    TransferStatus,
    Webhook,
    WebhookDelivery,
)
from ferry.scope import Scope
from ferry.services.lookup import as_uuid
from ferry.services.secrets import settings_of, unseal
from ferry.services.views import iso, transfer_view

log = structlog.get_logger(__name__)

DELIVER_TASK = "ferry.webhooks.deliver"
# A retry's message may arrive a moment before the time the row says (clocks of two hosts).
CLOCK_SLACK = timedelta(seconds=2)
ERROR_BODY_CHARS = 300

TRANSFER_EVENTS = {
    TransferStatus.SUCCESS: "transfer.success",
    TransferStatus.PARTIAL_FAILURE: "transfer.error",
    TransferStatus.ERROR: "transfer.error",
    TransferStatus.CANCELLED: "transfer.cancelled",
}
# Audit event types → webhook events. DESTINATION_ENABLE_ALL/PAUSE_ALL (bulk, no one
# resource), RECIPIENT_SOURCE_CREDENTIAL_* (no such webhook event) map to nothing;
# TRANSFER_CANCELED is handled apart.
AUDIT_EVENTS = {
    f"{prefix}_{verb}": f"{resource}.{action}"
    for prefix, resource in (
        ("SOURCE", "source"),
        ("DESTINATION", "destination"),
        ("RECIPIENT", "recipient"),
        ("MODEL", "model"),
        ("PRODUCT", "product"),
        ("WEBHOOK", "webhook"),
    )
    for verb, action in (("ADD", "created"), ("UPDATE", "updated"), ("DELETE", "deleted"))
} | {"MAGIC_LINK_CREATE": "magic_link.created", "MAGIC_LINK_DELETE": "magic_link.deleted"}


@dataclass(frozen=True, slots=True)
class Policy:
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    first_retry_seconds: float = 30.0
    factor: float = 4.0
    # Below the Redis visibility timeout (12 h), which would redeliver a longer countdown.
    max_retry_seconds: float = 8 * 3600.0
    # An attempt not recorded this long after its claim is presumed lost with its worker.
    lease_seconds: float = 60.0

    def retry_in(self, failed_attempts: int) -> float:
        wait = self.first_retry_seconds * self.factor ** (failed_attempts - 1)
        return float(min(wait, self.max_retry_seconds))


POLICY = Policy()


# Prebuilt: every transfer's end asks it.
_ENABLED_HOOKS = (
    select(Webhook.id, Webhook.events, Webhook.api_version)
    .where(Webhook.environment_id == bindparam("b_environment"), Webhook.is_enabled.is_(True))
    .order_by(Webhook.created_at, Webhook.id)
)


def emit(
    session: Session,
    *,
    environment_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
) -> list[WebhookDelivery]:
    """A pending delivery of the event for each enabled webhook of the environment that
    subscribes to it; each is sent by a job once the session commits. ``data`` may be a
    function, called only when some webhook subscribes."""
    hooks = session.execute(_ENABLED_HOOKS, {"b_environment": environment_id}).all()
    subscribed = [hook for hook in hooks if event_type in hook.events]
    if not subscribed:
        return []
    if callable(data):
        data = data()
    now = utcnow()
    made = [
        WebhookDelivery(
            webhook_id=hook.id,
            environment_id=environment_id,
            event_type=event_type,
            payload={
                "type": event_type,
                "version": hook.api_version,
                "created_at": iso(now),
                "data": data,
            },
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            attempt_log=[],
            created_at=now,
        )
        for hook in subscribed
    ]
    session.add_all(made)
    session.flush()
    for delivery in made:
        jobs.enqueue(session, DELIVER_TASK, delivery_id=str(delivery.id))
    return made


def on_audit(session: Session, event: EventLog) -> None:
    """The webhook event of an audited write, if it has one; ``data`` is the resource's
    2023-12-01 view (as it was, for a delete)."""
    kind = AUDIT_EVENTS.get(event.event_type)
    if event.event_type == "TRANSFER_CANCELED":
        # Only a transfer cancelled before it started ends here; a running one is asked to
        # stop, and its end emits the event.
        stopped = (event.object or {}).get("status") == TransferStatus.CANCELLED.value
        kind = "transfer.cancelled" if stopped else None
    if kind is None:
        return
    data = event.object if event.object is not None else event.previous_object
    emit(
        session,
        environment_id=event.environment_id,
        event_type=kind,
        data=data if data is not None else {"id": event.resource_id},
    )


def on_transfer_end(
    session: Session,
    *,
    environment_id: uuid.UUID,
    status: TransferStatus,
    transfer: Callable[[], Transfer],
) -> None:
    """The event of a transfer that reached its final status in this session; ``transfer``
    loads its row, which only a subscribed webhook needs."""
    kind = TRANSFER_EVENTS.get(status)
    if kind is not None:
        emit(
            session,
            environment_id=environment_id,
            event_type=kind,
            data=lambda: transfer_view(transfer()),
        )


def deliver(
    sessions: sessionmaker[Session], delivery_id: uuid.UUID, *, policy: Policy | None = None
) -> float | None:
    """One attempt at a due delivery: seconds until the next (None: none is due from here)."""
    rules = policy or POLICY
    # Before the claim: the first use generates the key, which takes a moment.
    with session_scope(sessions) as session:
        key = webhooks.current(session)
    with session_scope(sessions) as session:
        outgoing = _claim(session, delivery_id, rules)
    if outgoing is None:
        return None
    attempt = _send(outgoing, key, rules.timeout_seconds)
    with session_scope(sessions) as session:
        return _record(session, delivery_id, attempt, rules)


def _claim(session: Session, delivery_id: uuid.UUID, policy: Policy) -> webhooks.Outgoing | None:
    now = utcnow()
    won = affected(
        session,
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now + CLOCK_SLACK,
        )
        .values(next_attempt_at=now + timedelta(seconds=policy.lease_seconds)),
    )
    if won != 1:
        return None  # sent, being sent, not yet due, or gone with its webhook
    delivery = session.get_one(WebhookDelivery, delivery_id)
    webhook = session.get(Webhook, delivery.webhook_id)
    if webhook is None:
        return None
    if not webhook.is_enabled:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        delivery.last_error = "not sent: the webhook was disabled"
        return None
    api_key = unseal(session, webhook.sealed_secrets).get("api_key")
    return webhooks.request_for(
        webhook.vendor, webhook.url, delivery.payload, _context(session, delivery), api_key
    )


def _context(session: Session, delivery: WebhookDelivery) -> webhooks.Context:
    environment = session.get_one(Environment, delivery.environment_id)
    public_url = settings_of(session).public_url
    host = urlsplit(public_url).hostname if public_url else None
    plain = webhooks.Context(environment.kind, host)
    if not delivery.event_type.startswith("transfer."):
        return plain
    destination_id = as_uuid(str((delivery.payload.get("data") or {}).get("destination_id")))
    destination = session.get(Destination, destination_id) if destination_id else None
    if destination is None or destination.environment_id != delivery.environment_id:
        return plain  # deleted since
    recipient = session.get_one(Recipient, destination.recipient_id)
    return webhooks.Context(
        environment.kind, host, destination.name, recipient.id_in_provider_system
    )


def _send(outgoing: webhooks.Outgoing, key: webhooks.SigningKey, timeout: float) -> dict[str, Any]:
    import httpx  # Here: workers that only run transfers never load the HTTP client.

    headers = {"User-Agent": f"Ferry-Webhooks/{__version__}", **outgoing.headers}
    headers |= key.headers(outgoing.signed)
    attempted_at, started = utcnow(), time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream(
                outgoing.method, outgoing.url, headers=headers, content=outgoing.content or None
            ) as response,
        ):
            status_code = response.status_code
            if not response.is_success:
                said = next(response.iter_text(), "")[:ERROR_BODY_CHARS].strip()
                error = f"HTTP {status_code}" + (f": {said}" if said else "")
    except httpx.TimeoutException:
        error = f"no answer within {timeout:g} s"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return {
        "attempted_at": iso(attempted_at),
        "status_code": status_code,
        "duration_ms": round((time.monotonic() - started) * 1000),
        "error": error,
    }


def _record(
    session: Session, delivery_id: uuid.UUID, attempt: dict[str, Any], policy: Policy
) -> float | None:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return None  # its webhook was deleted meanwhile
    delivery.attempts += 1
    delivery.attempt_log = [*delivery.attempt_log, {"attempt": delivery.attempts, **attempt}]
    delivery.last_status_code = attempt["status_code"]
    delivery.last_error = attempt["error"]
    now = utcnow()
    if attempt["error"] is None:
        delivery.status = DeliveryStatus.SUCCEEDED.value
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        return None
    if delivery.attempts >= policy.max_attempts:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        log.warning(
            "webhook_delivery_failed",
            delivery_id=str(delivery.id),
            webhook_id=str(delivery.webhook_id),
            attempts=delivery.attempts,
            error=attempt["error"],
        )
        return None
    wait = policy.retry_in(delivery.attempts)
    delivery.next_attempt_at = now + timedelta(seconds=wait)
    return wait


def list_stmt(*, scope: Scope, webhook_id: uuid.UUID) -> Select[WebhookDelivery]:
    return queries.select_in(WebhookDelivery, scope=scope).where(
        WebhookDelivery.webhook_id == webhook_id
    )


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "webhook_id": str(delivery.webhook_id),
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempt_count": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at),
        "payload": delivery.payload,
        "attempts": list(delivery.attempt_log),
    }
