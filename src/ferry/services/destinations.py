"""Destinations: where one recipient receives its data."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ferry.connectors import registry
from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import VendorConfig
from ferry.db import queries
from ferry.db.models import Destination, Recipient
from ferry.errors import Conflict, InvalidInput, NotFound
from ferry.scope import Scope
from ferry.services import audit, models, products, recipients, ssh_keys, vendors
from ferry.services.lookup import require
from ferry.services.views import destination_view

FREQUENCIES = (0, 15, 60, 360, 720, 1440)
ALL_MODELS = "*"
_LOAD = (selectinload(Destination.recipient), selectinload(Destination.last_completed_transfer))


def get(session: Session, *, scope: Scope, destination_id: str | uuid.UUID) -> Destination:
    return require(
        session, Destination, scope=scope, ident=destination_id, kind="destination", options=_LOAD
    )


def list_stmt(
    *,
    scope: Scope,
    recipient_id: uuid.UUID | None = None,
    id_in_provider_system: list[str] | None = None,
    vendor: list[str] | None = None,
) -> Select[Destination]:
    stmt = queries.select_in(Destination, scope=scope).options(*_LOAD)
    if recipient_id is not None:
        stmt = stmt.where(Destination.recipient_id == recipient_id)
    if id_in_provider_system:
        stmt = stmt.join(Recipient, Recipient.id == Destination.recipient_id).where(
            Recipient.id_in_provider_system.in_(id_in_provider_system)
        )
    if vendor:
        stmt = stmt.where(Destination.vendor.in_(vendor))
    return stmt


def view(destination: Destination) -> dict[str, Any]:
    return destination_view(destination, destination.recipient, destination.last_completed_transfer)


def _audit_view(destination: Destination) -> dict[str, Any]:
    return destination_view(destination, destination.recipient)


def config_of(session: Session, destination: Destination) -> VendorConfig:
    """The full config, secrets included, for connecting."""
    return vendors.revealed(
        session,
        destination.config,
        destination.sealed_secrets,
        registry.destination_class(destination.vendor),
    )


def effective_models(session: Session, *, scope: Scope, destination: Destination) -> list[str]:
    """The models this destination receives: its (or its recipient's) products, narrowed by
    ``enabled_models``."""
    product_names = (
        destination.products if destination.products is not None else destination.recipient.products
    )
    return received_models(
        session, scope=scope, product_names=product_names, enabled_models=destination.enabled_models
    )


def received_models(
    session: Session, *, scope: Scope, product_names: Iterable[str], enabled_models: list[str]
) -> list[str]:
    """``effective_models`` from the destination's fields: the models its products cover,
    narrowed by ``enabled_models``."""
    covered = products.models_of(session, scope=scope, product_names=product_names)
    if ALL_MODELS in enabled_models:
        return covered
    enabled = set(enabled_models)
    return [m for m in covered if m in enabled]


def _resolve_recipient(session: Session, scope: Scope, data: dict[str, Any]) -> Recipient:
    recipient_id = data.get("recipient_id")
    provider_id = data.get("id_in_provider_system")
    if scope.recipient_id is not None:
        recipient_id = recipient_id or scope.recipient_id
        if str(recipient_id) != str(scope.recipient_id):
            raise NotFound.of("recipient", recipient_id)
    if recipient_id is not None:
        recipient = recipients.get(session, scope=scope, recipient_id=recipient_id)
        if provider_id is not None and provider_id != recipient.id_in_provider_system:
            raise InvalidInput(
                "destination.id_in_provider_system: does not match the recipient "
                "named by recipient_id"
            )
        return recipient
    if provider_id is None:
        raise InvalidInput(
            "destination.recipient_id: is required (or id_in_provider_system, "
            "to create the recipient with the destination)"
        )
    existing = recipients.by_provider_id(session, scope=scope, id_in_provider_system=provider_id)
    if existing is not None:
        raise Conflict(
            f"destination.id_in_provider_system: recipient {provider_id!r} already "
            f"exists; pass recipient_id {existing.id} to add a destination to it"
        )
    return recipients.create(
        session, scope=scope, data={"id_in_provider_system": provider_id, "name": provider_id}
    )


def _check_settings(session: Session, scope: Scope, data: dict[str, Any]) -> None:
    frequency = data.get("frequency_minutes")
    if frequency is not None and frequency not in FREQUENCIES:
        raise InvalidInput(
            "destination.frequency_minutes: must be one of " + ", ".join(map(str, FREQUENCIES))
        )
    enabled = data.get("enabled_models")
    if enabled is not None:
        known = set(models.names(session, scope=scope))
        unknown = [m for m in enabled if m != ALL_MODELS and m not in known]
        if unknown:
            raise InvalidInput(f"destination.enabled_models: unknown model {unknown[0]!r}")
    if data.get("products") is not None:
        data["products"] = products.check_names(
            session, scope=scope, names=data["products"], field="destination.products"
        )


def _check_target(session: Session, scope: Scope, destination: Destination) -> None:
    """Two recipients never share one destination (spec §1.2): their data would mix."""
    others = session.scalars(
        queries.select_in(Destination, scope=scope).where(
            Destination.target_key == destination.target_key,
            Destination.recipient_id != destination.recipient_id,
        )
    ).first()
    if others is not None:
        raise Conflict(
            "destination: another recipient's destination already writes to the same "
            f"place ({others.id}); give each recipient its own schema, database or "
            "folder"
        )


_SETTINGS = (
    "frequency_minutes",
    "is_enabled",
    "max_concurrent_transfers",
    "max_concurrent_queries_per_transfer",
    "enabled_models",
    "products",
)


def create(
    session: Session, *, scope: Scope, data: dict[str, Any], config: VendorConfig
) -> Destination:
    connector = registry.destination_class(data["vendor"], field="destination.vendor")
    _check_settings(session, scope, data)
    recipient = _resolve_recipient(session, scope, data)
    ssh_keys.claim(session, environment_id=scope.environment_id, config=config.public_view())
    public, sealed = vendors.store(session, config)
    destination = Destination(
        environment_id=scope.environment_id,
        recipient_id=recipient.id,
        name=data["name"],
        vendor=connector.vendor,
        config=public,
        sealed_secrets=sealed,
        target_key=vendors.target_key(connector, config),
        placement_key=connector.placement_key(public),
        **{k: data[k] for k in _SETTINGS if data.get(k) is not None},
    )
    # Loaded-state only: assigning the post_update relationship would issue an UPDATE.
    set_committed_value(destination, "recipient", recipient)
    set_committed_value(destination, "last_completed_transfer", None)
    _check_target(session, scope, destination)
    session.add(destination)
    session.flush()
    audit.record(
        session, scope, "DESTINATION_ADD", resource_id=destination.id, obj=_audit_view(destination)
    )
    return destination


def update(
    session: Session,
    *,
    scope: Scope,
    destination_id: str | uuid.UUID,
    fields: dict[str, Any],
    build: vendors.ConfigBuilder[DestinationConnector] | None,
) -> Destination:
    destination = get(session, scope=scope, destination_id=destination_id)
    previous = _audit_view(destination)
    moving_to = fields.get("recipient_id")
    provider_id = fields.get("id_in_provider_system")
    if (moving_to is not None and str(moving_to) != str(destination.recipient_id)) or (
        provider_id is not None and provider_id != destination.recipient.id_in_provider_system
    ):
        field = "recipient_id" if moving_to is not None else "id_in_provider_system"
        raise InvalidInput(
            f"destination.{field}: a destination cannot move to another recipient (its data "
            "belongs to its recipient); create a destination for the other recipient instead"
        )
    _check_settings(session, scope, fields)
    vendor = fields.get("vendor") or destination.vendor
    if vendor != destination.vendor and build is None:
        raise InvalidInput(
            f"destination.{vendor}: the whole {vendor} object is required to change the vendor"
        )
    if build is not None:
        connector = registry.destination_class(vendor, field="destination.vendor")
        current = config_of(session, destination).reveal() if vendor == destination.vendor else None
        config = build(connector, current)
        ssh_keys.claim(session, environment_id=scope.environment_id, config=config.public_view())
        destination.vendor = vendor
        destination.config, destination.sealed_secrets = vendors.store(session, config)
        destination.target_key = vendors.target_key(connector, config)
        destination.placement_key = connector.placement_key(destination.config)
        _check_target(session, scope, destination)
    if fields.get("name"):
        destination.name = fields["name"]
    for key in _SETTINGS:
        if key in fields and (fields[key] is not None or key == "products"):
            setattr(destination, key, fields[key])
    session.flush()
    audit.record(
        session,
        scope,
        "DESTINATION_UPDATE",
        resource_id=destination.id,
        obj=_audit_view(destination),
        previous=previous,
    )
    return destination


def delete(session: Session, *, scope: Scope, destination_id: str | uuid.UUID) -> None:
    """Delete a destination and its transfer history; data already delivered stays put."""
    destination = get(session, scope=scope, destination_id=destination_id)
    previous = _audit_view(destination)
    session.delete(destination)
    session.flush()
    audit.record(
        session, scope, "DESTINATION_DELETE", resource_id=destination.id, previous=previous
    )
