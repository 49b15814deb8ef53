"""The DuckDB source: a database file on the Ferry host, read as Arrow record batches.

One read-only connection and one query per model; DuckDB streams the result as Arrow record
batches of ``batch_rows`` rows, so memory holds a batch at a time (DuckDB itself spills a large
sort to disk). Values keep DuckDB's Arrow types and are conformed to the canonical ones by
``ferry.connectors.types.conform``: DECIMAL arrives as Arrow decimal and becomes exact text,
TIMESTAMP (naive) is taken as UTC, TIMESTAMP_NS is cut to the microseconds Ferry carries,
nested values (lists, structs, maps) become JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from ferry.connectors import duckdb
from ferry.connectors.base import ReadRequest, SourceColumn, Window
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import LocalDatabaseFile
from ferry.connectors.sql import SqlSource
from ferry.connectors.types import TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import ModelConfig


class DuckDBFamilySource(SqlSource):
    """A DuckDB database file."""

    available = True
    naive_timestamp_types: ClassVar[frozenset[str]] = frozenset(
        {"timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns", "date"}
    )

    def path(self) -> Path:
        return duckdb.local_path(str(self.config.public_view()["path"]))

    def default_schema(self) -> str | None:
        """The schema of unqualified source tables (None: DuckDB's default, main)."""
        return None

    def table_parts(self, model: ModelConfig) -> list[str]:
        parts = model.source_table.split(".")
        schema = self.default_schema()
        return [schema, *parts] if len(parts) == 1 and schema else parts

    def check(self) -> None:
        with duckdb.connect(self.path(), read_only=True) as connection:
            connection.execute("SELECT count(*) FROM information_schema.tables").fetchall()

    def columns(self, model: ModelConfig) -> dict[str, SourceColumn]:
        request = ReadRequest(
            model=model,
            table=TableSpec.from_model(model),
            tenant=model.model_validation_id_in_provider_system or "",
            window=Window(),
        )
        with duckdb.connect(self.path(), read_only=True) as connection:
            return self._describe(connection, request)

    def _describe(
        self, connection: duckdb.Connection, request: ReadRequest
    ) -> dict[str, SourceColumn]:
        model = request.model
        if model.source_query:
            described = connection.execute(
                f"DESCRIBE {self.render_query(model, request)}"
            ).fetchall()
            rows = [(str(r[0]), str(r[1])) for r in described]
        else:
            parts = self.table_parts(model)
            schema = parts[-2] if len(parts) > 1 else None
            catalog = parts[-3] if len(parts) > 2 else None
            found = connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_name = {self.literal(parts[-1])} AND table_schema = "
                + (self.literal(schema) if schema else "current_schema()")
                + " AND table_catalog = "
                + (self.literal(catalog) if catalog else "current_database()")
                + " ORDER BY ordinal_position"
            ).fetchall()
            rows = [(str(r[0]), str(r[1])) for r in found]
            if not rows:
                raise ConnectorError(
                    f"table {model.source_table} does not exist in {self.path()}",
                    error_code="PRQL-NOT-FOUND",
                    title="Table not found",
                    blame="first_party",
                )
        return {
            name: SourceColumn(
                name, duckdb.type_name(kind), duckdb.readable(kind), *duckdb.precision(kind)
            )
            for name, kind in rows
        }

    def timestamp_literal(self, value: datetime, column: SourceColumn | None) -> str:
        """A typed literal, so a DATE or naive TIMESTAMP column compares in its own type and
        a query's column of unknown type still compares as a point in time."""
        if column is not None and column.type_name.lower() in self.naive_timestamp_types:
            return f"TIMESTAMP {self.literal(value.astimezone(UTC).replace(tzinfo=None))}"
        return f"TIMESTAMPTZ {self.literal(value.astimezone(UTC))}"

    def horizon(self) -> datetime | None:
        """Always None, and nothing is missed: DuckDB lets a file be open for writing in one
        process only, and never alongside a reader in another, so while Ferry reads the file
        no other transaction on it can be open."""
        return None

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        with duckdb.connect(self.path(), read_only=True) as connection:
            columns = self._describe(connection, request)
            relation = connection.sql(self.select_sql(request, columns))
            try:
                for batch in duckdb.arrow_reader(relation, request.batch_rows):
                    yield _microseconds(batch)
            except pa.ArrowException as exc:
                # An error met while streaming reaches us through Arrow, not the driver.
                raise ConnectorError(
                    str(exc).splitlines()[0][:500],
                    error_code="PRQL-DB",
                    title="Database error",
                    blame="unknown",
                    trace=str(exc),
                ) from None


def _microseconds(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Nanosecond timestamps cut to microseconds: a safe cast would refuse any value with
    nanoseconds, and Ferry's timestamps carry microseconds everywhere."""
    fine = [
        i
        for i, field in enumerate(batch.schema)
        if isinstance(field.type, pa.TimestampType) and field.type.unit == "ns"
    ]
    if not fine:
        return batch
    arrays = list(batch.columns)
    for i in fine:
        unit = pa.timestamp("us", tz=batch.schema.field(i).type.tz)
        arrays[i] = pc.cast(arrays[i], unit, safe=False)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


@register_source
class DuckDBSource(DuckDBFamilySource):
    """DuckDB."""

    vendor = "duckdb"
    display_name = "DuckDB"
    config_model = LocalDatabaseFile
