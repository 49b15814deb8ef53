"""A model's configuration (spec §8): its shape, its data types and the structural rules.

Rules that need the database (unique name, the source exists) live in ``services.models``;
rules that need the live source (columns exist, types fit) in the source connectors.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ferry.errors import InvalidInput
from ferry.fields import DurationSeconds, EpochSeconds, LongText, Name, UtcDatetime
from ferry.validation import parse


class DataType(StrEnum):
    """Ferry's column types; each destination maps them to its own exact types."""

    STRING = "string"
    TEXT = "text"  # an alias of string, used in Prequel's examples
    BYTES = "bytes"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    BIGINT = "bigint"
    DECIMAL = "decimal"
    FLOAT = "float"
    DATE = "date"
    TIMESTAMP = "timestamp"
    JSON = "json"

    @property
    def canonical(self) -> DataType:
        return DataType.STRING if self is DataType.TEXT else self


# Types a last-modified column may have: the watermark must order rows in time.
LAST_MODIFIED_TYPES = frozenset({DataType.TIMESTAMP})
# Types that cannot key an upsert reliably.
NON_KEY_TYPES = frozenset({DataType.JSON, DataType.FLOAT})
RESERVED_MODEL_NAMES = frozenset({"_transfer_status"})
INTERNAL_PREFIX = "_ferry_"

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", min_length=1, max_length=63)
]
# A source-side name: quoted by the connector, so anything printable short of a quote.
SourceName = Annotated[
    str, StringConstraints(pattern=r'^[^"`\x00-\x1f]+$', min_length=1, max_length=255)
]
# schema.table, table, or database.schema.table; each part quoted by the connector.
SourceTable = Annotated[
    str,
    StringConstraints(
        pattern=r'^[^."`\x00-\x1f]+(\.[^."`\x00-\x1f]+){0,2}$', min_length=1, max_length=512
    ),
]


class ModelColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_in_source: SourceName
    name_in_destination: Identifier
    data_type: DataType
    is_primary_key: bool = False
    is_last_modified: bool = False
    description: Annotated[str, StringConstraints(max_length=4096)] | None = None


class ModelConfig(BaseModel):
    """A model as published; ``model_name`` names the destination table."""

    model_config = ConfigDict(extra="forbid")

    model_name: Identifier
    description: Annotated[str, StringConstraints(max_length=4096)] | None = None
    columns: list[ModelColumn] = Field(min_length=1, max_length=1600)
    source_table: SourceTable
    source_query: LongText | None = None
    source_schema: SourceName | None = None
    organization_column: SourceName
    source_name: Name | None = None
    source_id: str | None = Field(default=None, max_length=64)
    destination_table_name: Identifier | None = None
    is_append_only: bool = False
    skip_transfer_source_validation: bool = False
    model_validation_id_in_provider_system: Name | None = None
    model_validation_start_time_epoch: UtcDatetime | None = None
    model_validation_end_time_epoch: UtcDatetime | None = None
    model_validation_tags: (
        dict[
            Annotated[str, StringConstraints(max_length=255)],
            Annotated[str, StringConstraints(max_length=1024)],
        ]
        | None
    ) = None
    max_transfer_time_window_seconds: DurationSeconds | None = Field(default=None, ge=60)
    min_start_time_epoch: EpochSeconds | None = None

    @property
    def table_name(self) -> str:
        return self.destination_table_name or self.model_name

    @property
    def primary_key(self) -> list[ModelColumn]:
        return [c for c in self.columns if c.is_primary_key]

    @property
    def last_modified(self) -> ModelColumn:
        return next(c for c in self.columns if c.is_last_modified)

    def stored(self) -> dict[str, Any]:
        """What is kept in the database: everything but the name, which has its own column."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"model_name"})


def structural_problems(config: ModelConfig) -> list[tuple[str, str]]:
    """The §8.2 rules that need nothing but the config itself, as (field, reason) pairs."""
    problems: list[tuple[str, str]] = []
    if config.model_name in RESERVED_MODEL_NAMES or config.table_name in RESERVED_MODEL_NAMES:
        problems.append(("model_name", f"{config.table_name!r} is reserved for Ferry's own table"))
    if config.table_name.lower().startswith(INTERNAL_PREFIX):
        problems.append(("model_name", f"names starting with {INTERNAL_PREFIX!r} are reserved"))
    keys = [c for c in config.columns if c.is_primary_key]
    if not keys:
        problems.append(
            ("columns", "one column (or several, for a composite key) must set is_primary_key")
        )
    for column in keys:
        if column.data_type in NON_KEY_TYPES:
            problems.append(
                (
                    "columns",
                    f"primary key column {column.name_in_destination!r} "
                    f"cannot be of type {column.data_type.value}",
                )
            )
    modified = [c for c in config.columns if c.is_last_modified]
    if len(modified) != 1:
        problems.append(
            ("columns", f"exactly one column must set is_last_modified (found {len(modified)})")
        )
    for column in modified:
        if column.data_type not in LAST_MODIFIED_TYPES:
            problems.append(
                (
                    "columns",
                    f"last-modified column {column.name_in_destination!r} "
                    f"must be of type timestamp, not {column.data_type.value}",
                )
            )
    seen_destination: set[str] = set()
    seen_source: set[str] = set()
    for column in config.columns:
        lowered = column.name_in_destination.lower()
        if lowered in seen_destination:
            problems.append(
                ("columns", f"name_in_destination {column.name_in_destination!r} appears twice")
            )
        if lowered.startswith(INTERNAL_PREFIX):
            problems.append(("columns", f"names starting with {INTERNAL_PREFIX!r} are reserved"))
        seen_destination.add(lowered)
        if column.name_in_source in seen_source:
            problems.append(("columns", f"name_in_source {column.name_in_source!r} appears twice"))
        seen_source.add(column.name_in_source)
    if config.source_name and config.source_id:
        problems.append(("source_id", "give source_name or source_id, not both"))
    return problems


def validate_config(data: Any, prefix: tuple[str, ...] = ("model",)) -> ModelConfig:
    """Parse and check a model config; InvalidInput names every problem's field."""
    config = parse(ModelConfig, data, prefix)
    problems = structural_problems(config)
    if problems:
        where = ".".join(prefix)
        raise InvalidInput(
            "; ".join(
                f"{where}.{field}: {reason}" if where else f"{field}: {reason}"
                for field, reason in problems
            )
        )
    return config
