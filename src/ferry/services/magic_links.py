"""Magic links: single-use, expiring pages where a recipient enters its own destination."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ferry import crypto
from ferry.connectors import registry
from ferry.db import queries
from ferry.db.base import utcnow
from ferry.db.models import MagicLink, Recipient
from ferry.errors import NotFound
from ferry.scope import Scope
from ferry.services import audit, products, recipients
from ferry.services.lookup import require
from ferry.services.secrets import settings_of
from ferry.services.views import MAGIC_LINK_PREFILL, magic_link_record, magic_link_view

PAGE_PATH = "/magic-link/"


def get(session: Session, *, scope: Scope, link_id: str | uuid.UUID) -> MagicLink:
    return require(session, MagicLink, scope=scope, ident=link_id, kind="magic link")


def list_stmt(*, scope: Scope) -> Select[MagicLink]:
    return queries.select_in(MagicLink, scope=scope)


def token_of(session: Session, link: MagicLink) -> str:
    return str(crypto.sealer(settings_of(session)).open(link.sealed_token))


def available_models(
    session: Session, *, scope: Scope, link: MagicLink, recipient: Recipient
) -> list[str]:
    return products.models_of(
        session, scope=scope, product_names=link.products or recipient.products
    )


def record(session: Session, *, scope: Scope, link: MagicLink) -> dict[str, Any]:
    """The link as the audit log keeps it."""
    recipient = session.get_one(Recipient, link.recipient_id)
    models = available_models(session, scope=scope, link=link, recipient=recipient)
    return magic_link_record(link, recipient, models)


def view(session: Session, *, scope: Scope, link: MagicLink, base_url: str) -> dict[str, Any]:
    recipient = session.get_one(Recipient, link.recipient_id)
    models = available_models(session, scope=scope, link=link, recipient=recipient)
    return magic_link_view(link, recipient, base_url + PAGE_PATH + token_of(session, link), models)


def _recipient_for(session: Session, scope: Scope, data: dict[str, Any]) -> Recipient:
    if data.get("recipient_id") is not None:
        return recipients.get(session, scope=scope, recipient_id=data["recipient_id"])
    # 2022-01-01 named the recipient by its id in the provider's system, creating it if new.
    provider_id = data["id_in_provider_system"]
    existing = recipients.by_provider_id(session, scope=scope, id_in_provider_system=provider_id)
    if existing is not None:
        return existing
    return recipients.create(
        session,
        scope=scope,
        data={
            "id_in_provider_system": provider_id,
            "name": provider_id,
            "products": data.get("products"),
        },
    )


def create(
    session: Session, *, scope: Scope, data: dict[str, Any], base_url: str
) -> dict[str, Any]:
    registry.destination_class(data["vendor"], field="magic_link.vendor")
    recipient = _recipient_for(session, scope, data)
    link_products = products.check_names(
        session, scope=scope, names=data.get("products") or [], field="magic_link.products"
    )
    token = secrets.token_urlsafe(32)
    settings = settings_of(session)
    link = MagicLink(
        environment_id=scope.environment_id,
        recipient_id=recipient.id,
        name=data.get("name") or f"{recipient.name} {data['vendor']}",
        vendor=data["vendor"],
        token_hash=crypto.hash_token(token),
        sealed_token=crypto.sealer(settings).seal(token),
        prefill={k: data[k] for k in MAGIC_LINK_PREFILL if data.get(k) is not None},
        products=link_products,
        set_destination_enabled=data.get("set_destination_enabled", True) is not False,
        redirect_url=data.get("redirect_url"),
        expires_at=utcnow() + timedelta(hours=settings.magic_link_ttl_hours),
    )
    session.add(link)
    session.flush()
    shown = view(session, scope=scope, link=link, base_url=base_url)
    audit.record(
        session,
        scope,
        "MAGIC_LINK_CREATE",
        resource_id=link.id,
        obj=record(session, scope=scope, link=link),
    )
    return shown


def delete(session: Session, *, scope: Scope, link_id: str | uuid.UUID) -> None:
    link = get(session, scope=scope, link_id=link_id)
    previous = record(session, scope=scope, link=link)
    session.delete(link)
    session.flush()
    audit.record(session, scope, "MAGIC_LINK_DELETE", resource_id=link.id, previous=previous)


def by_token(session: Session, *, token: str) -> MagicLink:
    """The usable link a page token opens; used, expired and unknown tokens all fail alike."""
    link = session.scalar(select(MagicLink).where(MagicLink.token_hash == crypto.hash_token(token)))
    if link is None or link.has_been_used or link.expires_at <= utcnow():
        raise NotFound("this link is not valid: it was used already, has expired, or never existed")
    return link
