"""Recipients: the provider's customers, keyed by their id in the provider's system."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session, selectinload

from ferry.db import queries
from ferry.db.models import Destination, MagicLink, Recipient, RecipientSourceCredential
from ferry.errors import Conflict
from ferry.scope import Scope
from ferry.services import audit, products
from ferry.services.lookup import require
from ferry.services.views import (
    credential_view,
    destination_view,
    magic_link_record,
    recipient_view,
)


def get(session: Session, *, scope: Scope, recipient_id: str | uuid.UUID) -> Recipient:
    return require(session, Recipient, scope=scope, ident=recipient_id, kind="recipient")


def by_provider_id(
    session: Session, *, scope: Scope, id_in_provider_system: str
) -> Recipient | None:
    return session.scalar(
        queries.select_in(Recipient, scope=scope).where(
            Recipient.id_in_provider_system == id_in_provider_system
        )
    )


def list_stmt(*, scope: Scope, id_in_provider_system: list[str] | None = None) -> Select[Recipient]:
    stmt = queries.select_in(Recipient, scope=scope)
    if id_in_provider_system:
        stmt = stmt.where(Recipient.id_in_provider_system.in_(id_in_provider_system))
    return stmt


def _unique(session: Session, scope: Scope, id_in_provider_system: str) -> None:
    if by_provider_id(session, scope=scope, id_in_provider_system=id_in_provider_system):
        raise Conflict(
            f"id_in_provider_system: a recipient with id_in_provider_system "
            f"{id_in_provider_system!r} already exists"
        )


def create(session: Session, *, scope: Scope, data: dict[str, Any]) -> Recipient:
    _unique(session, scope, data["id_in_provider_system"])
    names = products.check_names(
        session,
        scope=scope,
        field="recipient.products",
        names=data.get("products") or [products.DEFAULT_PRODUCT],
    )
    recipient = Recipient(
        environment_id=scope.environment_id,
        name=data.get("name") or data["id_in_provider_system"],
        id_in_provider_system=data["id_in_provider_system"],
        products=names,
        schema=data.get("schema"),
        default_full_refresh_min_start_time_epoch=data.get(
            "default_full_refresh_min_start_time_epoch"
        ),
    )
    session.add(recipient)
    session.flush()
    audit.record(
        session, scope, "RECIPIENT_ADD", resource_id=recipient.id, obj=recipient_view(recipient)
    )
    return recipient


def update(
    session: Session, *, scope: Scope, recipient_id: str | uuid.UUID, data: dict[str, Any]
) -> Recipient:
    recipient = get(session, scope=scope, recipient_id=recipient_id)
    previous = recipient_view(recipient)
    new_key = data.get("id_in_provider_system")
    if new_key is not None and new_key != recipient.id_in_provider_system:
        _unique(session, scope, new_key)
        recipient.id_in_provider_system = new_key
    if "products" in data:
        recipient.products = products.check_names(
            session,
            scope=scope,
            names=data["products"] or [products.DEFAULT_PRODUCT],
            field="recipient.products",
        )
    for field in ("name", "schema", "default_full_refresh_min_start_time_epoch"):
        if field in data and (data[field] is not None or field != "name"):
            setattr(recipient, field, data[field])
    session.flush()
    audit.record(
        session,
        scope,
        "RECIPIENT_UPDATE",
        resource_id=recipient.id,
        obj=recipient_view(recipient),
        previous=previous,
    )
    return recipient


def delete(session: Session, *, scope: Scope, recipient_id: str | uuid.UUID) -> None:
    """Delete a recipient with its destinations (data already delivered stays where it is)."""
    recipient = get(session, scope=scope, recipient_id=recipient_id)
    owned = session.scalars(
        queries.select_in(Destination, scope=scope)
        .where(Destination.recipient_id == recipient.id)
        .options(selectinload(Destination.recipient))
    ).all()
    for destination in owned:
        audit.record(
            session,
            scope,
            "DESTINATION_DELETE",
            resource_id=destination.id,
            previous=destination_view(destination, recipient),
        )
        session.delete(destination)
    for credential in session.scalars(
        queries.select_in(RecipientSourceCredential, scope=scope).where(
            RecipientSourceCredential.recipient_id == recipient.id
        )
    ):
        audit.record(
            session,
            scope,
            "RECIPIENT_SOURCE_CREDENTIAL_DELETE",
            resource_id=credential.id,
            previous=credential_view(credential),
        )
        session.delete(credential)
    for link in session.scalars(
        queries.select_in(MagicLink, scope=scope).where(MagicLink.recipient_id == recipient.id)
    ):
        audit.record(
            session,
            scope,
            "MAGIC_LINK_DELETE",
            resource_id=link.id,
            previous=magic_link_record(
                link,
                recipient,
                products.models_of(
                    session, scope=scope, product_names=link.products or recipient.products
                ),
            ),
        )
        session.delete(link)
    previous = recipient_view(recipient)
    session.delete(recipient)
    session.flush()
    audit.record(session, scope, "RECIPIENT_DELETE", resource_id=recipient.id, previous=previous)
