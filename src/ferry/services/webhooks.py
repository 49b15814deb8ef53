"""Webhooks: subscriptions to transfer and resource events (spec §9.11)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ferry.db import queries
from ferry.db.models import Webhook
from ferry.errors import InvalidInput
from ferry.scope import Scope
from ferry.services import audit
from ferry.services.lookup import require
from ferry.services.secrets import seal
from ferry.services.views import webhook_view

VENDORS = ("generic_post", "generic_get", "slack", "pagerduty", "datadog")
PAYLOAD_VERSION = "2023-10-15"
TRANSFER_EVENTS = ("transfer.success", "transfer.error", "transfer.cancelled")
RESOURCE_EVENTS = tuple(
    f"{resource}.{action}"
    for resource in (
        "source",
        "destination",
        "recipient",
        "magic_link",
        "model",
        "product",
        "webhook",
    )
    for action in ("created", "updated", "deleted")
)
EVENTS = (*TRANSFER_EVENTS, *RESOURCE_EVENTS)
# These vendors authenticate with an integration key instead of a secret URL.
NEEDS_API_KEY = ("pagerduty", "datadog")


def get(session: Session, *, scope: Scope, webhook_id: str | uuid.UUID) -> Webhook:
    return require(session, Webhook, scope=scope, ident=webhook_id, kind="webhook")


def list_stmt(*, scope: Scope) -> Select[Webhook]:
    return queries.select_in(Webhook, scope=scope)


def _check(webhook: Webhook) -> None:
    if webhook.vendor in NEEDS_API_KEY and webhook.sealed_secrets is None:
        raise InvalidInput(f"webhook.api_key: is required for {webhook.vendor} webhooks")


def create(session: Session, *, scope: Scope, data: dict[str, Any]) -> Webhook:
    webhook = Webhook(
        environment_id=scope.environment_id,
        name=data["name"],
        vendor=data["vendor"],
        url=data["url"],
        api_version=data.get("api_version") or PAYLOAD_VERSION,
        events=list(dict.fromkeys(data.get("events") or TRANSFER_EVENTS)),
        is_enabled=data.get("is_enabled", True),
        sealed_secrets=seal(session, {"api_key": data["api_key"]}) if data.get("api_key") else None,
    )
    _check(webhook)
    session.add(webhook)
    session.flush()
    audit.record(session, scope, "WEBHOOK_ADD", resource_id=webhook.id, obj=webhook_view(webhook))
    return webhook


def update(
    session: Session, *, scope: Scope, webhook_id: str | uuid.UUID, data: dict[str, Any]
) -> Webhook:
    webhook = get(session, scope=scope, webhook_id=webhook_id)
    previous = webhook_view(webhook)
    for field in ("name", "vendor", "url", "api_version", "is_enabled"):
        if data.get(field) is not None:
            setattr(webhook, field, data[field])
    if data.get("events") is not None:
        webhook.events = list(dict.fromkeys(data["events"]))
    if "api_key" in data:
        webhook.sealed_secrets = (
            seal(session, {"api_key": data["api_key"]}) if data["api_key"] else None
        )
    _check(webhook)
    session.flush()
    audit.record(
        session,
        scope,
        "WEBHOOK_UPDATE",
        resource_id=webhook.id,
        obj=webhook_view(webhook),
        previous=previous,
    )
    return webhook


def delete(session: Session, *, scope: Scope, webhook_id: str | uuid.UUID) -> None:
    webhook = get(session, scope=scope, webhook_id=webhook_id)
    previous = webhook_view(webhook)
    session.delete(webhook)
    session.flush()
    audit.record(session, scope, "WEBHOOK_DELETE", resource_id=webhook.id, previous=previous)
