"""PostgreSQL and Aurora PostgreSQL sources, read through ADBC's binary COPY into Arrow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import adbc_driver_manager
import pyarrow as pa

from ferry.connectors import postgres
from ferry.connectors.base import ReadRequest, SourceColumn, Window
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.postgres import PostgresConnection
from ferry.connectors.sql import SqlSource
from ferry.connectors.types import TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import ModelConfig


class PostgresFamilySource(SqlSource):
    """A PostgreSQL-compatible source."""

    config_model = PostgresConnection
    available = True
    lookback: ClassVar[timedelta] = timedelta(seconds=30)

    def table_parts(self, model: ModelConfig) -> list[str]:
        parts = model.source_table.split(".")
        schema = self.config.public_view().get("schema")
        return [schema, *parts] if len(parts) == 1 and schema else parts

    def check(self) -> None:
        with postgres.connect(self.config) as (_, cursor):
            cursor.execute("SELECT has_database_privilege(current_database(), 'CONNECT')")
            if not cursor.fetchall()[0][0]:
                raise ConnectorError(
                    "the user may not connect to this database",
                    error_code="PRQL-PERMISSION",
                    title="Permission denied",
                    blame="first_party",
                )

    def columns(self, model: ModelConfig) -> dict[str, SourceColumn]:
        with postgres.connect(self.config) as (_, cursor):
            if model.source_query:
                return self._query_columns(cursor, model)
            parts = self.table_parts(model)
            table = parts[-1]
            schema = parts[-2] if len(parts) > 1 else None
            cursor.execute(
                "SELECT column_name, data_type, numeric_precision, numeric_scale "
                "FROM information_schema.columns WHERE table_name = "
                f"{self.literal(table)} AND table_schema = "
                + (self.literal(schema) if schema else "current_schema()")
                + " ORDER BY ordinal_position"
            )
            rows = cursor.fetchall()
        if not rows:
            raise ConnectorError(
                f"table {model.source_table} does not exist or is not visible to this user",
                error_code="PRQL-NOT-FOUND",
                title="Table not found",
                blame="first_party",
            )
        return {
            name: SourceColumn(
                name, kind, postgres.READABLE.get(kind, frozenset()), precision, scale
            )
            for name, kind, precision, scale in rows
        }

    def _query_columns(self, cursor: Any, model: ModelConfig) -> dict[str, SourceColumn]:
        """A custom query's columns, from the result schema of running it for no rows."""
        request = ReadRequest(
            model=model,
            table=TableSpec.from_model(model),
            tenant=model.model_validation_id_in_provider_system or "",
            window=Window(),
        )
        cursor.execute(f"SELECT * FROM ({self.render_query(model, request)}) AS q LIMIT 0")
        schema = cursor.fetch_arrow_table().schema
        found = {}
        for field in schema:
            short = (field.metadata or {}).get(b"POSTGRESQL:type", b"").decode()
            kind = postgres.LONG_NAMES.get(short, short)
            found[field.name] = SourceColumn(
                field.name, kind, postgres.READABLE.get(kind, frozenset())
            )
        return found

    def horizon(self) -> datetime | None:
        """When the oldest transaction still open on this database began.

        Seeing other sessions' transactions needs the pg_read_all_stats role (or superuser);
        without it PostgreSQL hides their start times and the lookback alone protects rows.
        """
        with postgres.connect(self.config) as (_, cursor):
            cursor.execute(
                "SELECT min(xact_start) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND xact_start IS NOT NULL AND backend_type = 'client backend'"
            )
            oldest = cursor.fetchall()[0][0]
        return oldest.astimezone(UTC) if oldest is not None else None

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        columns = self.columns(request.model) if not request.model.source_query else {}
        sql = self.select_sql(request, columns)
        with postgres.connect(self.config) as (_, cursor):
            # One snapshot for the whole read: rows committed meanwhile wait for the next run.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.adbc_statement.set_options(
                **{"adbc.postgresql.batch_size_hint_bytes": str(postgres.BATCH_BYTES)}
            )
            try:
                cursor.execute(sql)
                reader = cursor.fetch_record_batch()
                yield from reader
            except adbc_driver_manager.Error as exc:
                raise postgres.classify(exc, self.config) from None


@register_source
class PostgresSource(PostgresFamilySource):
    """PostgreSQL."""

    vendor = "postgres"
    display_name = "PostgreSQL"


@register_source
class AuroraPostgresSource(PostgresFamilySource):
    """Amazon Aurora PostgreSQL."""

    vendor = "aurora_postgres"
    display_name = "Aurora PostgreSQL"
