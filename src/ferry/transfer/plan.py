"""Planning a transfer: everything it needs, loaded once from the metadata database into plain
objects, so no database session is held open while rows are copied."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, and_, bindparam, select
from sqlalchemy.orm import Session

from ferry.connectors import registry
from ferry.connectors.base import DestinationConnector, SourceConnector
from ferry.connectors.config import VendorConfig
from ferry.db.base import table
from ferry.db.models import (
    DataModel,
    Destination,
    Environment,
    Recipient,
    RecipientSourceCredential,
    Source,
    Transfer,
    Watermark,
)
from ferry.errors import ConnectorError
from ferry.modelconfig import ModelConfig
from ferry.scope import Scope
from ferry.services import destinations, models, ssh_keys, vendors
from ferry.services.secrets import unseal
from ferry.transfer import watermarks


@dataclass(frozen=True, slots=True)
class ModelPlan:
    model_id: uuid.UUID
    revision_id: uuid.UUID
    config: ModelConfig
    source_id: uuid.UUID
    source: SourceConnector
    watermark: datetime | None

    @property
    def name(self) -> str:
        return self.config.model_name


@dataclass(frozen=True, slots=True)
class TransferPlan:
    transfer_id: uuid.UUID
    destination_id: uuid.UUID
    tenant: str
    destination: DestinationConnector
    is_full_refresh: bool
    is_debug_mode: bool
    window_start: datetime | None
    window_end: datetime | None
    # Where a backfill starts when no window is asked for (the recipient's default).
    backfill_floor: datetime | None
    models: list[ModelPlan]
    # Models that cannot run at all, with the reason (no source, an unusable source…).
    unrunnable: list[tuple[str, uuid.UUID | None, ConnectorError]] = field(default_factory=list)


def _epoch(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


_TRANSFER = table(Transfer)
_ENVIRONMENT = table(Environment)
_DESTINATION = table(Destination)
_RECIPIENT = table(Recipient)
_MODEL = table(DataModel)
_SOURCE = table(Source)
_CREDENTIAL = table(RecipientSourceCredential)
_WATERMARK = table(Watermark)

# Prebuilt statements: building and keying a statement costs several times what running it
# does, and a worker plans thousands of short transfers.
# Everything about a transfer that claiming, naming (in logs) and planning it needs, in one
# round trip: the transfer, its environment, its destination and that destination's recipient.
_TRANSFER_COLUMNS = (
    select(
        _TRANSFER.c.id,
        _TRANSFER.c.status,
        _TRANSFER.c.destination_id,
        _TRANSFER.c.environment_id,
        _TRANSFER.c.models,
        _TRANSFER.c.is_full_refresh,
        _TRANSFER.c.is_debug_mode,
        _TRANSFER.c.start_transfer_window_at,
        _TRANSFER.c.end_transfer_window_at,
        _ENVIRONMENT.c.organization_id,
        _ENVIRONMENT.c.kind.label("environment"),
        _DESTINATION.c.vendor,
        _DESTINATION.c.placement_key,
        _DESTINATION.c.config,
        _DESTINATION.c.sealed_secrets,
        _DESTINATION.c.products,
        _DESTINATION.c.enabled_models,
        _RECIPIENT.c.id.label("recipient_id"),
        _RECIPIENT.c.id_in_provider_system,
        _RECIPIENT.c.products.label("recipient_products"),
        _RECIPIENT.c.default_full_refresh_min_start_time_epoch,
    )
    .join_from(_TRANSFER, _ENVIRONMENT, _ENVIRONMENT.c.id == _TRANSFER.c.environment_id)
    .join(_DESTINATION, _DESTINATION.c.id == _TRANSFER.c.destination_id)
    .join(_RECIPIENT, _RECIPIENT.c.id == _DESTINATION.c.recipient_id)
)
_TRANSFER_ROW = _TRANSFER_COLUMNS.where(_TRANSFER.c.id == bindparam("transfer_id"))
_TRANSFER_ROWS = _TRANSFER_COLUMNS.where(
    _TRANSFER.c.id.in_(bindparam("transfer_ids", expanding=True))
).order_by(_TRANSFER.c.submitted_at, _TRANSFER.c.id)
_MODEL_ROWS = select(
    _MODEL.c.id, _MODEL.c.revision_id, _MODEL.c.model_name, _MODEL.c.config, _MODEL.c.source_id
).where(
    _MODEL.c.environment_id == bindparam("environment_id"),
    _MODEL.c.model_name.in_(bindparam("names", expanding=True)),
)
# A source with the recipient's own login on it, if it has one.
_SOURCE_ROW = (
    select(
        _SOURCE.c.id,
        _SOURCE.c.environment_id,
        _SOURCE.c.vendor,
        _SOURCE.c.config,
        _SOURCE.c.sealed_secrets,
        _CREDENTIAL.c.username.label("login"),
        _CREDENTIAL.c.sealed_secrets.label("login_secrets"),
    )
    .select_from(
        _SOURCE.outerjoin(
            _CREDENTIAL,
            and_(
                _CREDENTIAL.c.source_id == _SOURCE.c.id,
                _CREDENTIAL.c.recipient_id == bindparam("recipient_id"),
            ),
        )
    )
    .where(_SOURCE.c.id == bindparam("source_id"))
)
_WATERMARKS = select(_WATERMARK.c.model_name, _WATERMARK.c.value).where(
    _WATERMARK.c.destination_id == bindparam("destination_id"),
    _WATERMARK.c.model_name.in_(bindparam("names", expanding=True)),
)


def transfer_row(session: Session, transfer_id: uuid.UUID) -> Row[Any] | None:
    """The transfer with its environment, destination and recipient (see ``_TRANSFER_ROW``);
    None when there is no such transfer."""
    found = session.execute(_TRANSFER_ROW, {"transfer_id": transfer_id}).one_or_none()
    return cast("Row[Any] | None", found)


def transfer_rows(session: Session, transfer_ids: list[uuid.UUID]) -> list[Row[Any]]:
    """``transfer_row`` of several transfers at once, oldest first."""
    return list(session.execute(_TRANSFER_ROWS, {"transfer_ids": transfer_ids}))


def build(session: Session, transfer: Row[Any]) -> TransferPlan:
    """The plan of a transfer, from its ``transfer_row``."""
    scope = Scope(
        organization_id=uuid.UUID(int=0),
        environment_id=transfer.environment_id,
        environment="",
        actor_type="worker",
        actor_id=None,
    )
    destination_class = registry.destination_class(transfer.vendor)
    destination_connector = destination_class(
        vendors.revealed(session, transfer.config, transfer.sealed_secrets, destination_class),
        context=ssh_keys.context_for(
            session,
            environment_id=transfer.environment_id,
            config=transfer.config,
        ),
    )
    wanted: list[str] = transfer.models or destinations.received_models(
        session,
        scope=scope,
        product_names=(
            transfer.products if transfer.products is not None else transfer.recipient_products
        ),
        enabled_models=transfer.enabled_models,
    )
    by_name = {
        row.model_name: row
        for row in session.execute(
            _MODEL_ROWS, {"environment_id": transfer.environment_id, "names": wanted}
        )
    }
    marks: dict[str, str] = {}
    if by_name and not transfer.is_full_refresh:
        found = session.execute(
            _WATERMARKS, {"destination_id": transfer.destination_id, "names": list(by_name)}
        )
        marks = {row.model_name: row.value for row in found}
    connectors: dict[uuid.UUID, tuple[uuid.UUID, SourceConnector] | ConnectorError] = {}
    plans: list[ModelPlan] = []
    unrunnable: list[tuple[str, uuid.UUID | None, ConnectorError]] = []
    for name in wanted:
        row = by_name.get(name)
        if row is None:
            unrunnable.append(
                (
                    name,
                    None,
                    ConnectorError(
                        f"model {name!r} no longer exists",
                        error_code="PRQL-MODEL",
                        title="Model missing",
                        blame="first_party",
                    ),
                )
            )
            continue
        config = _model_config(row.model_name, row.config)
        # Models reading the same stored source share its connector.
        source = connectors.get(row.source_id) if row.source_id is not None else None
        if source is None:
            try:
                source = _source_for(
                    session, scope, row.model_name, row.source_id, config, transfer.recipient_id
                )
            except ConnectorError as exc:
                source = exc
            if row.source_id is not None:
                connectors[row.source_id] = source
        if isinstance(source, ConnectorError):
            unrunnable.append((name, row.id, source))
            continue
        plans.append(
            ModelPlan(
                row.id,
                row.revision_id,
                config,
                source[0],
                source[1],
                watermarks.parse(marks.get(name)),
            )
        )
    return TransferPlan(
        transfer_id=transfer.id,
        destination_id=transfer.destination_id,
        tenant=transfer.id_in_provider_system,
        destination=destination_connector,
        is_full_refresh=transfer.is_full_refresh,
        is_debug_mode=transfer.is_debug_mode,
        window_start=transfer.start_transfer_window_at,
        window_end=transfer.end_transfer_window_at,
        backfill_floor=_epoch(transfer.default_full_refresh_min_start_time_epoch),
        models=plans,
        unrunnable=unrunnable,
    )


def _model_config(name: str, stored: dict[str, Any]) -> ModelConfig:
    return _parsed_model(name, json.dumps(stored, sort_keys=True, default=str))


# By content: validating a model's config costs more than planning the rest.
@functools.lru_cache(maxsize=512)
def _parsed_model(name: str, stored: str) -> ModelConfig:
    return models.config_from(name, json.loads(stored))


def _source_for(
    session: Session,
    scope: Scope,
    model_name: str,
    source_id: uuid.UUID | None,
    config: ModelConfig,
    recipient_id: uuid.UUID,
) -> tuple[uuid.UUID, SourceConnector]:
    def load(ident: uuid.UUID) -> Any:
        return session.execute(
            _SOURCE_ROW, {"source_id": ident, "recipient_id": recipient_id}
        ).one_or_none()

    row = load(source_id) if source_id is not None else None
    if row is None:
        resolved = models.resolve_source(session, scope=scope, config=config)
        row = load(resolved.id) if resolved is not None else None
    if row is None:
        raise ConnectorError(
            f"model {model_name!r} has no source: create one first",
            error_code="PRQL-SOURCE",
            title="No source",
            blame="first_party",
        )
    connector_class = registry.source_class(row.vendor)
    config_values = vendors.revealed(session, row.config, row.sealed_secrets, connector_class)
    if row.login is not None:
        # The recipient's own login on the source: its rows are read with it.
        config_values = _with_login(
            connector_class.config_model,
            config_values,
            row.login,
            unseal(session, row.login_secrets).get("password"),
        )
    context = ssh_keys.context_for(session, environment_id=row.environment_id, config=row.config)
    return row.id, connector_class(config_values, context=context)


def _with_login(
    model: type[VendorConfig], config: VendorConfig, username: str, password: str | None
) -> VendorConfig:
    values = config.reveal()
    values["password_auth"] = {"username": username, "password": password or ""}
    return model.model_validate(values)
