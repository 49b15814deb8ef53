"""Sources: the provider's databases that models are read from."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ferry.connectors import registry
from ferry.connectors.base import SourceConnector
from ferry.connectors.config import VendorConfig
from ferry.db import queries
from ferry.db.models import DataModel, RecipientSourceCredential, Source
from ferry.errors import Conflict, InvalidInput
from ferry.scope import Scope
from ferry.services import audit, ssh_keys, vendors
from ferry.services.lookup import require
from ferry.services.views import credential_view, source_view


def get(session: Session, *, scope: Scope, source_id: str | uuid.UUID) -> Source:
    return require(session, Source, scope=scope, ident=source_id, kind="source", name_column="name")


def list_stmt(*, scope: Scope) -> Select[Source]:
    return queries.select_in(Source, scope=scope)


def config_of(session: Session, source: Source) -> VendorConfig:
    """The full config, secrets included, for connecting."""
    return vendors.revealed(
        session, source.config, source.sealed_secrets, registry.source_class(source.vendor)
    )


def connector_of(session: Session, source: Source) -> SourceConnector:
    """A connector for the saved source, with the private key of its SSH tunnel, if any."""
    return registry.source_class(source.vendor)(
        config_of(session, source),
        context=ssh_keys.context_for(
            session, environment_id=source.environment_id, config=source.config
        ),
    )


def _unique_name(session: Session, scope: Scope, name: str, *, exclude: uuid.UUID | None) -> None:
    clash = session.scalar(list_stmt(scope=scope).where(Source.name == name))
    if clash is not None and clash.id != exclude:
        raise Conflict(f"source.name: a source named {name!r} already exists")


def create(
    session: Session, *, scope: Scope, name: str, vendor: str, config: VendorConfig
) -> Source:
    _unique_name(session, scope, name, exclude=None)
    public, sealed = vendors.store(session, config)
    ssh_keys.claim(session, environment_id=scope.environment_id, config=public)
    source = Source(
        environment_id=scope.environment_id,
        name=name,
        vendor=vendor,
        config=public,
        sealed_secrets=sealed,
    )
    session.add(source)
    session.flush()
    audit.record(session, scope, "SOURCE_ADD", resource_id=source.id, obj=source_view(source))
    return source


def update(
    session: Session,
    *,
    scope: Scope,
    source_id: str | uuid.UUID,
    fields: dict[str, Any],
    build: vendors.ConfigBuilder[SourceConnector] | None,
) -> Source:
    source = get(session, scope=scope, source_id=source_id)
    previous = source_view(source)
    if fields.get("name") and fields["name"] != source.name:
        _unique_name(session, scope, fields["name"], exclude=source.id)
        source.name = fields["name"]
    vendor = fields.get("vendor") or source.vendor
    if vendor != source.vendor and build is None:
        raise InvalidInput(
            f"source.{vendor}: the whole {vendor} object is required to change the vendor"
        )
    if build is not None:
        connector = registry.source_class(vendor, field="source.vendor")
        current = config_of(session, source).reveal() if vendor == source.vendor else None
        config = build(connector, current)
        source.vendor = vendor
        source.config, source.sealed_secrets = vendors.store(session, config)
        ssh_keys.claim(session, environment_id=scope.environment_id, config=source.config)
        source.is_reachable = None
    session.flush()
    audit.record(
        session,
        scope,
        "SOURCE_UPDATE",
        resource_id=source.id,
        obj=source_view(source),
        previous=previous,
    )
    return source


def delete(session: Session, *, scope: Scope, source_id: str | uuid.UUID) -> None:
    source = get(session, scope=scope, source_id=source_id)
    users = session.scalars(
        select(DataModel.model_name).where(
            DataModel.environment_id == scope.environment_id, DataModel.source_id == source.id
        )
    ).all()
    if users:
        raise Conflict(
            f"source {source.name!r} is read by models {', '.join(sorted(users))}; "
            "delete them or point them at another source first"
        )
    for credential in session.scalars(
        queries.select_in(RecipientSourceCredential, scope=scope).where(
            RecipientSourceCredential.source_id == source.id
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
    previous = source_view(source)
    session.delete(source)
    session.flush()
    audit.record(session, scope, "SOURCE_DELETE", resource_id=source.id, previous=previous)


def count(session: Session, *, scope: Scope) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Source)
            .where(Source.environment_id == scope.environment_id)
        )
        or 0
    )
