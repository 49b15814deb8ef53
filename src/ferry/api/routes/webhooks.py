"""Webhooks (spec §6.1 #45–46): the subscriptions, and what was delivered to each; delivery
itself is the workers' job."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from ferry.api import render
from ferry.api.deps import ApiScope, ApiVersionDep, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.schemas.webhooks import WebhookCreate, WebhookUpdate
from ferry.db.models import Webhook, WebhookDelivery
from ferry.services import webhook_delivery, webhooks
from ferry.services.views import webhook_view

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    key = data.get("api_key")
    return data | ({"api_key": key.get_secret_value()} if key is not None else {})


@router.get("")
def list_webhooks(
    request: Request, session: DbSession, scope: ApiScope, version: ApiVersionDep, page: Pagination
) -> dict[str, Any]:
    return render.listing(
        request,
        session,
        webhooks.list_stmt(scope=scope),
        name="webhooks",
        sort=Webhook.created_at,
        key=Webhook.id,
        params=page,
        version=version,
        render=webhook_view,
    )


@router.post("")
def create_webhook(
    session: DbSession, scope: ApiScope, payload: WebhookCreate = body(WebhookCreate)
) -> dict[str, Any]:
    created = webhooks.create(session, scope=scope, data=_plain(dict(payload.webhook)))
    return ok({"webhook": webhook_view(created)}, "webhook created")


@router.get("/{webhook_id}")
def get_webhook(webhook_id: uuid.UUID, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    return ok({"webhook": webhook_view(webhooks.get(session, scope=scope, webhook_id=webhook_id))})


@router.patch("/{webhook_id}")
def update_webhook(
    webhook_id: uuid.UUID,
    session: DbSession,
    scope: ApiScope,
    payload: WebhookUpdate = body(WebhookUpdate),
) -> dict[str, Any]:
    data = {k: getattr(payload.webhook, k) for k in payload.webhook.model_fields_set}
    updated = webhooks.update(session, scope=scope, webhook_id=webhook_id, data=_plain(data))
    return ok({"webhook": webhook_view(updated)}, "webhook updated")


@router.delete("/{webhook_id}")
def delete_webhook(webhook_id: uuid.UUID, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    webhooks.delete(session, scope=scope, webhook_id=webhook_id)
    return ok({}, "webhook deleted")


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: uuid.UUID,
    request: Request,
    session: DbSession,
    scope: ApiScope,
    version: ApiVersionDep,
    page: Pagination,
) -> dict[str, Any]:
    """The webhook's deliveries, newest first, each with every attempt made to send it."""
    webhook = webhooks.get(session, scope=scope, webhook_id=webhook_id)
    return render.listing(
        request,
        session,
        webhook_delivery.list_stmt(scope=scope, webhook_id=webhook.id),
        name="webhook_deliveries",
        sort=WebhookDelivery.created_at,
        key=WebhookDelivery.id,
        params=page,
        version=version,
        render=webhook_delivery.delivery_view,
    )
