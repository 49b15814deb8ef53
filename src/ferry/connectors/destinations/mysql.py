"""MySQL and Aurora MySQL destinations (tested on MariaDB), and the shape that MySQL-like
vendors reuse.

Loading. Each batch is written to a temporary file and bulk-loaded with ``LOAD DATA LOCAL
INFILE`` into a TEMPORARY staging table (creating one does not commit, unlike other DDL), so
memory holds one batch. A server with ``local_infile`` off (MySQL 8's default) gets multi-row
INSERT statements instead. Then, in one transaction: the staging rows are deduplicated by key
(the newest last-modified value wins), the new keys counted, the rows merged into the typed
table with ``INSERT … SELECT … ON DUPLICATE KEY UPDATE``, the ``_transfer_status`` row upserted,
COMMIT. Readers see all of a model's changes or none.

MySQL commits implicitly around DDL, so creating the database, the tables and new columns comes
first, before that transaction. It is still safe: each step is idempotent (created only when
missing), and none makes a row visible, so a crash after one leaves at most an empty table or a
NULL column, and the rerun carries on.

Full refresh builds ``_ferry_new_<transfer>_<table>`` as a real table from staging, swaps it in
with one atomic ``RENAME TABLE`` (the old table becomes ``_ferry_old_…``), records the status and
drops the old table. A failure before the rename leaves the table untouched and drops the
half-built one.

Type mapping (tables are InnoDB, utf8mb4):

| data_type   | MySQL                                                                          |
| ----------- | ------------------------------------------------------------------------------ |
| string/text | LONGTEXT; a key column VARCHAR(768) with a binary, no-pad collation             |
| bytes       | LONGBLOB; a key column VARBINARY(3072)                                          |
| boolean     | BOOLEAN (tinyint(1))                                                            |
| integer     | INT                                                                             |
| bigint      | BIGINT                                                                          |
| decimal     | DECIMAL(p,s) as declared by the source when p ≤ 65 and s ≤ 30 (38 on MariaDB),  |
|             | else DECIMAL(65,30) (DECIMAL(65,38) on MariaDB): digits beyond the 30th (38th)  |
|             | after the point cannot be kept and are rounded                                  |
| float       | DOUBLE                                                                          |
| date        | DATE                                                                            |
| timestamp   | DATETIME(6) holding UTC                                                         |
| json        | JSON                                                                            |

InnoDB indexes at most 3072 bytes of a key and counts 4 bytes per utf8mb4 character: a lone
string key is VARCHAR(768); the string and bytes parts of a composite key share what the
fixed-size parts leave.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute

from ferry.connectors import mysql
from ferry.connectors.base import Capabilities, WriteContext
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import DatabaseServer
from ferry.connectors.sql import STATUS_TABLE, Cursor, Feed, SqlDestination
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.errors import ConnectorError
from ferry.fields import Short
from ferry.modelconfig import DataType

# For annotations only: drivers load only for vendors in use.
if TYPE_CHECKING:
    from pymysql.cursors import Cursor as MySQLCursor

TYPES = {
    DataType.STRING: "LONGTEXT",
    DataType.TEXT: "LONGTEXT",
    DataType.BYTES: "LONGBLOB",
    DataType.BOOLEAN: "BOOLEAN",
    DataType.INTEGER: "INT",
    DataType.BIGINT: "BIGINT",
    DataType.FLOAT: "DOUBLE",
    DataType.DATE: "DATE",
    DataType.TIMESTAMP: "DATETIME(6)",
    DataType.JSON: "JSON",
}
KEY_BYTES = 3072  # InnoDB's limit on an index key (DYNAMIC rows)
# Bytes a fixed-size key part takes in the index; a decimal at most 30.
_FIXED_BYTES = {
    DataType.BOOLEAN: 1,
    DataType.INTEGER: 4,
    DataType.BIGINT: 8,
    DataType.FLOAT: 8,
    DataType.DATE: 3,
    DataType.TIMESTAMP: 8,
    DataType.DECIMAL: 30,
}
# Load order of the staging rows: among equal last-modified values the later row wins.
SEQUENCE = "_ferry_seq"
INSERT_BYTES = 4 * 1024 * 1024  # per INSERT statement when LOAD DATA LOCAL is off
# pyarrow-stubs cannot express the mixed array and scalar arguments of these kernels.
pc: Any = pyarrow.compute
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", "\\0"))


class MySQLDestinationConfig(DatabaseServer):
    """A MySQL server: a database to connect to and the database written to."""

    connection_database: Short
    write_database: Short
    use_ssh_tunnel: bool


class MySQLFamilyDestination(SqlDestination):
    """A destination configured with the MySQL shape.

    Vendors that only share the shape (SingleStore, PlanetScale, SQL Server) inherit it with
    ``available`` False and fail ``check()`` and transfers clearly; MySQL and Aurora MySQL turn
    the behaviour on.
    """

    config_model = MySQLDestinationConfig
    target_fields = ("host", "port", "write_database")
    quote_char = "`"
    capabilities = Capabilities(
        transactional_ddl=False, native_upsert=True, max_identifier_length=64, bulk_load="load_data"
    )
    # Set on connecting; until then the limits of MySQL, the stricter of the two.
    server = mysql.Server(version=(0,), is_mariadb=False)

    def schema_name(self) -> str:
        return str(self.config.public_view()["write_database"])

    def connect(self) -> AbstractContextManager[tuple[Any, Any]]:
        if not self.available:
            raise self.unavailable()
        return self._session()

    @contextmanager
    def _session(self) -> Iterator[tuple[Any, MySQLCursor]]:
        with mysql.connect(self.config, context=self.context) as (connection, cursor):
            self.server = mysql.server_of(connection)
            yield connection, cursor

    def check(self) -> None:
        """Connect, create the write database if needed, then create and drop a probe table
        and a temporary one (staging tables are temporary)."""
        with self.connect() as (_, cursor):
            self.ensure_schema(cursor)
            probe = self.table_name("_ferry_connection_check")
            cursor.execute(f"DROP TABLE IF EXISTS {probe}")
            # With a key: servers may require one (sql_require_primary_key).
            cursor.execute(f"CREATE TABLE {probe} (id INT PRIMARY KEY) ENGINE=InnoDB")
            cursor.execute(f"DROP TABLE {probe}")
            cursor.execute(f"CREATE TEMPORARY TABLE {probe} (id INT PRIMARY KEY) ENGINE=InnoDB")
            cursor.execute(f"DROP TEMPORARY TABLE {probe}")

    # --- types and DDL

    def column_type(self, column: ColumnSpec) -> str:
        if column.data_type is DataType.DECIMAL:
            limit = self.server.max_decimal_scale
            p, s = column.precision, column.scale or 0
            if p and p <= 65 and s <= limit and s <= p:
                return f"DECIMAL({p},{s})"
            return f"DECIMAL(65,{limit})"
        return TYPES[column.data_type]

    def key_type(self, column: ColumnSpec) -> str:
        return self.column_types(TableSpec(column.name, (column,)))[column.name]

    def column_types(self, table: TableSpec) -> dict[str, str]:
        """Each column's type; the variable-size key parts share InnoDB's key limit."""
        types = {c.name: self.column_type(c) for c in table.columns}
        variable = [c for c in table.key if c.data_type not in _FIXED_BYTES]
        fixed = sum(_FIXED_BYTES[c.data_type] for c in table.key if c.data_type in _FIXED_BYTES)
        share = (KEY_BYTES - fixed) // max(len(variable), 1)
        for column in variable:
            if column.data_type is DataType.BYTES:
                types[column.name] = f"VARBINARY({share})"
            else:
                # Binary and no-pad, so keys compare exactly ('a', 'A' and 'a ' are three keys).
                types[column.name] = (
                    f"VARCHAR({share // 4}) CHARACTER SET utf8mb4 "
                    f"COLLATE {self.server.key_collation}"
                )
        return types

    def create_table_sql(self, name: str, table: TableSpec, *, constraint: str) -> str:
        types = self.column_types(table)
        columns = [
            f"{self.quote(c.name)} {types[c.name]}"
            + (" NOT NULL" if c.is_primary_key else "")
            + _comment(c.description, 1024)
            for c in table.columns
        ]
        key = ", ".join(self.quote(c.name) for c in table.key)
        columns.append(f"CONSTRAINT {self.quote(constraint)} PRIMARY KEY ({key})")
        return (
            f"CREATE TABLE {self.table_name(name)} ({', '.join(columns)}) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" + _comment(table.description, 2048)
        )

    def add_column_sql(self, name: str, column: ColumnSpec) -> str:
        return super().add_column_sql(name, column) + _comment(column.description, 1024)

    def ensure_schema(self, cursor: Cursor) -> None:
        # Checked first: CREATE DATABASE IF NOT EXISTS needs the global CREATE privilege even
        # when the database exists.
        schema = self.schema_name()
        cursor.execute(
            f"SELECT 1 FROM information_schema.schemata WHERE SCHEMA_NAME = {self.literal(schema)}"
        )
        if not cursor.fetchall():
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)} CHARACTER SET utf8mb4"
            )

    def existing_columns(self, cursor: Cursor, name: str) -> dict[str, str] | None:
        cursor.execute(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.columns "
            f"WHERE TABLE_SCHEMA = {self.literal(self.schema_name())} "
            f"AND TABLE_NAME = {self.literal(name)}"
        )
        rows = cursor.fetchall()
        return {_text(n): _text(t) for n, t in rows} if rows else None

    # --- the load

    def stage(
        self, cursor: Any, table: TableSpec, batches: Iterator[pa.RecordBatch], staging: str
    ) -> tuple[int, int]:
        types = self.column_types(table)
        columns = ", ".join(f"{self.quote(c.name)} {types[c.name]}" for c in table.columns)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {self.table_name(staging)} ({columns}, "
            f"{self.quote(SEQUENCE)} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )
        local = self.loads_local_files(cursor)
        feed = Feed(batches)
        with tempfile.TemporaryDirectory(prefix="ferry-mysql-") as folder:
            path = os.path.join(folder, "batch.tsv")
            for batch in feed:
                if not batch.num_rows:
                    continue
                if local:
                    self._load_file(cursor, table, staging, batch, path)
                else:
                    self._insert(cursor, table, staging, batch)
        return feed.rows, feed.bytes

    def loads_local_files(self, cursor: Cursor) -> bool:
        """Whether the server accepts LOAD DATA LOCAL INFILE."""
        cursor.execute("SELECT @@GLOBAL.local_infile")
        return _text(cursor.fetchall()[0][0]).upper() in ("1", "ON")

    def _load_file(
        self, cursor: MySQLCursor, table: TableSpec, staging: str, batch: pa.RecordBatch, path: str
    ) -> None:
        fields = [_field_text(batch.column(c.name), c) for c in table.columns]
        rows = pc.binary_join_element_wise(*fields, _large("\t"))
        lines = pc.binary_join_element_wise(rows, _large(""), _large("\n"))
        with open(path, "wb") as file:
            file.write(_contents(lines))
        targets, conversions = [], []
        for i, column in enumerate(table.columns):
            if column.data_type is DataType.BYTES:
                # Bytes travel as hex: the file is read as utf8mb4 text.
                targets.append(f"@ferry_{i}")
                conversions.append(f"{self.quote(column.name)} = UNHEX(@ferry_{i})")
            else:
                targets.append(self.quote(column.name))
        with mysql.offering(cursor.connection, path):
            cursor.execute(
                f"LOAD DATA LOCAL INFILE {self.literal(path)} "
                f"INTO TABLE {self.table_name(staging)} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY X'09' ESCAPED BY X'5C' LINES TERMINATED BY X'0A' "
                f"({', '.join(targets)})"
                + (f" SET {', '.join(conversions)}" if conversions else "")
            )
        loaded = cursor.rowcount
        # LOCAL implies IGNORE: a value that does not fit is stored adjusted, with a warning,
        # whatever the sql_mode. Such a warning fails the load here (a note, such as a decimal
        # rounded to its scale, does not).
        problems = []
        if cursor.warning_count:
            cursor.execute("SHOW WARNINGS")
            problems = [_text(m) for level, _, m in cursor.fetchall() if _text(level) != "Note"]
        if problems or loaded != batch.num_rows:
            raise ConnectorError(
                f"table {table.name}: "
                + ("; ".join(problems[:5]) or f"{loaded} of {batch.num_rows} rows were loaded"),
                error_code="PRQL-TYPE",
                title="Value does not fit the column type",
                blame="first_party",
            )

    def _insert(
        self, cursor: Cursor, table: TableSpec, staging: str, batch: pa.RecordBatch
    ) -> None:
        fields = [_sql_literals(batch.column(c.name), c) for c in table.columns]
        rows = pc.binary_join_element_wise(*fields, _large(",")).to_pylist()
        head = (
            f"INSERT INTO {self.table_name(staging)} "
            f"({', '.join(self.quote(c.name) for c in table.columns)}) VALUES "
        )
        chunk: list[str] = []
        size = 0
        for row in [*rows, None]:
            if chunk and (row is None or size + len(row) > INSERT_BYTES):
                cursor.execute(head + ", ".join(chunk))
                chunk, size = [], 0
            if row is not None:
                chunk.append(f"({row})")
                size += len(row) + 4

    def _deduplicated(self, table: TableSpec, staging: str) -> str:
        """Staging rows, one per key: the newest, then the last loaded. A source's declared
        key may repeat, and one statement must not write a row twice."""
        q = self.quote
        columns = ", ".join(q(c.name) for c in table.columns)
        keys = ", ".join(q(c.name) for c in table.key)
        newest = q(table.last_modified.name)
        return (
            f"SELECT {columns} FROM (SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY {keys} "
            f"ORDER BY ({newest} IS NULL), {newest} DESC, {q(SEQUENCE)} DESC) AS _ferry_rank "
            f"FROM {self.table_name(staging)}) AS ferry_new WHERE _ferry_rank = 1"
        )

    def merge(self, cursor: Cursor, table: TableSpec, staging: str) -> int:
        q = self.quote
        target = self.table_name(table.name)
        keys = [q(c.name) for c in table.key]
        match = " AND ".join(f"t.{k} = fresh.{k}" for k in keys)
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT {', '.join(keys)} "
            f"FROM {self.table_name(staging)}) AS fresh "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match})"
        )
        inserted = int(_text(cursor.fetchall()[0][0]))
        values = [c for c in table.columns if not c.is_primary_key] or list(table.key)
        sets = ", ".join(f"{q(c.name)} = ferry_new.{q(c.name)}" for c in values)
        columns = ", ".join(q(c.name) for c in table.columns)
        cursor.execute(
            f"INSERT INTO {target} ({columns}) {self._deduplicated(table, staging)} "
            f"ON DUPLICATE KEY UPDATE {sets}"
        )
        # MySQL counts 1 per row inserted, 2 per row updated and 0 per row left as it was
        # (https://dev.mysql.com/doc/refman/8.0/en/insert-on-duplicate.html).
        return inserted + (max(cursor.rowcount, 0) - inserted) // 2

    def replace(self, cursor: Cursor, table: TableSpec, staging: str, context: WriteContext) -> int:
        suffix = context.transfer_id.replace("-", "")[:12]
        fresh = self.fit_identifier(f"_ferry_new_{suffix}_{table.name}")
        old = self.fit_identifier(f"_ferry_old_{suffix}_{table.name}")
        # Leftovers of an earlier attempt of this transfer.
        cursor.execute(f"DROP TABLE IF EXISTS {self.table_name(fresh)}, {self.table_name(old)}")
        try:
            cursor.execute(self.create_table_sql(fresh, table, constraint="PRIMARY"))
            columns = ", ".join(self.quote(c.name) for c in table.columns)
            cursor.execute(
                f"INSERT INTO {self.table_name(fresh)} ({columns}) "
                f"{self._deduplicated(table, staging)}"
            )
            rows = max(cursor.rowcount, 0)
        except BaseException:
            with suppress(Exception):
                cursor.execute(f"DROP TABLE IF EXISTS {self.table_name(fresh)}")
            raise
        # One RENAME TABLE swaps both names atomically: readers see the old table or the new.
        if self.existing_columns(cursor, table.name) is None:
            cursor.execute(
                f"RENAME TABLE {self.table_name(fresh)} TO {self.table_name(table.name)}"
            )
        else:
            cursor.execute(
                f"RENAME TABLE {self.table_name(table.name)} TO {self.table_name(old)}, "
                f"{self.table_name(fresh)} TO {self.table_name(table.name)}"
            )
        self.record_status(cursor, table.model_name or table.name, context.status_time)
        cursor.execute("COMMIT")
        cursor.execute(f"DROP TABLE IF EXISTS {self.table_name(old)}")
        return rows

    def record_status(self, cursor: Cursor, model_name: str, when: datetime) -> None:
        at = self.literal(_utc_text(when))
        cursor.execute(
            f"INSERT INTO {self.table_name(STATUS_TABLE)} "
            f"(data_model_name, transfer_last_updated_at) VALUES ({self.literal(model_name)}, "
            f"{at}) ON DUPLICATE KEY UPDATE transfer_last_updated_at = {at}"
        )


def _large(text: str) -> pa.Scalar[Any]:
    return pa.scalar(text, pa.large_string())


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _comment(text: str | None, limit: int) -> str:
    """A COMMENT clause, cut to MySQL's limit (1024 for a column, 2048 for a table)."""
    if not text:
        return ""
    return " COMMENT '" + text[:limit].replace("\x00", "").replace("'", "''") + "'"


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _field_text(array: pa.Array[Any], column: ColumnSpec) -> pa.Array[Any]:
    """A column as LOAD DATA fields: text with tab, newline and backslash escaped, NULL
    as ``\\N``, bytes as hex, timestamps as UTC ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    kind = column.data_type
    if kind is DataType.BYTES:
        text: pa.Array[Any] = pa.array(
            [None if v is None else v.hex() for v in array.to_pylist()], pa.large_string()
        )
    elif kind is DataType.BOOLEAN:
        text = pc.if_else(array, "1", "0")
    elif kind is DataType.TIMESTAMP:
        utc = array.cast(pa.timestamp("us", tz="UTC"))
        text = pc.strftime(utc, format="%Y-%m-%d %H:%M:%S")
    else:
        text = array.cast(pa.large_string())
        if kind in (DataType.STRING, DataType.TEXT, DataType.JSON, DataType.DECIMAL):
            for old, new in _ESCAPES:
                text = pc.replace_substring(text, old, new)
    fields: pa.Array[Any] = pc.fill_null(text.cast(pa.large_string()), "\\N")
    return fields


def _contents(lines: pa.Array[Any]) -> memoryview:
    """The bytes of a large_string array's values, end to end, without copying them."""
    offsets, data = lines.buffers()[1], lines.buffers()[2]
    if offsets is None or data is None:
        return memoryview(b"")
    (start,) = struct.unpack_from("<q", offsets, lines.offset * 8)
    (end,) = struct.unpack_from("<q", offsets, (lines.offset + len(lines)) * 8)
    return memoryview(data)[start:end]


def _sql_literals(array: pa.Array[Any], column: ColumnSpec) -> pa.Array[Any]:
    """A column as SQL literals, for INSERT statements. Text and bytes go as hex, which no
    sql_mode or character can change the meaning of; the rest is quoted, so that the server
    converts it exactly and a text such as 'inf' stays a value (refused by strict mode)."""
    kind = column.data_type
    if kind is DataType.BYTES:
        values = [None if v is None else f"X'{v.hex()}'" for v in array.to_pylist()]
        text: pa.Array[Any] = pa.array(values, pa.large_string())
    elif kind in (DataType.STRING, DataType.TEXT, DataType.JSON):
        values = [
            None if v is None else f"_utf8mb4 X'{v.encode().hex()}'" for v in array.to_pylist()
        ]
        text = pa.array(values, pa.large_string())
    elif kind is DataType.BOOLEAN:
        text = pc.if_else(array, "1", "0")
    else:
        if kind is DataType.TIMESTAMP:
            utc = array.cast(pa.timestamp("us", tz="UTC"))
            plain = pc.strftime(utc, format="%Y-%m-%d %H:%M:%S")
        else:
            plain = array.cast(pa.large_string())
        quote = _large("'")
        escaped = pc.replace_substring(plain.cast(pa.large_string()), "'", "''")
        text = pc.binary_join_element_wise(quote, escaped, quote, _large(""))
    literals: pa.Array[Any] = pc.fill_null(text.cast(pa.large_string()), "NULL")
    return literals


@register_destination
class MySQLDestination(MySQLFamilyDestination):
    """MySQL."""

    vendor = "mysql"
    display_name = "MySQL"
    available = True


@register_destination
class AuroraMySQLDestination(MySQLFamilyDestination):
    """Amazon Aurora MySQL."""

    vendor = "aurora_mysql"
    display_name = "Aurora MySQL"
    available = True
