"""Canonical (2023-12-01) views of every resource: what responses and audit events show.

Stored configs hold no secrets (they are sealed apart), so no view can leak one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ferry.db.models import (
    DataModel,
    Destination,
    EventLog,
    MagicLink,
    Product,
    Recipient,
    RecipientSourceCredential,
    Source,
    Transfer,
    Webhook,
)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def source_view(source: Source) -> dict[str, Any]:
    return {
        "id": str(source.id),
        "name": source.name,
        "vendor": source.vendor,
        "is_reachable": source.is_reachable,
        "created_at": iso(source.created_at),
        "updated_at": iso(source.updated_at),
        source.vendor: dict(source.config),
    }


def model_view(model: DataModel) -> dict[str, Any]:
    config = dict(model.config)
    # The SDK's ModelConfig type declares these; they are shown even when unset.
    config["columns"] = [{"description": None, **c} for c in config.get("columns", [])]
    return {
        "id": str(model.id),
        "model_name": model.model_name,
        "description": None,
        "source_schema": None,
        **config,
        "source_id": str(model.source_id) if model.source_id else model.config.get("source_id"),
        "revision_id": str(model.revision_id),
        "created_at": iso(model.created_at),
        "updated_at": iso(model.updated_at),
    }


def product_view(product: Product) -> dict[str, Any]:
    return {
        "id": str(product.id),
        "product_name": product.product_name,
        "models": list(product.models),
        "created_at": iso(product.created_at),
        "updated_at": iso(product.updated_at),
    }


def recipient_view(recipient: Recipient) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(recipient.id),
        "name": recipient.name,
        "products": list(recipient.products),
        "id_in_provider_system": recipient.id_in_provider_system,
        "default_full_refresh_min_start_time_epoch": recipient.default_full_refresh_min_start_time_epoch,
        "created_at": iso(recipient.created_at),
        "updated_at": iso(recipient.updated_at),
    }
    if recipient.schema is not None:
        view["schema"] = recipient.schema
    return view


def destination_view(
    destination: Destination, recipient: Recipient, last_completed: Transfer | None = None
) -> dict[str, Any]:
    products = destination.products if destination.products is not None else recipient.products
    return {
        "id": str(destination.id),
        "vendor": destination.vendor,
        "name": destination.name,
        "recipient_id": str(destination.recipient_id),
        "id_in_provider_system": recipient.id_in_provider_system,
        "products": list(products),
        "enabled_models": list(destination.enabled_models),
        "frequency_minutes": destination.frequency_minutes,
        "is_enabled": destination.is_enabled,
        "max_concurrent_transfers": destination.max_concurrent_transfers,
        "max_concurrent_queries_per_transfer": destination.max_concurrent_queries_per_transfer,
        "created_at": iso(destination.created_at),
        "updated_at": iso(destination.updated_at),
        "last_successful_transfer_ended_at": iso(destination.last_successful_transfer_ended_at),
        "last_completed_transfer": transfer_view(last_completed) if last_completed else None,
        destination.vendor: dict(destination.config),
    }


def transfer_view(transfer: Transfer) -> dict[str, Any]:
    return {
        "id": str(transfer.id),
        "status": transfer.status,
        "destination_id": str(transfer.destination_id),
        "source_ids": list(transfer.source_ids),
        "is_full_refresh": transfer.is_full_refresh,
        "is_debug_mode": transfer.is_debug_mode,
        "models": list(transfer.models),
        "log": transfer.log,
        "submitted_at": iso(transfer.submitted_at),
        "started_at": iso(transfer.started_at),
        "ended_at": iso(transfer.ended_at),
        "start_transfer_window_at": iso(transfer.start_transfer_window_at),
        "end_transfer_window_at": iso(transfer.end_transfer_window_at),
        "rows_transferred": transfer.rows_transferred,
        "delta_rows_transferred": transfer.delta_rows_transferred,
        "volume_transferred_in_mb": transfer.volume_transferred_in_mb,
        "actor_id": transfer.actor_id,
        "actor_type": transfer.actor_type,
        "model_metrics": list(transfer.model_metrics),
        "models_snapshot": list(transfer.models_snapshot),
        "tags": dict(transfer.tags),
        "error": transfer.error,
    }


def credential_view(credential: RecipientSourceCredential) -> dict[str, Any]:
    return {
        "id": str(credential.id),
        "recipient_id": str(credential.recipient_id),
        "source_id": str(credential.source_id),
        "username": credential.username,
        "created_at": iso(credential.created_at),
        "updated_at": iso(credential.updated_at),
    }


def magic_link_view(
    link: MagicLink, recipient: Recipient, url: str, available_models: list[str]
) -> dict[str, Any]:
    prefill = link.prefill
    return {
        "id": str(link.id),
        "name": link.name,
        "vendor": link.vendor,
        "recipient_id": str(link.recipient_id),
        "id_in_provider_system": recipient.id_in_provider_system,
        "products": list(link.products or recipient.products),
        "available_models": available_models,
        "link": url,
        "has_been_used": link.has_been_used,
        "set_destination_enabled": link.set_destination_enabled,
        "redirect_url": link.redirect_url,
        "expires_at": iso(link.expires_at),
        "created_at": iso(link.created_at),
        **{key: prefill.get(key) for key in MAGIC_LINK_PREFILL},
    }


def magic_link_record(
    link: MagicLink, recipient: Recipient, available_models: list[str]
) -> dict[str, Any]:
    """A magic link as the audit log keeps it: everything but the link, a bearer credential."""
    shown = magic_link_view(link, recipient, "", available_models)
    return {k: v for k, v in shown.items() if k != "link"}


MAGIC_LINK_PREFILL = (
    "host",
    "bucket_name",
    "bucket_access_id",
    "bucket_vendor",
    "bucket_host",
    "ssh_public_key",
    "metastore",
    "catalog",
    "table_bucket_arn",
)


def webhook_view(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": str(webhook.id),
        "name": webhook.name,
        "vendor": webhook.vendor,
        "url": webhook.url,
        "api_version": webhook.api_version,
        "events": list(webhook.events),
        "is_enabled": webhook.is_enabled,
        "has_api_key": webhook.sealed_secrets is not None,
        "created_at": iso(webhook.created_at),
        "updated_at": iso(webhook.updated_at),
    }


def event_view(event: EventLog) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "created_at": iso(event.created_at),
        "event_type": event.event_type,
        "resource_id": event.resource_id,
        "actor": {"actor_id": event.actor_id, "type": event.actor_type},
        "object": event.object,
        "previous_object": event.previous_object,
    }
