"""What every source and destination connector is: a vendor, a config shape, and the few verbs
the transfer engine uses (``check``, ``columns``, ``read``, ``write``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal

import pyarrow as pa

from ferry.connectors.config import VendorConfig
from ferry.connectors.types import TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig

DEFAULT_LOOKBACK = timedelta(minutes=5)


class Connector:
    """A vendor: its wire name, its config model and how the API presents it."""

    vendor: ClassVar[str]
    display_name: ClassVar[str]
    config_model: ClassVar[type[VendorConfig]]
    # Field renames of the 2022-01-01 (flat) API: canonical field name → base name.
    base_renames: ClassVar[Mapping[str, str]] = {}
    # False when this build cannot connect to the vendor; the API still accepts its shape.
    available: ClassVar[bool] = False
    docs_url: ClassVar[str | None] = None

    def __init__(self, config: VendorConfig, *, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.context = context or ConnectorContext()

    def check(self) -> None:
        """Connect and verify permissions; raise ConnectorError with the reason if it fails."""
        raise self.unavailable()

    @classmethod
    def unavailable(cls) -> ConnectorError:
        return ConnectorError(
            f"this build of Ferry cannot connect to {cls.display_name} ({cls.vendor}); the "
            "configuration is accepted and stored, but tests and transfers fail until a "
            "connector for it is installed",
            error_code="PRQL-UNAVAILABLE",
            title="Connector not available in this build",
            blame="host",
        )


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What a connector may need beyond its config: private keys Ferry holds for it (SFTP,
    SSH tunnels), keyed by the public key they belong to."""

    private_keys: Mapping[str, str] = field(default_factory=dict)


# --- sources ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceColumn:
    """A column as the source describes it."""

    name: str
    type_name: str
    # The Ferry data types this source type can be read as.
    data_types: frozenset[DataType]
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows to read, by their last-modified value."""

    since: datetime | None = None  # last_modified >= since (None: from the beginning)
    until: datetime | None = None  # last_modified < until (None: up to now)
    # Rows whose last-modified value is NULL cannot be placed in time: they are read on every
    # transfer, so none is ever silently left behind.
    include_null: bool = True


@dataclass(frozen=True, slots=True)
class ReadRequest:
    model: ModelConfig
    table: TableSpec
    tenant: str
    window: Window
    batch_rows: int = 50_000
    batch_bytes: int = 1024 * 1024
    # Rows in last-modified then key order (what cutting them into windows needs); without it
    # the database may skip the sort.
    ordered: bool = True
    # Template values for a custom source_query ({{.LastModifiedAtEpoch}}…).
    template: Mapping[str, Any] = field(default_factory=dict)


# The column a grouped read adds: which tenant each row belongs to.
TENANT_COLUMN = "_ferry_tenant"


@dataclass(frozen=True, slots=True)
class GroupRead:
    """Several tenants' rows of one model in one read, each tenant in its own window."""

    model: ModelConfig
    table: TableSpec
    windows: Mapping[str, Window]
    batch_rows: int = 50_000
    batch_bytes: int = 1024 * 1024


class SourceConnector(Connector):
    """A provider database that models are read from."""

    # Re-read window below the watermark, for rows committed late with an older timestamp.
    lookback: ClassVar[timedelta] = DEFAULT_LOOKBACK
    # Whether ``read_group`` can serve several tenants in one query.
    reads_groups: ClassVar[bool] = False

    def columns(self, model: ModelConfig) -> dict[str, SourceColumn]:
        """The columns of the model's table (or query), by source name."""
        raise self.unavailable()

    def validate_model(self, model: ModelConfig) -> None:
        """Check a model against the live source: table, columns, types, tenant column."""
        found = self.columns(model)
        problems = []
        if model.organization_column not in found:
            problems.append(
                f"organization_column {model.organization_column!r} is not a column "
                f"of {model.source_table}"
            )
        for column in model.columns:
            source = found.get(column.name_in_source)
            if source is None:
                problems.append(
                    f"column {column.name_in_source!r} does not exist in {model.source_table}"
                )
            elif column.data_type.canonical not in source.data_types:
                accepted = ", ".join(sorted(t.value for t in source.data_types)) or "none"
                problems.append(
                    f"column {column.name_in_source!r} is {source.type_name} in the "
                    f"source, which cannot be read as {column.data_type.value} "
                    f"(it can be: {accepted})"
                )
        if problems:
            raise ConnectorError(
                "; ".join(problems),
                error_code="PRQL-MODEL",
                title="Model does not match the source",
                blame="first_party",
            )

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        """The tenant's rows in the window, ordered by (last_modified, key), in batches whose
        columns carry the destination names."""
        raise self.unavailable()

    def read_group(self, request: GroupRead) -> Iterator[pa.RecordBatch]:
        """The rows of every tenant of the request in its window, in no particular order, in
        batches whose columns carry the destination names followed by ``TENANT_COLUMN``."""
        raise self.unavailable()

    def horizon(self) -> datetime | None:
        """The start of the oldest transaction still open on the source, if it can tell: rows
        such a transaction writes may carry a timestamp older than rows already read."""
        return None


# --- destinations ----------------------------------------------------------------------------


class WriteMode(StrEnum):
    UPSERT = "upsert"  # merge the rows into the table by primary key
    REPLACE = "replace"  # full refresh: build the table anew out of sight, swap it in at once


@dataclass(frozen=True, slots=True)
class Capabilities:
    transactional_ddl: bool
    native_upsert: bool
    max_identifier_length: int
    bulk_load: Literal["copy", "load_data", "executemany", "arrow", "parquet", "csv"]
    # Object storage and file drops keep every file: no merge, duplicates possible.
    append_only: bool = False


@dataclass(frozen=True, slots=True)
class WriteContext:
    transfer_id: str
    model_id: str
    # The moment the source was read: recorded in _transfer_status as transfer_last_updated_at.
    status_time: datetime
    is_full_refresh: bool = False
    # A table new in this load may be bulk-loaded as it is, without a staging table; False
    # after such a load was refused (see StageInstead).
    direct: bool = True


@dataclass(slots=True)
class WriteResult:
    rows: int = 0
    changed: int = 0
    bytes: int = 0
    files: list[str] = field(default_factory=list)


class StageInstead(Exception):
    """A direct load into a new table was refused (the source repeats a primary key, or a
    value does not fit the direct path); nothing was written, and the engine loads the model
    again through staging, which keeps the newest row of each key."""


class TableMissing(Exception):
    """The model's table is gone from the destination although Ferry wrote it before: the
    engine backfills it instead of applying changes to nothing."""


@dataclass(frozen=True, slots=True)
class GroupTarget:
    """One tenant's destination in a grouped write."""

    tenant: str
    destination: DestinationConnector
    # The model's table was written before: a missing one is backfilled, not resumed.
    expect_table: bool


@dataclass(slots=True)
class GroupResult:
    results: dict[str, WriteResult] = field(default_factory=dict)
    # Tenants whose table had gone (see TableMissing): nothing was written for them.
    missing: set[str] = field(default_factory=set)


class DestinationConnector(Connector):
    """A recipient's warehouse, database or bucket that models are written to."""

    # Dotted config paths naming the place written to; two recipients never share one.
    target_fields: ClassVar[tuple[str, ...]] = ()
    capabilities: ClassVar[Capabilities]
    # Whether transfers to several places behind one connection can share one pass
    # (``write_group``); the public config fields naming the place within that connection.
    writes_groups: ClassVar[bool] = False
    place_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def placement_key(cls, public: Mapping[str, Any]) -> str | None:
        """A digest of the connection a destination writes through (its public config but the
        place within it), or None when its transfers cannot share a pass. Secrets are not in
        it: a pass shares a connection only among configs that are equal, secrets included."""
        if not cls.writes_groups:
            return None
        rest = {k: v for k, v in public.items() if k not in cls.place_fields}
        digest = json.dumps([cls.vendor, rest], sort_keys=True, default=str)
        return hashlib.sha256(digest.encode()).hexdigest()

    def connection_identity(self) -> str:
        """The whole config but the place, secrets included: destinations with equal
        identities may share one connection."""
        revealed = self.config.reveal()
        rest = {k: v for k, v in revealed.items() if k not in self.place_fields}
        return json.dumps([self.vendor, rest], sort_keys=True, default=str)

    def has_table(self, table: TableSpec) -> bool:
        """Whether the model's table exists (a dropped table is backfilled, not resumed)."""
        raise self.unavailable()

    def write(
        self,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        *,
        mode: WriteMode,
        context: WriteContext,
        expect_table: bool = False,
    ) -> WriteResult:
        """Land the batches and record the model in ``_transfer_status``, all or nothing.

        With ``expect_table``, a missing table raises TableMissing before anything is read.
        """
        raise self.unavailable()

    def write_group(
        self,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        *,
        targets: Sequence[GroupTarget],
        context: WriteContext,
    ) -> GroupResult:
        """Merge several tenants' rows (batches from ``read_group``) into their own tables,
        each behind the same connection as this one, with each tenant's ``_transfer_status``
        row, in one transaction: all of them or none."""
        raise self.unavailable()
