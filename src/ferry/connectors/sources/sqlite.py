"""The SQLite source: a database file on the Ferry host, read with the standard library.

Reading: one read-only connection and one streaming ``SELECT`` per model, fetched
``batch_rows`` rows at a time and converted column by column into the canonical Arrow types
(``ferry.connectors.types``), so memory holds one batch at a time. A single statement reads one
consistent snapshot of the file. In rollback-journal mode that snapshot is a shared lock that
holds the file's writers off until the read ends; WAL mode lets them go on.

Values, by the model's data type (SQLite keeps whatever each row was given):

| data_type        | values read                                                           |
| ---------------- | --------------------------------------------------------------------- |
| string, json     | text as is; numbers as their text; UTF-8 blobs decoded                |
| bytes            | blobs; text as its UTF-8 bytes                                        |
| boolean          | integers 0/1, or text true/false/0/1                                  |
| integer, bigint  | integers, integral reals, integer text                                |
| decimal          | text as is (exact); numbers formatted to the declared scale           |
| float            | reals, integers, numeric text                                         |
| date             | ISO 8601 text ``YYYY-MM-DD``                                          |
| timestamp        | ISO 8601 text; without an offset it is taken as UTC                   |

A value that does not fit fails the model with the column's name, never turning into NULL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from ferry.connectors import sqlite
from ferry.connectors.base import ReadRequest, SourceColumn, Window
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import LocalDatabaseFile
from ferry.connectors.sql import SqlSource
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig

# SQLite's own normal form of a date-time: UTC, millisecond precision.
TIME_FORMAT = "%Y-%m-%d %H:%M:%f"
_PROBE_VIEW = "_ferry_query_columns"


@register_source
class SqliteSource(SqlSource):
    """SQLite."""

    vendor = "sqlite"
    display_name = "SQLite"
    config_model = LocalDatabaseFile
    available = True

    def path(self) -> Path:
        return sqlite.database_path(self.config)

    def check(self) -> None:
        with sqlite.connect(self.path(), read_only=True) as connection:
            # The first read proves the file is a database Ferry can read.
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()

    def columns(self, model: ModelConfig) -> dict[str, SourceColumn]:
        with sqlite.connect(self.path(), read_only=True) as connection:
            request = ReadRequest(
                model=model,
                table=TableSpec.from_model(model),
                tenant=model.model_validation_id_in_provider_system or "",
                window=Window(),
            )
            return self._describe(connection, request)

    def _describe(
        self, connection: sqlite3.Connection, request: ReadRequest
    ) -> dict[str, SourceColumn]:
        model = request.model
        if model.source_query:
            # A temporary view over the query reports the declared type of every column that
            # comes straight from a table (an expression's is unknown: ANY).
            connection.execute(
                f"CREATE TEMP VIEW {self.quote(_PROBE_VIEW)} AS {self.render_query(model, request)}"
            )
            rows = connection.execute(
                "SELECT name, type FROM pragma_table_info(?, 'temp')", (_PROBE_VIEW,)
            ).fetchall()
            connection.execute(f"DROP VIEW temp.{self.quote(_PROBE_VIEW)}")
        else:
            parts = self.table_parts(model)
            if len(parts) > 2:
                raise ConnectorError(
                    f"source_table {model.source_table!r}: SQLite names are table or "
                    "database.table",
                    error_code="PRQL-NOT-FOUND",
                    title="Table not found",
                    blame="first_party",
                )
            rows = connection.execute(
                "SELECT name, type FROM pragma_table_info(?, ?)",
                (parts[-1], parts[0] if len(parts) == 2 else None),
            ).fetchall()
            if not rows:
                raise ConnectorError(
                    f"table {model.source_table} does not exist in {self.path()}",
                    error_code="PRQL-NOT-FOUND",
                    title="Table not found",
                    blame="first_party",
                )
        return {
            name: SourceColumn(
                name,
                sqlite.type_name(declared),
                sqlite.readable(declared),
                *sqlite.precision(declared),
            )
            for name, declared in rows
        }

    def horizon(self) -> datetime | None:
        """Always None: SQLite lets one writer at a time into a file and keeps no record of
        when its transaction began, so there is nothing to ask. The lookback covers a write
        transaction that stamped its rows before it committed."""
        return None

    # --- the query

    def select_sql(
        self,
        request: ReadRequest,
        columns: dict[str, SourceColumn],  # noqa: ARG002 (any declared type is normalized alike)
    ) -> str:
        """The tenant's rows in the window, like ``SqlSource.select_sql``, except that the
        window compares SQLite's normal form of each timestamp rather than its raw text.

        SQLite stores timestamps as text in whatever format the writer chose ('T' or space,
        with or without an offset), and such texts do not sort in time order with each other.
        ``strftime`` brings each to UTC at millisecond precision, the bounds go through the
        same function, so consecutive windows still split the rows exactly. A value that is
        not a timestamp normalizes to NULL and is read (and refused, with the column named)
        whatever the window, so none is skipped silently.
        """
        model, table, window = request.model, request.table, request.window
        q = self.quote
        selected = ", ".join(f"{q(c.source_name)} AS {q(c.name)}" for c in table.columns)
        if model.source_query:
            origin = f"({self.render_query(model, request)}) AS ferry_source"
        else:
            origin = self.qualify(*self.table_parts(model))
        raw = q(table.last_modified.source_name)
        # Only text shaped like an ISO 8601 date is normalized: SQLite would also take a bare
        # number or a time of day, which the reader refuses, as a point in time.
        modified = (
            f"(CASE WHEN typeof({raw}) = 'text' AND {raw} GLOB '[0-9][0-9][0-9][0-9]-*' "
            f"THEN strftime('{TIME_FORMAT}', {raw}) END)"
        )
        conditions = [f"{q(model.organization_column)} = {self.literal(request.tenant)}"]
        bounds = []
        if window.since is not None:
            bounds.append(f"{modified} >= {self._bound(window.since)}")
        if window.until is not None:
            bounds.append(f"{modified} < {self._bound(window.until)}")
        if bounds:
            unplaced = f"{modified} IS NULL"
            if not window.include_null:
                unplaced += f" AND {raw} IS NOT NULL"
            conditions.append(f"(({' AND '.join(bounds)}) OR ({unplaced}))")
        where = " AND ".join(conditions)
        return f"SELECT {selected} FROM {origin} WHERE {where}" + self.order_by(request, modified)

    def _bound(self, value: datetime) -> str:
        return f"strftime('{TIME_FORMAT}', {self.literal(value.astimezone(UTC).isoformat())})"

    # --- reading

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        with sqlite.connect(self.path(), read_only=True) as connection:
            described = self._describe(connection, request)
            cursor = connection.execute(self.select_sql(request, described))
            readers = [
                _reader(column, described.get(column.source_name))
                for column in request.table.columns
            ]
            schema = request.table.arrow_schema()
            while rows := cursor.fetchmany(request.batch_rows):
                values = list(zip(*rows, strict=True))
                yield pa.RecordBatch.from_arrays(
                    [read(list(v)) for read, v in zip(readers, values, strict=True)],
                    schema=schema,
                )


class _Unreadable(Exception):
    def __init__(self, value: object) -> None:
        super().__init__(repr(value))
        self.value = value


def _reader(
    column: ColumnSpec, source: SourceColumn | None
) -> Callable[[list[Any]], pa.Array[Any]]:
    """A function turning one column's values into its canonical Arrow array."""
    kind = column.data_type
    convert: Callable[[list[Any]], pa.Array[Any]]
    if kind is DataType.DECIMAL:
        scale = source.scale if source is not None else None

        def convert(values: list[Any]) -> pa.Array[Any]:
            return pa.array([_decimal(v, scale) for v in values], pa.string())

    else:
        convert = _CONVERTERS[kind]

    def read(values: list[Any]) -> pa.Array[Any]:
        try:
            return convert(values)
        except _Unreadable as bad:
            shown = repr(bad.value)
            raise ConnectorError(
                f"column {column.source_name!r}: the value "
                f"{shown if len(shown) <= 80 else shown[:77] + '...'} cannot be read as "
                f"{kind.value}",
                error_code="PRQL-TYPE",
                title="Value does not fit the column type",
                blame="first_party",
            ) from None

    return read


def _fast(values: Sequence[Any], kind: pa.DataType) -> pa.Array[Any] | None:
    """Arrow's own conversion, when every value already has the right Python type."""
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def _first_bad(values: Sequence[Any], accept: Callable[[Any], bool]) -> _Unreadable:
    return _Unreadable(next((v for v in values if v is not None and not accept(v)), None))


def _text(values: list[Any]) -> pa.Array[Any]:
    fast = _fast(values, pa.string())
    return fast if fast is not None else pa.array([_as_text(v) for v in values], pa.string())


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise _Unreadable(value) from None
    return repr(value) if isinstance(value, float) else str(value)


def _bytes(values: list[Any]) -> pa.Array[Any]:
    fast = _fast(values, pa.binary())
    if fast is None:
        raise _first_bad(values, lambda v: isinstance(v, bytes | str))
    return fast


def _boolean(values: list[Any]) -> pa.Array[Any]:
    numbers = _fast(values, pa.int64())
    if numbers is not None:
        fits = cast(Any, pc).is_in(numbers, value_set=pa.array([0, 1], pa.int64()))
        if not pc.all(pc.or_kleene(fits, pc.is_null(numbers))).as_py():
            raise _first_bad(values, lambda v: v in (0, 1))
        return pc.not_equal(numbers, pa.scalar(0, pa.int64()))
    text = _fast(values, pa.string())
    if text is not None:
        try:
            return pc.cast(pc.utf8_lower(text), pa.bool_())
        except pa.ArrowInvalid:
            pass
    raise _first_bad(values, lambda v: str(v).lower() in ("0", "1", "true", "false"))


def _integers(kind: pa.DataType) -> Callable[[list[Any]], pa.Array[Any]]:
    def convert(values: list[Any]) -> pa.Array[Any]:
        numbers = _fast(values, pa.int64())
        if numbers is None:
            numbers = pa.array([_as_int(v) for v in values], pa.int64())
        try:
            return pc.cast(numbers, kind)
        except pa.ArrowInvalid:
            # Only a 32-bit target can refuse a 64-bit integer.
            too_big = (
                v
                for v, n in zip(values, numbers.to_pylist(), strict=True)
                if n is not None and not -(2**31) <= n < 2**31
            )
            raise _Unreadable(next(too_big, None)) from None

    return convert


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _Unreadable(value)


def _floats(values: list[Any]) -> pa.Array[Any]:
    fast = _fast(values, pa.float64())
    return fast if fast is not None else pa.array([_as_float(v) for v in values], pa.float64())


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Unreadable(value) from None


def _decimal(value: Any, scale: int | None) -> str | None:
    """Exact decimal text. Text is kept as written; a number SQLite stored as an integer or a
    real (NUMERIC affinity turns '10.50' into 10.5) gets the declared scale back."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise _Unreadable(value) from None
        if not parsed.is_finite():
            raise _Unreadable(value)
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Unreadable(value)
    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if not number.is_finite():
        raise _Unreadable(value)
    if scale is not None:
        number = number.quantize(Decimal(1).scaleb(-scale))
    return format(number, "f")


def _dates(values: list[Any]) -> pa.Array[Any]:
    text = _fast(values, pa.string())
    if text is not None:
        try:
            return pc.cast(text, pa.date32())
        except pa.ArrowInvalid:
            pass
    return pa.array([_as_date(v) for v in values], pa.date32())


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Unreadable(value) from None


def _timestamps(values: list[Any]) -> pa.Array[Any]:
    target = pa.timestamp("us", tz="UTC")
    text = _fast(values, pa.string())
    if text is None:
        raise _first_bad(values, lambda v: isinstance(v, str))
    # Arrow parses a column of one ISO 8601 shape at once: naive texts, or texts with offsets.
    try:
        naive = pc.cast(text, pa.timestamp("us"))
        aware: pa.Array[Any] = cast(Any, pc).assume_timezone(naive, "UTC")
        return aware
    except pa.ArrowInvalid:
        pass
    try:
        return pc.cast(text, target)
    except pa.ArrowInvalid:
        pass
    return pa.array([_as_timestamp(v) for v in values], target)


def _as_timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Unreadable(value) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_CONVERTERS: dict[DataType, Callable[[list[Any]], pa.Array[Any]]] = {
    DataType.STRING: _text,
    DataType.JSON: _text,
    DataType.BYTES: _bytes,
    DataType.BOOLEAN: _boolean,
    DataType.INTEGER: _integers(pa.int32()),
    DataType.BIGINT: _integers(pa.int64()),
    DataType.FLOAT: _floats,
    DataType.DATE: _dates,
    DataType.TIMESTAMP: _timestamps,
}
