"""MySQL and Aurora MySQL sources (tested on MariaDB), streamed with an unbuffered cursor.

One read is one query inside ``START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY``: every
row comes from the same snapshot, and rows committed meanwhile wait for the next transfer. Rows
arrive one at a time and are turned into Arrow record batches of ``batch_rows`` rows, so memory
holds one batch whatever the table's size.

Values come as the server's text and become the canonical Arrow types (``ferry.connectors.types``):
decimals stay exact decimal text (never a float); DATETIME values are taken as UTC (the session
time zone is UTC, so TIMESTAMP values are UTC too) and become timestamp[us, UTC]; MySQL's zero
dates (``0000-00-00``), which name no day, become NULL; JSON stays JSON text; binary columns
become bytes; ``tinyint(1)`` (BOOLEAN) and ``bit(1)`` can be read as booleans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from ferry.connectors import mysql
from ferry.connectors.base import ReadRequest, SourceColumn, Window
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import DatabaseServer
from ferry.connectors.sql import SqlSource
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.errors import ConnectorError
from ferry.fields import Short
from ferry.modelconfig import DataType, ModelConfig

# Information_schema reports a precision for these; it is a decimal's declared precision only
# for exact types (a double's "precision" is not a number of decimal digits).
_EXACT = {"decimal", "numeric", "tinyint", "smallint", "mediumint", "int", "integer", "bigint"}


class MySQLSourceConfig(DatabaseServer):
    """A MySQL database to read from."""

    database: Short


class MySQLFamilySource(SqlSource):
    """A MySQL-compatible source."""

    config_model = MySQLSourceConfig
    available = True
    quote_char: ClassVar[str] = "`"
    # Spec §9.2: MySQL and Aurora MySQL re-read 5 seconds below the watermark.
    lookback: ClassVar[timedelta] = timedelta(seconds=5)

    def table_parts(self, model: ModelConfig) -> list[str]:
        # "schema.table", or a table of the connection's database.
        return model.source_table.split(".")

    def nulls_last(self, expression: str) -> str:
        # MySQL sorts NULL first and has no NULLS LAST: sort on "is it NULL" first.
        return f"({expression} IS NULL), {expression}"

    def timestamp_literal(self, value: datetime, column: SourceColumn | None) -> str:  # noqa: ARG002
        # The session time zone is UTC, so a naive UTC literal is right for DATETIME and
        # TIMESTAMP columns alike (MariaDB does not read offsets in datetime literals).
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return self.literal(naive.isoformat(sep=" ", timespec="microseconds"))

    def check(self) -> None:
        with mysql.connect(self.config, context=self.context) as (_, cursor):
            cursor.execute("SELECT DATABASE()")
            cursor.fetchall()

    def columns(self, model: ModelConfig) -> dict[str, SourceColumn]:
        with mysql.connect(self.config, context=self.context) as (_, cursor):
            if model.source_query:
                return self._query_columns(cursor, model)
            parts = self.table_parts(model)
            schema = self.literal(parts[-2]) if len(parts) > 1 else "DATABASE()"
            cursor.execute(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE "
                f"FROM information_schema.columns WHERE TABLE_SCHEMA = {schema} "
                f"AND TABLE_NAME = {self.literal(parts[-1])} ORDER BY ORDINAL_POSITION"
            )
            rows = cursor.fetchall()
        if not rows:
            raise ConnectorError(
                f"table {model.source_table} does not exist or is not visible to this user",
                error_code="PRQL-NOT-FOUND",
                title="Table not found",
                blame="first_party",
            )
        found = {}
        for name, data_type, column_type, precision, scale in rows:
            name, data_type = _text(name), _text(data_type).lower()
            exact = data_type in _EXACT
            found[name] = SourceColumn(
                name,
                data_type,
                mysql.READABLE.get(mysql.kind(data_type, _text(column_type)), frozenset()),
                int(precision) if exact and precision is not None else None,
                int(scale) if exact and scale is not None else None,
            )
        return found

    def _query_columns(self, cursor: Any, model: ModelConfig) -> dict[str, SourceColumn]:
        """A custom query's columns, from the result description of running it for no rows."""
        request = ReadRequest(
            model=model,
            table=TableSpec.from_model(model),
            tenant=model.model_validation_id_in_provider_system or "",
            window=Window(),
        )
        cursor.execute(f"SELECT * FROM ({self.render_query(model, request)}) AS q LIMIT 0")
        found = {}
        for name, code, _, length, _, _, _ in cursor.description:
            kind = mysql.type_codes().get(code, "")
            if kind in ("tinyint", "bit") and length == 1:
                kind = f"{kind}(1)"
            found[name] = SourceColumn(name, kind, mysql.READABLE.get(kind, frozenset()))
        return found

    def horizon(self) -> datetime | None:
        """When the oldest InnoDB transaction still open on the server began.

        Reading ``information_schema.innodb_trx`` needs the PROCESS privilege; without it the
        server refuses and the lookback alone protects late rows (None). A transaction appears
        there once it has touched an InnoDB table; its start is in the server's system time
        zone, to the second.
        """
        # PyMySQL is imported here, not at module level: drivers load only for vendors in use.
        import pymysql
        from pymysql.constants import ER

        with mysql.connect(self.config, context=self.context) as (_, cursor):
            try:
                cursor.execute(
                    "SELECT CONVERT_TZ(MIN(trx_started), 'SYSTEM', '+00:00') "
                    "FROM information_schema.innodb_trx "
                    "WHERE trx_mysql_thread_id <> CONNECTION_ID()"
                )
            except pymysql.MySQLError as exc:
                if exc.args[:1] in (
                    (ER.SPECIFIC_ACCESS_DENIED_ERROR,),
                    (ER.DBACCESS_DENIED_ERROR,),
                ):
                    return None
                raise
            oldest = cursor.fetchall()[0][0]
        if oldest is None:
            return None
        return datetime.fromisoformat(_text(oldest)).replace(tzinfo=UTC)

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        import pymysql
        from pymysql.cursors import SSCursor

        sql = self.select_sql(request, {})
        builders = [_builder(column) for column in request.table.columns]
        schema = request.table.arrow_schema()
        connection = mysql.open_connection(self.config, context=self.context)
        finished = False
        try:
            cursor = connection.cursor(SSCursor)
            # One snapshot for the whole read: rows committed meanwhile wait for the next run.
            cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            cursor.execute(sql)
            while rows := cursor.fetchmany(request.batch_rows):
                values = list(zip(*rows, strict=True))
                yield pa.RecordBatch.from_arrays(
                    [build(list(v)) for build, v in zip(builders, values, strict=True)],
                    schema=schema,
                )
            finished = True
        except pymysql.MySQLError as exc:
            raise mysql.classify(exc, self.config) from None
        finally:
            if finished:
                mysql.close(connection)
            else:
                # Stopped early (the consumer went away, or an error): the rest of the
                # result is not wanted.
                mysql.abandon(connection)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


Raw = list[Any]  # a column of the server's values: str, bytes (binary columns) or None
_TEXT = (DataType.STRING, DataType.TEXT, DataType.JSON)


def _builder(column: ColumnSpec) -> Callable[[Raw], pa.Array[Any]]:
    """How one column's raw values become its canonical Arrow array."""
    target = column.arrow_type
    kind = column.data_type

    def build(values: Raw) -> pa.Array[Any]:
        try:
            if kind is DataType.BYTES:
                return pa.array(values, pa.binary())
            sample = next((v for v in values if v is not None), None)
            if isinstance(sample, bytes) and kind not in _TEXT:
                # BIT columns arrive as big-endian bytes.
                values = [None if v is None else str(int.from_bytes(v, "big")) for v in values]
            texts: pa.Array[Any] = pa.array(values, pa.string())
            if kind in _TEXT or kind is DataType.DECIMAL:
                return texts
            if kind is DataType.BOOLEAN:
                return pc.not_equal(texts.cast(pa.float64()), pa.scalar(0.0))
            if kind in (DataType.DATE, DataType.TIMESTAMP):
                # MySQL's zero dates name no day.
                zero = pc.starts_with(texts, "0000-00-00")
                texts = pc.if_else(zero, pa.scalar(None, pa.string()), texts)
                if kind is DataType.TIMESTAMP:
                    return texts.cast(pa.timestamp("us")).cast(target)
            return texts.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ConnectorError(
                f"column {column.source_name!r}: a source value does not fit data_type "
                f"{column.data_type.value} ({exc})",
                error_code="PRQL-TYPE",
                title="Value does not fit the column type",
                blame="first_party",
            ) from None

    return build


@register_source
class MySQLSource(MySQLFamilySource):
    """MySQL."""

    vendor = "mysql"
    display_name = "MySQL"


@register_source
class AuroraMySQLSource(MySQLFamilySource):
    """Amazon Aurora MySQL."""

    vendor = "aurora_mysql"
    display_name = "Aurora MySQL"
