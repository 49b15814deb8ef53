"""The DuckDB destination: a database file on the Ferry host (not a Prequel vendor).

Tables go in the config's schema (created if missing), next to ``_transfer_status``.

Type mapping: string → VARCHAR, bytes → BLOB, boolean → BOOLEAN, integer → INTEGER,
bigint → BIGINT, decimal → DECIMAL(p,s) when the source declares a precision of at most 38,
else VARCHAR holding the exact decimal text (DuckDB decimals stop at 38 digits, and a double
would round), float → DOUBLE, date → DATE, timestamp → TIMESTAMPTZ (microseconds),
json → JSON.

Transactions: the file is opened for the write and closed after it (DuckDB lets one process at
a time write a file). The batches stream through an Arrow record batch reader registered with
the connection into a TEMP staging table, cast to the table's types and reduced to the newest
row per key as they land (DuckDB runs that scan and spills to disk as it needs, so Ferry's
memory holds one batch at a time). Then, in one transaction with the ``_transfer_status`` row:
an ``UPDATE … FROM`` staging of the rows whose values differ and an ``INSERT`` of the keys the
table lacks, which between them count exactly the rows that changed. DDL is transactional in
DuckDB, so a full refresh builds the new table and swaps it in (DROP, RENAME) in the same
transaction; readers see the old table or the new one, never half of either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import Field

from ferry.connectors import duckdb
from ferry.connectors.base import Capabilities, WriteContext
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import LocalDatabaseFile
from ferry.connectors.sql import STATUS_TABLE, Cursor, Feed, SqlDestination
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.fields import Short
from ferry.modelconfig import DataType

TYPES = {
    DataType.STRING: "VARCHAR",
    DataType.BYTES: "BLOB",
    DataType.BOOLEAN: "BOOLEAN",
    DataType.INTEGER: "INTEGER",
    DataType.BIGINT: "BIGINT",
    DataType.FLOAT: "DOUBLE",
    DataType.DATE: "DATE",
    DataType.TIMESTAMP: "TIMESTAMPTZ",
    DataType.JSON: "JSON",
}
MAX_DECIMAL_PRECISION = 38
_FEED = "_ferry_feed"


class DuckDBDestinationConfig(LocalDatabaseFile):
    """A schema in a DuckDB file."""

    schema_: Short = Field(default="main", alias="schema")


class DuckDBFamilyDestination(SqlDestination):
    """A schema in a DuckDB database file."""

    available = True
    capabilities = Capabilities(
        transactional_ddl=True,
        native_upsert=True,
        # DuckDB has no limit of its own; generated names stay far below this one.
        max_identifier_length=255,
        bulk_load="arrow",
    )

    def path(self) -> Path:
        return duckdb.local_path(str(self.config.public_view()["path"]))

    def schema_name(self) -> str:
        return str(self.config.public_view().get("schema") or "main")

    @contextmanager
    def connect(self) -> Iterator[tuple[Any, Any]]:
        with duckdb.connect(self.path(), read_only=False) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                yield connection, connection
            finally:
                # Nothing to undo after a commit; DuckDB says so with an error.
                with suppress(duckdb.error_type()):
                    connection.rollback()

    def column_type(self, column: ColumnSpec) -> str:
        if column.data_type is DataType.DECIMAL:
            if column.precision and column.precision <= MAX_DECIMAL_PRECISION:
                return f"DECIMAL({column.precision},{column.scale or 0})"
            return "VARCHAR"
        return TYPES[column.data_type]

    def check(self) -> None:
        """Open (or create) the file, then prove the schema and a table can be created in it
        (rolled back)."""
        with self.connect() as (_, cursor):
            self.ensure_schema(cursor)
            probe = self.table_name("_ferry_connection_check")
            cursor.execute(f"CREATE TABLE {probe} (id INTEGER)")
            cursor.execute(f"DROP TABLE {probe}")

    def has_table(self, table: TableSpec) -> bool:
        # Asking must not create the file.
        return self.path().is_file() and super().has_table(table)

    def existing_columns(self, cursor: Cursor, name: str) -> dict[str, str] | None:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() "
            f"AND table_schema = {self.literal(self.schema_name())} "
            f"AND table_name = {self.literal(name)}"
        )
        rows = cursor.fetchall()
        return {str(n): str(t) for n, t in rows} if rows else None

    def describe(self, cursor: Cursor, name: str, table: TableSpec) -> None:
        if table.description:
            cursor.execute(
                f"COMMENT ON TABLE {self.table_name(name)} IS {self.literal(table.description)}"
            )
        for column in table.columns:
            if column.description:
                cursor.execute(
                    f"COMMENT ON COLUMN {self.table_name(name)}.{self.quote(column.name)} "
                    f"IS {self.literal(column.description)}"
                )

    # --- the load

    def _staging(self, staging: str) -> str:
        return f"temp.main.{self.quote(staging)}"

    def stage(
        self, cursor: Any, table: TableSpec, batches: Iterator[pa.RecordBatch], staging: str
    ) -> tuple[int, int]:
        """Land the stream in staging, typed and one row per key (the newest): an update
        cannot apply two rows to one target row, and a source's declared key may repeat."""
        q = self.quote
        casts = ", ".join(
            f"CAST({q(c.name)} AS {self.column_type(c)}) AS {q(c.name)}" for c in table.columns
        )
        keys = ", ".join(q(c.name) for c in table.key)
        newest = q(table.last_modified.name)
        feed = Feed(batches)
        reader = pa.RecordBatchReader.from_batches(table.arrow_schema(), iter(feed))
        cursor.register(_FEED, reader)
        try:
            cursor.execute(
                f"CREATE TEMP TABLE {q(staging)} AS SELECT {casts} FROM {q(_FEED)} "
                f"QUALIFY row_number() OVER (PARTITION BY {keys} "
                f"ORDER BY {newest} DESC NULLS LAST) = 1"
            )
        except duckdb.error_type():
            feed.reraise()
            raise
        # Only on success: after a failure the transaction refuses every statement, and the
        # connection is about to close anyway.
        cursor.unregister(_FEED)
        return feed.rows, feed.bytes

    def merge(self, cursor: Cursor, table: TableSpec, staging: str) -> int:
        q = self.quote
        target, source = self.table_name(table.name), self._staging(staging)
        match = " AND ".join(f"t.{q(c.name)} = s.{q(c.name)}" for c in table.key)
        values = [c for c in table.columns if not c.is_primary_key]
        changed = 0
        if values:
            sets = ", ".join(f"{q(c.name)} = s.{q(c.name)}" for c in values)
            differ = " OR ".join(f"t.{q(c.name)} IS DISTINCT FROM s.{q(c.name)}" for c in values)
            # Only rows whose values differ are rewritten, and so counted.
            cursor.execute(
                f"UPDATE {target} AS t SET {sets} FROM {source} AS s WHERE {match} AND ({differ})"
            )
            changed += _count(cursor)
        columns = ", ".join(q(c.name) for c in table.columns)
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match})"
        )
        return changed + _count(cursor)

    def replace(self, cursor: Cursor, table: TableSpec, staging: str, context: WriteContext) -> int:
        suffix = context.transfer_id.replace("-", "")[:12]
        fresh = self.fit_identifier(f"_ferry_new_{suffix}_{table.name}")
        # DuckDB keeps no constraint names of its own, so the final one can be used now.
        cursor.execute(
            self.create_table_sql(fresh, table, constraint=self.key_constraint(table.name))
        )
        columns = ", ".join(self.quote(c.name) for c in table.columns)
        cursor.execute(
            f"INSERT INTO {self.table_name(fresh)} ({columns}) "
            f"SELECT {columns} FROM {self._staging(staging)}"
        )
        rows = _count(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {self.table_name(table.name)}")
        cursor.execute(f"ALTER TABLE {self.table_name(fresh)} RENAME TO {self.quote(table.name)}")
        self.describe(cursor, table.name, table)
        return rows

    def record_status(self, cursor: Cursor, model_name: str, when: datetime) -> None:
        cursor.execute(
            f"INSERT INTO {self.table_name(STATUS_TABLE)} "
            "(data_model_name, transfer_last_updated_at) "
            f"VALUES ({self.literal(model_name)}, "
            f"TIMESTAMPTZ {self.literal(when.astimezone(UTC))}) "
            "ON CONFLICT (data_model_name) DO UPDATE "
            "SET transfer_last_updated_at = EXCLUDED.transfer_last_updated_at"
        )


def _count(cursor: Cursor) -> int:
    """The row count DuckDB returns as the result of an INSERT or UPDATE."""
    return int(cursor.fetchall()[0][0])


@register_destination
class DuckDBDestination(DuckDBFamilyDestination):
    """DuckDB."""

    vendor = "duckdb"
    display_name = "DuckDB"
    config_model = DuckDBDestinationConfig
    target_fields = ("path", "schema")
