"""The shapes data takes between a source and a destination.

Rows travel as Arrow record batches with one canonical Arrow type per Ferry data type, so every
source and every destination agree without knowing each other:

| data_type   | Arrow (transport)          | note                                                   |
| ----------- | -------------------------- | ------------------------------------------------------ |
| string/text | string                     | any unicode, any length                                |
| bytes       | binary                     |                                                        |
| boolean     | bool                       |                                                        |
| integer     | int32                      | a source value outside 32 bits fails the model         |
| bigint      | int64                      |                                                        |
| decimal     | string (exact decimal text)| never a float: destinations cast the text exactly      |
| float       | float64                    |                                                        |
| date        | date32                     |                                                        |
| timestamp   | timestamp[us, tz=UTC]      | naive source timestamps are taken as UTC               |
| json        | string (JSON text)         |                                                        |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig

ARROW_TYPES: dict[DataType, pa.DataType] = {
    DataType.STRING: pa.string(),
    DataType.TEXT: pa.string(),
    DataType.BYTES: pa.binary(),
    DataType.BOOLEAN: pa.bool_(),
    DataType.INTEGER: pa.int32(),
    DataType.BIGINT: pa.int64(),
    DataType.DECIMAL: pa.string(),
    DataType.FLOAT: pa.float64(),
    DataType.DATE: pa.date32(),
    DataType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    DataType.JSON: pa.string(),
}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column as the destination will hold it."""

    source_name: str
    name: str
    data_type: DataType
    is_primary_key: bool = False
    is_last_modified: bool = False
    description: str | None = None
    # Declared precision of a decimal column in the source, when it has one.
    precision: int | None = None
    scale: int | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.data_type]


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A model as a destination table: name, ordered columns, key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    description: str | None = None
    model_name: str = ""

    @property
    def key(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.is_primary_key)

    @property
    def last_modified(self) -> ColumnSpec:
        return next(c for c in self.columns if c.is_last_modified)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=not c.is_primary_key) for c in self.columns]
        )

    @classmethod
    def from_model(
        cls, model: ModelConfig, decimals: Mapping[str, tuple[int | None, int | None]] | None = None
    ) -> TableSpec:
        decimals = decimals or {}
        columns = tuple(
            ColumnSpec(
                source_name=c.name_in_source,
                name=c.name_in_destination,
                data_type=c.data_type.canonical,
                is_primary_key=c.is_primary_key,
                is_last_modified=c.is_last_modified,
                description=c.description,
                precision=decimals.get(c.name_in_source, (None, None))[0],
                scale=decimals.get(c.name_in_source, (None, None))[1],
            )
            for c in model.columns
        )
        return cls(
            name=model.table_name,
            columns=columns,
            description=model.description,
            model_name=model.model_name,
        )


@dataclass
class BatchStats:
    rows: int = 0
    bytes: int = 0
    max_last_modified: datetime | None = None
    null_last_modified: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def conform(batch: pa.RecordBatch, table: TableSpec) -> pa.RecordBatch:
    """Cast a source batch (columns named by destination name) to the canonical types."""
    arrays = []
    for column in table.columns:
        index = batch.schema.get_field_index(column.name)
        if index < 0:
            raise ConnectorError(
                f"the source returned no column {column.name!r}",
                error_code="PRQL-SCHEMA",
                title="Column missing",
                blame="first_party",
            )
        arrays.append(_cast(batch.column(index), column))
    return pa.RecordBatch.from_arrays(arrays, schema=table.arrow_schema())


def _cast(array: pa.Array[Any], column: ColumnSpec) -> pa.Array[Any]:
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    target = column.arrow_type
    if array.type == target:
        return array
    try:
        if column.data_type is DataType.JSON and not pa.types.is_string(array.type):
            return pa.array(
                [None if v is None else _json_text(v) for v in array.to_pylist()], type=pa.string()
            )
        if column.data_type is DataType.DECIMAL and pa.types.is_floating(array.type):
            # Floats have no exact decimal text; repr gives the shortest round-trip form.
            return pa.array(
                [None if v is None else repr(v) for v in array.to_pylist()], type=pa.string()
            )
        if pa.types.is_timestamp(target) and pa.types.is_timestamp(array.type):
            if array.type.tz is None:
                array = cast(Any, pc).assume_timezone(array, "UTC")
            return pc.cast(array, target)
        if pa.types.is_null(array.type):
            return cast("pa.Array[Any]", cast(Any, pa).nulls(len(array), type=target))
        return pc.cast(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ConnectorError(
            f"column {column.name!r}: a source value does not fit data_type "
            f"{column.data_type.value} ({exc})",
            error_code="PRQL-TYPE",
            title="Value does not fit the column type",
            blame="first_party",
        ) from exc


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
