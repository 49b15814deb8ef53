"""The SQLite destination: a database file on the Ferry host (not a Prequel vendor).

One file, no schemas: tables are named as the models say, next to ``_transfer_status``. SQLite
has no table or column comments, so model descriptions are not carried.

Type mapping (SQLite has five storage classes; the declared type sets the column's affinity):

| data_type        | column  | value                                                            |
| ---------------- | ------- | ---------------------------------------------------------------- |
| string           | TEXT    | the text                                                         |
| bytes            | BLOB    | the bytes                                                        |
| boolean          | INTEGER | 0 or 1 (SQLite has no boolean type)                              |
| integer, bigint  | INTEGER | the integer (64-bit)                                             |
| decimal          | TEXT    | the exact decimal text: SQLite has no exact decimal type, and    |
|                  |         | a NUMERIC column would round it through a 64-bit float           |
| float            | REAL    | the float (a NaN is stored as NULL: SQLite has none)             |
| date             | TEXT    | ``YYYY-MM-DD``                                                   |
| timestamp        | TEXT    | ISO 8601 in UTC with microseconds, ``2024-03-01T12:00:00.123456+00:00``: |
|                  |         | fixed width, so text order is time order, and SQLite's date      |
|                  |         | functions read it                                                |
| json             | TEXT    | the JSON text                                                    |

Transactions: a write is one ``BEGIN IMMEDIATE`` transaction, which takes the file's write lock
at once (a busy file is waited for, then reported as retryable). Rows land in a TEMP staging
table through ``executemany`` (SQLite's fastest insert path, with no commit per row), are
merged into the typed table by primary key with ``INSERT … ON CONFLICT … DO UPDATE``, and the
``_transfer_status`` row is upserted, all before the one ``COMMIT``. DDL is transactional in
SQLite, so creating the table, adding columns and a full refresh's swap (a new table, then
DROP and RENAME) commit or roll back with the rows. The file is kept in WAL mode so readers go
on reading the previous state while a transfer writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ferry.connectors import sqlite
from ferry.connectors.base import Capabilities, WriteContext
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import LocalDatabaseFile
from ferry.connectors.sql import STATUS_TABLE, Cursor, Feed, SqlDestination
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.modelconfig import DataType

TYPES = {
    DataType.STRING: "TEXT",
    DataType.BYTES: "BLOB",
    DataType.BOOLEAN: "INTEGER",
    DataType.INTEGER: "INTEGER",
    DataType.BIGINT: "INTEGER",
    DataType.DECIMAL: "TEXT",
    DataType.FLOAT: "REAL",
    DataType.DATE: "TEXT",
    DataType.TIMESTAMP: "TEXT",
    DataType.JSON: "TEXT",
}
# Arrow renders %S with the fraction its unit carries: six digits for microseconds.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"


@register_destination
class SqliteDestination(SqlDestination):
    """SQLite."""

    vendor = "sqlite"
    display_name = "SQLite"
    config_model = LocalDatabaseFile
    target_fields = ("path",)
    available = True
    capabilities = Capabilities(
        transactional_ddl=True,
        native_upsert=True,
        # SQLite has no limit of its own; generated names stay far below this one.
        max_identifier_length=255,
        bulk_load="executemany",
    )

    def path(self) -> Path:
        return sqlite.database_path(self.config)

    @contextmanager
    def connect(self) -> Iterator[tuple[sqlite3.Connection, sqlite3.Cursor]]:
        with sqlite.connect(self.path(), read_only=False) as connection:
            # WAL must be chosen outside a transaction; it stays set in the file.
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("BEGIN IMMEDIATE")
            yield connection, connection.cursor()

    def column_type(self, column: ColumnSpec) -> str:
        return TYPES[column.data_type]

    def check(self) -> None:
        """Open (or create) the file, then prove a table can be created in it (rolled back)."""
        with self.connect() as (_, cursor):
            probe = self.table_name("_ferry_connection_check")
            cursor.execute(f"CREATE TABLE {probe} (id INTEGER)")
            cursor.execute(f"DROP TABLE {probe}")

    def has_table(self, table: TableSpec) -> bool:
        # Asking must neither create the file nor wait for the write lock.
        if not self.path().is_file():
            return False
        with sqlite.connect(self.path(), read_only=True) as connection:
            cursor: Any = connection.cursor()
            return self.existing_columns(cursor, table.name) is not None

    def existing_columns(self, cursor: Cursor, name: str) -> dict[str, str] | None:
        cursor.execute("SELECT name, type FROM pragma_table_info(?, 'main')", (name,))
        rows = cursor.fetchall()
        return {str(n): str(t) for n, t in rows} if rows else None

    # --- the load

    def stage(
        self, cursor: Any, table: TableSpec, batches: Iterator[pa.RecordBatch], staging: str
    ) -> tuple[int, int]:
        q = self.quote
        columns = ", ".join(f"{q(c.name)} {self.column_type(c)}" for c in table.columns)
        cursor.execute(f"CREATE TEMP TABLE {q(staging)} ({columns})")
        insert = f"INSERT INTO temp.{q(staging)} VALUES ({', '.join('?' for _ in table.columns)})"
        writers = [_WRITERS.get(c.data_type, _plain) for c in table.columns]
        feed = Feed(batches)
        for batch in feed:
            values = [
                write(batch.column(c.name)) for write, c in zip(writers, table.columns, strict=True)
            ]
            cursor.executemany(insert, zip(*values, strict=True))
        return feed.rows, feed.bytes

    def _deduplicated(self, table: TableSpec, staging: str) -> str:
        """Staging rows, one per key: the newest, and of equals the last to arrive (an upsert
        cannot update one row twice, and a source's declared key may repeat)."""
        q = self.quote
        columns = ", ".join(q(c.name) for c in table.columns)
        keys = ", ".join(q(c.name) for c in table.key)
        newest = q(table.last_modified.name)
        return (
            f"SELECT {columns} FROM (SELECT {columns}, row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {newest} DESC NULLS LAST, rowid DESC) AS _ferry_rank "
            f"FROM temp.{q(staging)}) WHERE _ferry_rank = 1"
        )

    def merge(self, cursor: Cursor, table: TableSpec, staging: str) -> int:
        q = self.quote
        columns = ", ".join(q(c.name) for c in table.columns)
        keys = ", ".join(q(c.name) for c in table.key)
        values = [c for c in table.columns if not c.is_primary_key]
        if values:
            sets = ", ".join(f"{q(c.name)} = excluded.{q(c.name)}" for c in values)
            old = ", ".join(f"target.{q(c.name)}" for c in values)
            new = ", ".join(f"excluded.{q(c.name)}" for c in values)
            # Only rows that really change are rewritten, and so counted by changes().
            action = f"DO UPDATE SET {sets} WHERE ({old}) IS NOT ({new})"
        else:
            action = "DO NOTHING"
        cursor.execute(
            f"INSERT INTO {self.table_name(table.name)} AS target ({columns}) "
            f"{self._deduplicated(table, staging)} ON CONFLICT ({keys}) {action}"
        )
        return _changes(cursor)

    def replace(self, cursor: Cursor, table: TableSpec, staging: str, context: WriteContext) -> int:
        suffix = context.transfer_id.replace("-", "")[:12]
        fresh = self.fit_identifier(f"_ferry_new_{suffix}_{table.name}")
        # SQLite's constraint names belong to their table, so the final name can be used now.
        cursor.execute(
            self.create_table_sql(fresh, table, constraint=self.key_constraint(table.name))
        )
        columns = ", ".join(self.quote(c.name) for c in table.columns)
        cursor.execute(
            f"INSERT INTO {self.table_name(fresh)} ({columns}) {self._deduplicated(table, staging)}"
        )
        rows = _changes(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {self.table_name(table.name)}")
        cursor.execute(f"ALTER TABLE {self.table_name(fresh)} RENAME TO {self.quote(table.name)}")
        return rows

    def record_status(self, cursor: Cursor, model_name: str, when: datetime) -> None:
        cursor.execute(
            f"INSERT INTO {self.table_name(STATUS_TABLE)} "
            "(data_model_name, transfer_last_updated_at) VALUES (?, ?) "
            "ON CONFLICT (data_model_name) DO UPDATE "
            "SET transfer_last_updated_at = excluded.transfer_last_updated_at",
            (model_name, when.astimezone(UTC).isoformat(timespec="microseconds")),
        )


def _changes(cursor: Cursor) -> int:
    cursor.execute("SELECT changes()")
    return int(cursor.fetchall()[0][0])


# Arrow arrays to the Python values sqlite3 binds, converted a column at a time.


def _plain(array: pa.Array[Any]) -> list[Any]:
    return array.to_pylist()


def _boolean(array: pa.Array[Any]) -> list[Any]:
    return pc.cast(array, pa.int8()).to_pylist()


def _date(array: pa.Array[Any]) -> list[Any]:
    return pc.cast(array, pa.string()).to_pylist()


def _timestamp(array: pa.Array[Any]) -> list[Any]:
    return pc.strftime(array, format=TIMESTAMP_FORMAT).to_pylist()


_WRITERS: dict[DataType, Callable[[pa.Array[Any]], list[Any]]] = {
    DataType.BOOLEAN: _boolean,
    DataType.DATE: _date,
    DataType.TIMESTAMP: _timestamp,
}
