"""PostgreSQL and Aurora PostgreSQL sources, read through ADBC's binary COPY into Arrow."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import adbc_driver_manager
import pyarrow as pa

from ferry.connectors import postgres
from ferry.connectors.base import GroupRead, ReadRequest, SourceColumn, Window
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.postgres import PostgresConnection
from ferry.connectors.sql import SqlSource
from ferry.connectors.types import TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import ModelConfig

# Per-process caches: column descriptions change rarely; horizons may be a little old (see
# PostgresFamilySource.horizon).
_COLUMNS = postgres.TimedCache(30.0)
_HORIZONS = postgres.TimedCache(2.0)


class PostgresFamilySource(SqlSource):
    """A PostgreSQL-compatible source."""

    config_model = PostgresConnection
    available = True
    lookback: ClassVar[timedelta] = timedelta(seconds=30)
    reads_groups = True

    def table_parts(self, model: ModelConfig) -> list[str]:
        parts = model.source_table.split(".")
        schema = self._schema
        return [schema, *parts] if len(parts) == 1 and schema else parts

    @functools.cached_property
    def _schema(self) -> str | None:
        # Asked on every read; the config does not change under a connector.
        schema = self.config.public_view().get("schema")
        return str(schema) if schema else None

    def _connect(self) -> AbstractContextManager[tuple[postgres.Transaction, Any]]:
        # Every read is one statement, hence one snapshot: no transaction to begin or end, and
        # the session cannot write.
        return postgres.connect(
            self.config, context=self.context, read_only=True, transaction=False
        )

    def check(self) -> None:
        schema = self._schema
        with self._connect() as (_, cursor):
            cursor.execute(
                "SELECT has_database_privilege(current_database(), 'CONNECT'), "
                "n.oid IS NOT NULL, coalesce(has_schema_privilege(n.oid, 'USAGE'), false) "
                f"FROM (SELECT to_regnamespace({self.literal(self.quote(schema or 'public'))}) "
                "AS oid) AS n"
            )
            may_connect, schema_exists, may_use = cursor.fetchall()[0]
        if not may_connect:
            raise ConnectorError(
                "the user may not connect to this database",
                error_code="PRQL-PERMISSION",
                title="Permission denied",
                blame="first_party",
            )
        if schema and not schema_exists:
            raise ConnectorError(
                f"schema {schema!r} does not exist in this database",
                error_code="PRQL-NOT-FOUND",
                title="Schema not found",
                blame="first_party",
            )
        if schema and not may_use:
            raise ConnectorError(
                f"the user may not read schema {schema!r}: it needs USAGE on it "
                f"(GRANT USAGE ON SCHEMA … TO the user) and SELECT on the tables to share",
                error_code="PRQL-PERMISSION",
                title="Permission denied",
                blame="first_party",
            )

    def columns(self, model: ModelConfig) -> dict[str, SourceColumn]:
        """The table's (or query's) columns; kept for a few seconds, as every transfer of a
        model asks for the same ones."""
        key = f"{postgres.conninfo(self.config, context=self.context)}|{model.source_table}|{model.source_query or ''}"
        cached: dict[str, SourceColumn] | None = _COLUMNS.get(key)
        if cached is not None:
            return cached
        with self._connect() as (_, cursor):
            found = (
                self._query_columns(cursor, model)
                if model.source_query
                else self._table_columns(cursor, model)
            )
        _COLUMNS.put(key, found)
        return found

    def _table_columns(self, cursor: Any, model: ModelConfig) -> dict[str, SourceColumn]:
        parts = self.table_parts(model)
        table = parts[-1]
        schema = self.literal(parts[-2]) if len(parts) > 1 else "current_schema()"
        # pg_catalog, not information_schema: the views cost milliseconds per lookup.
        cursor.execute(
            "SELECT a.attname, CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, NULL) "
            "WHEN t.typtype = 'e' THEN 'USER-DEFINED' WHEN t.typcategory = 'A' THEN 'ARRAY' "
            "ELSE format_type(a.atttypid, NULL) END, "
            "CASE WHEN a.atttypid = 'numeric'::regtype AND a.atttypmod > 0 "
            "THEN ((a.atttypmod - 4) >> 16) & 65535 END, "
            "CASE WHEN a.atttypid = 'numeric'::regtype AND a.atttypmod > 0 "
            "THEN (a.atttypmod - 4) & 65535 END "
            "FROM pg_catalog.pg_attribute a "
            "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
            f"WHERE c.relname = {self.literal(table)} AND n.nspname = {schema} "
            "AND a.attnum > 0 AND NOT a.attisdropped "
            "AND has_column_privilege(c.oid, a.attnum, 'SELECT') ORDER BY a.attnum"
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
            str(name): SourceColumn(
                str(name),
                str(kind),
                postgres.READABLE.get(str(kind), frozenset()),
                precision,
                scale,
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
        """When the oldest transaction still open on this database began (or, with none open,
        when this was asked: a transaction starting later stamps its rows later still).

        An answer a few seconds old is as safe as a fresh one: it can only be earlier, which
        makes the next read start earlier. Seeing other sessions' transactions needs the
        pg_read_all_stats role (or superuser); without it PostgreSQL hides their start times
        and the lookback alone protects late rows.
        """
        key = postgres.conninfo(self.config, context=self.context)
        cached: datetime | None = _HORIZONS.get(key)
        if cached is not None:
            return cached
        with self._connect() as (_, cursor):
            cursor.execute(
                "SELECT coalesce(min(xact_start), now()) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND xact_start IS NOT NULL AND backend_type = 'client backend'"
            )
            oldest: datetime = cursor.fetchall()[0][0].astimezone(UTC)
        _HORIZONS.put(key, oldest)
        return oldest

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        columns = self.columns(request.model) if not request.model.source_query else {}
        yield from self._stream(self.select_sql(request, columns), request.batch_bytes)

    def read_group(self, request: GroupRead) -> Iterator[pa.RecordBatch]:
        sql = self.select_group_sql(request, self.columns(request.model))
        yield from self._stream(sql, request.batch_bytes)

    def _stream(self, sql: str, batch_bytes: int) -> Iterator[pa.RecordBatch]:
        with self._connect() as (_, cursor):
            # One statement, so one snapshot: rows committed meanwhile wait for the next run.
            cursor.adbc_statement.set_options(
                **{"adbc.postgresql.batch_size_hint_bytes": str(batch_bytes)}
            )
            try:
                cursor.execute(sql)
                reader = cursor.fetch_record_batch()
                yield from reader
            # An error met while rows stream (the session ended, the query failed on a row)
            # comes from the Arrow reader, as ArrowInvalid or OSError.
            except (adbc_driver_manager.Error, pa.ArrowException, OSError) as exc:
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
