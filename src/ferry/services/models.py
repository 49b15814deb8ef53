"""Models: one exported table each (spec §8)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ferry.connectors import registry
from ferry.db import queries
from ferry.db.base import new_id
from ferry.db.models import DataModel, Product, Source
from ferry.errors import Conflict, ConnectorError, InvalidInput
from ferry.modelconfig import ModelConfig, validate_config
from ferry.scope import Scope
from ferry.services import audit, products, sources
from ferry.services.lookup import as_uuid, require
from ferry.services.views import model_view


def get(session: Session, *, scope: Scope, model: str | uuid.UUID) -> DataModel:
    return require(
        session, DataModel, scope=scope, ident=model, kind="model", name_column="model_name"
    )


def list_stmt(
    session: Session,
    *,
    scope: Scope,
    model_names: list[str] | None = None,
    product_names: list[str] | None = None,
) -> Select[DataModel]:
    stmt = queries.select_in(DataModel, scope=scope)
    subscribed = products.subscribed_products(session, scope=scope)
    if subscribed is not None:
        # A recipient's scoped token sees the models of the products it subscribes to.
        available = products.models_of(session, scope=scope, product_names=subscribed)
        stmt = stmt.where(DataModel.model_name.in_(available))
    if model_names is not None:
        stmt = stmt.where(DataModel.model_name.in_(model_names))
    if product_names:
        covered = products.models_of(session, scope=scope, product_names=product_names)
        stmt = stmt.where(DataModel.model_name.in_(covered))
    return stmt


def config_of(model: DataModel) -> ModelConfig:
    return config_from(model.model_name, model.config)


def config_from(model_name: str, stored: dict[str, Any]) -> ModelConfig:
    """A model's config from its stored form (its name is kept apart)."""
    return ModelConfig.model_validate({"model_name": model_name, **stored})


def resolve_source(session: Session, *, scope: Scope, config: ModelConfig) -> Source | None:
    """The source a model reads from: named by id or name, or the only one there is."""
    if config.source_id:
        source_uuid = as_uuid(config.source_id)
        found = (
            queries.get_in(session, Source, scope=scope, ident=source_uuid) if source_uuid else None
        )
        if found is None:
            raise InvalidInput(f"model.source_id: no source {config.source_id}")
        return found
    if config.source_name:
        found = session.scalar(
            sources.list_stmt(scope=scope).where(Source.name == config.source_name)
        )
        if found is None:
            raise InvalidInput(f"model.source_name: no source named {config.source_name!r}")
        return found
    candidates = session.scalars(sources.list_stmt(scope=scope).limit(2)).all()
    if len(candidates) > 1:
        raise InvalidInput(
            "model.source_name: this environment has several sources; "
            "name the model's source with source_name or source_id"
        )
    return candidates[0] if candidates else None


def check_against_source(session: Session, source: Source | None, config: ModelConfig) -> str:
    """Validate a model on its live source; returns a note on what was checked."""
    if source is None:
        return "no source is configured yet, so the model was checked structurally only"
    connector_class = registry.source_class(source.vendor)
    if not connector_class.available:
        return (
            f"the {connector_class.display_name} source connector is not available in "
            "this build, so the model was checked structurally only"
        )
    connector = sources.connector_of(session, source)
    try:
        connector.validate_model(config)
    except ConnectorError as exc:
        raise InvalidInput(f"model: does not match source {source.name!r}: {exc.message}") from exc
    return f"the model was validated against source {source.name!r}"


def _type_changes(old: ModelConfig, new: ModelConfig) -> list[str]:
    before = {c.name_in_destination: c.data_type.canonical for c in old.columns}
    return [
        c.name_in_destination
        for c in new.columns
        if c.name_in_destination in before
        and before[c.name_in_destination] != c.data_type.canonical
    ]


def _unique_table(
    session: Session, scope: Scope, config: ModelConfig, *, exclude: uuid.UUID | None
) -> None:
    """Two models writing one destination table would overwrite each other's rows."""
    wanted = config.table_name.lower()
    for other in session.scalars(queries.select_in(DataModel, scope=scope)):
        if other.id == exclude:
            continue
        if config_of(other).table_name.lower() == wanted:
            field = "destination_table_name" if config.destination_table_name else "model_name"
            raise Conflict(
                f"model.{field}: model {other.model_name!r} already writes the destination "
                f"table {config.table_name!r}"
            )


def create(
    session: Session, *, scope: Scope, data: dict[str, Any], skip_validation: bool
) -> tuple[DataModel, str]:
    config = validate_config(data)
    if session.scalar(
        list_stmt(session, scope=scope).where(DataModel.model_name == config.model_name)
    ):
        raise Conflict(f"model.model_name: a model named {config.model_name!r} already exists")
    _unique_table(session, scope, config, exclude=None)
    source = resolve_source(session, scope=scope, config=config)
    note = (
        "model validation was skipped"
        if skip_validation
        else check_against_source(session, source, config)
    )
    model = DataModel(
        environment_id=scope.environment_id,
        model_name=config.model_name,
        config=config.stored(),
        source_id=source.id if source else None,
    )
    session.add(model)
    session.flush()
    audit.record(session, scope, "MODEL_ADD", resource_id=model.id, obj=model_view(model))
    return model, note


def update(
    session: Session,
    *,
    scope: Scope,
    model: str | uuid.UUID,
    data: dict[str, Any],
    skip_validation: bool,
) -> tuple[DataModel, str]:
    found = get(session, scope=scope, model=model)
    previous = model_view(found)
    if "model_name" in data and data["model_name"] != found.model_name:
        raise InvalidInput(
            "model.model_name: a model cannot be renamed (it names the "
            "destination tables); create a new model instead"
        )
    old = config_of(found)
    merged = {**old.model_dump(mode="json", exclude_none=True), **data}
    config = validate_config(merged)
    changed = _type_changes(old, config)
    if changed and scope.environment == "prod":
        raise InvalidInput(
            f"model.columns: changing the data_type of {', '.join(changed)} is "
            "not allowed in prod; add a new column instead (staging allows it, "
            "followed by a full refresh)"
        )
    _unique_table(session, scope, config, exclude=found.id)
    source = resolve_source(session, scope=scope, config=config)
    note = (
        "model validation was skipped"
        if skip_validation
        else check_against_source(session, source, config)
    )
    found.config = config.stored()
    found.source_id = source.id if source else None
    found.revision_id = new_id()
    session.flush()
    audit.record(
        session,
        scope,
        "MODEL_UPDATE",
        resource_id=found.id,
        obj=model_view(found),
        previous=previous,
    )
    return found, note


def delete(session: Session, *, scope: Scope, model: str | uuid.UUID) -> None:
    """Delete a model; destination tables stay, and products stop naming it."""
    found = get(session, scope=scope, model=model)
    previous = model_view(found)
    for product in session.scalars(queries.select_in(Product, scope=scope)):
        if found.model_name in product.models:
            product.models = [m for m in product.models if m != found.model_name]
    session.delete(found)
    session.flush()
    audit.record(session, scope, "MODEL_DELETE", resource_id=found.id, previous=previous)


def validate_stored(session: Session, *, scope: Scope, model: str) -> dict[str, Any]:
    found = get(session, scope=scope, model=model)
    config = config_of(found)
    source = resolve_source(session, scope=scope, config=config)
    note = check_against_source(session, source, config)
    return {"model_name": found.model_name, "is_valid": True, "message": note}


def names(session: Session, *, scope: Scope) -> list[str]:
    return list(
        session.scalars(
            select(DataModel.model_name).where(DataModel.environment_id == scope.environment_id)
        )
    )
