"""Planning a transfer: everything it needs, loaded once from the metadata database into plain
objects, so no database session is held open while rows are copied."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ferry.connectors import registry
from ferry.connectors.base import (
    ConnectorContext,
    DestinationConnector,
    SourceConnector,
)
from ferry.connectors.config import VendorConfig
from ferry.db.models import (
    DataModel,
    Destination,
    RecipientSourceCredential,
    Source,
    Transfer,
)
from ferry.errors import ConnectorError
from ferry.modelconfig import ModelConfig
from ferry.scope import Scope
from ferry.services import destinations, models, sources, ssh_keys
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


def build(session: Session, transfer_id: uuid.UUID) -> TransferPlan:
    transfer = session.get_one(Transfer, transfer_id)
    destination = session.scalars(
        select(Destination)
        .where(Destination.id == transfer.destination_id)
        .options(selectinload(Destination.recipient))
    ).one()
    recipient = destination.recipient
    scope = Scope(
        organization_id=uuid.UUID(int=0),
        environment_id=transfer.environment_id,
        environment="",
        actor_type="worker",
        actor_id=None,
    )
    destination_connector = registry.destination_class(destination.vendor)(
        destinations.config_of(session, destination), context=_context(session, destination)
    )
    wanted = transfer.models or destinations.effective_models(
        session, scope=scope, destination=destination
    )
    rows = session.scalars(
        select(DataModel).where(
            DataModel.environment_id == transfer.environment_id, DataModel.model_name.in_(wanted)
        )
    ).all()
    by_name = {m.model_name: m for m in rows}
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
        config = models.config_of(row)
        try:
            source = _source_for(session, scope, row, config, recipient.id)
        except ConnectorError as exc:
            unrunnable.append((name, row.id, exc))
            continue
        watermark = (
            None
            if transfer.is_full_refresh
            else watermarks.get(session, destination_id=destination.id, model_name=name)
        )
        plans.append(ModelPlan(row.id, row.revision_id, config, source[0], source[1], watermark))
    return TransferPlan(
        transfer_id=transfer.id,
        destination_id=destination.id,
        tenant=recipient.id_in_provider_system,
        destination=destination_connector,
        is_full_refresh=transfer.is_full_refresh,
        is_debug_mode=transfer.is_debug_mode,
        window_start=transfer.start_transfer_window_at,
        window_end=transfer.end_transfer_window_at,
        backfill_floor=_epoch(recipient.default_full_refresh_min_start_time_epoch),
        models=plans,
        unrunnable=unrunnable,
    )


def _source_for(
    session: Session, scope: Scope, row: DataModel, config: ModelConfig, recipient_id: uuid.UUID
) -> tuple[uuid.UUID, SourceConnector]:
    source = session.get(Source, row.source_id) if row.source_id else None
    if source is None:
        source = models.resolve_source(session, scope=scope, config=config)
    if source is None:
        raise ConnectorError(
            f"model {row.model_name!r} has no source: create one first",
            error_code="PRQL-SOURCE",
            title="No source",
            blame="first_party",
        )
    connector_class = registry.source_class(source.vendor)
    config_values = sources.config_of(session, source)
    credential = session.scalar(
        select(RecipientSourceCredential).where(
            RecipientSourceCredential.recipient_id == recipient_id,
            RecipientSourceCredential.source_id == source.id,
        )
    )
    if credential is not None:
        # The recipient's own login on the source: its rows are read with it.
        config_values = _with_login(
            connector_class.config_model,
            config_values,
            credential.username,
            unseal(session, credential.sealed_secrets).get("password"),
        )
    return source.id, connector_class(config_values)


def _with_login(
    model: type[VendorConfig], config: VendorConfig, username: str, password: str | None
) -> VendorConfig:
    values = config.reveal()
    values["password_auth"] = {"username": username, "password": password or ""}
    return model.model_validate(values)


def _context(session: Session, destination: Destination) -> ConnectorContext:
    """Private keys of the Ferry-made key pairs this destination's config names."""
    return ssh_keys.context_for(
        session, environment_id=destination.environment_id, config=destination.config
    )
