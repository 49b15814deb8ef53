"""Webhook requests."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ferry.api.schemas.common import Input
from ferry.fields import Name, Password, Url

WebhookVendor = Literal["generic_post", "generic_get", "slack", "pagerduty", "datadog"]
Event = Literal[
    "transfer.success",
    "transfer.error",
    "transfer.cancelled",
    "source.created",
    "source.updated",
    "source.deleted",
    "destination.created",
    "destination.updated",
    "destination.deleted",
    "recipient.created",
    "recipient.updated",
    "recipient.deleted",
    "magic_link.created",
    "magic_link.updated",
    "magic_link.deleted",
    "model.created",
    "model.updated",
    "model.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
]
Events = Annotated[list[Event], Field(max_length=64)]


class WebhookIn(Input):
    name: Name
    vendor: WebhookVendor
    url: Url
    api_version: Literal["2023-10-15"] = "2023-10-15"
    events: Events | None = None
    api_key: Password | None = None
    is_enabled: bool = True


class WebhookPatch(Input):
    name: Name | None = None
    vendor: WebhookVendor | None = None
    url: Url | None = None
    api_version: Literal["2023-10-15"] | None = None
    events: Events | None = None
    api_key: Password | None = None
    is_enabled: bool | None = None


class WebhookCreate(Input):
    webhook: WebhookIn


class WebhookUpdate(Input):
    webhook: WebhookPatch
