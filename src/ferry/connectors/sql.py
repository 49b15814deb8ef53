"""What SQL sources and destinations share: quoting, the read query, the write algorithm.

Vendors override hooks (``quote``, ``column_type``, ``stage``, ``merge``…), never the algorithm,
and the algorithm asks capabilities, never vendor names.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import pyarrow as pa

from ferry.connectors.base import (
    TENANT_COLUMN,
    DestinationConnector,
    GroupRead,
    ReadRequest,
    SourceColumn,
    SourceConnector,
    TableMissing,
    Window,
    WriteContext,
    WriteMode,
    WriteResult,
)
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig

STATUS_TABLE = "_transfer_status"
_TEMPLATE = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


class Cursor(Protocol):
    """The part of a DB-API cursor the SQL connectors use."""

    rowcount: int

    def execute(self, sql: str, *args: Any) -> Any: ...
    def fetchall(self) -> Sequence[Any]: ...


class SqlDialect:
    """Quoting and literals; ANSI by default."""

    quote_char: ClassVar[str] = '"'

    def quote(self, name: str) -> str:
        q = self.quote_char
        if "\x00" in name:
            raise ConnectorError(
                "identifiers cannot contain NUL",
                error_code="PRQL-NAME",
                title="Invalid name",
                blame="first_party",
            )
        return q + name.replace(q, q + q) + q

    def qualify(self, *parts: str | None) -> str:
        return ".".join(self.quote(p) for p in parts if p)

    def literal(self, value: object) -> str:
        """A SQL literal for a value that must be inlined (the reader streams only unbound
        queries). Strings follow the SQL standard: quotes doubled, nothing else special."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        if "\x00" in text:
            raise ConnectorError(
                "values cannot contain NUL characters",
                error_code="PRQL-VALUE",
                title="Invalid value",
                blame="first_party",
            )
        return "'" + text.replace("'", "''") + "'"


# --- reading ---------------------------------------------------------------------------------


class SqlSource(SqlDialect, SourceConnector):
    """A SQL database read with one streaming, filtered, ordered query per model."""

    def table_parts(self, model: ModelConfig) -> list[str]:
        return model.source_table.split(".")

    def timestamp_literal(self, value: datetime, column: SourceColumn | None) -> str:
        """A bound for the last-modified column, in that column's own type."""
        if column is not None and column.type_name.lower() in self.naive_timestamp_types:
            return self.literal(value.astimezone(UTC).replace(tzinfo=None))
        return self.literal(value)

    naive_timestamp_types: ClassVar[frozenset[str]] = frozenset(
        {"timestamp", "timestamp without time zone", "datetime"}
    )

    def select_sql(self, request: ReadRequest, columns: dict[str, SourceColumn]) -> str:
        model, table, window = request.model, request.table, request.window
        q = self.quote
        selected = ", ".join(f"{q(c.source_name)} AS {q(c.name)}" for c in table.columns)
        if model.source_query:
            origin = f"({self.render_query(model, request)}) AS ferry_source"
        else:
            origin = self.qualify(*self.table_parts(model))
        conditions = [f"{q(model.organization_column)} = {self.literal(request.tenant)}"]
        bounded = self._window_condition(table, window, columns)
        if bounded:
            conditions.append(bounded)
        where = " AND ".join(conditions)
        return f"SELECT {selected} FROM {origin} WHERE {where}" + self.order_by(request)

    def _window_condition(
        self, table: TableSpec, window: Window, columns: dict[str, SourceColumn]
    ) -> str | None:
        """The rows of the window, by their last-modified value (None: every row)."""
        modified = self.quote(table.last_modified.source_name)
        lm_column = columns.get(table.last_modified.source_name)
        bounds = []
        if window.since is not None:
            bounds.append(f"{modified} >= {self.timestamp_literal(window.since, lm_column)}")
        if window.until is not None:
            bounds.append(f"{modified} < {self.timestamp_literal(window.until, lm_column)}")
        if not bounds:
            return None
        bounded = " AND ".join(bounds)
        return f"(({bounded}) OR {modified} IS NULL)" if window.include_null else f"({bounded})"

    def select_group_sql(self, request: GroupRead, columns: dict[str, SourceColumn]) -> str:
        """One query for the rows of several tenants, each in its own window: tenants sharing
        a window share one ``IN`` list. Unordered; the tenant comes last."""
        model, table = request.model, request.table
        if model.source_query:
            raise ValueError("a model with a source_query is read one tenant at a time")
        q = self.quote
        organization = q(model.organization_column)
        selected = ", ".join(
            [f"{q(c.source_name)} AS {q(c.name)}" for c in table.columns]
            + [f"{organization} AS {q(TENANT_COLUMN)}"]
        )
        by_window: dict[Window, list[str]] = {}
        for tenant, window in request.windows.items():
            by_window.setdefault(window, []).append(tenant)
        clauses = []
        for window, tenants in by_window.items():
            listed = ", ".join(self.literal(t) for t in tenants)
            condition = f"{organization} IN ({listed})"
            bounded = self._window_condition(table, window, columns)
            clauses.append(f"({condition} AND {bounded})" if bounded else f"({condition})")
        origin = self.qualify(*self.table_parts(model))
        return f"SELECT {selected} FROM {origin} WHERE " + " OR ".join(clauses)

    def order_by(self, request: ReadRequest, modified: str | None = None) -> str:
        """The ORDER BY clause of an ordered read (nothing for an unordered one), by
        ``modified`` (the last-modified column unless given), then the key."""
        if not request.ordered:
            return ""
        q = self.quote
        by = modified or q(request.table.last_modified.source_name)
        keys = [q(c.source_name) for c in request.table.key]
        return " ORDER BY " + ", ".join([self.nulls_last(by), *keys])

    def nulls_last(self, expression: str) -> str:
        return f"{expression} NULLS LAST"

    def render_query(self, model: ModelConfig, request: ReadRequest) -> str:
        """A custom source_query with its template variables filled in, values as literals and
        names as quoted identifiers."""
        table = request.table
        values: dict[str, str] = {
            "IdInProviderSystem": self.literal(request.tenant),
            "OrganizationColumnName": self.quote(model.organization_column),
            "LastModifiedColumnName": self.quote(table.last_modified.source_name),
            "PrimaryKeyColumnName": self.quote(table.key[0].source_name),
            "LastModifiedAtEpoch": str(
                int(request.window.since.timestamp()) if request.window.since else 0
            ),
        }
        if model.source_schema:
            values["Schema"] = self.quote(model.source_schema)

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise ConnectorError(
                    f"source_query: unknown template variable {{{{.{name}}}}}",
                    error_code="PRQL-QUERY",
                    title="Invalid source query",
                    blame="first_party",
                )
            return values[name]

        return _TEMPLATE.sub(fill, strip_comments(model.source_query or ""))


def strip_comments(query: str) -> str:
    """Drop ``//`` and ``/* */`` comments and backslash line continuations (JSON5 style), and
    a trailing semicolon, so the query can be wrapped as a subquery."""
    out: list[str] = []
    i, n = 0, len(query)
    quote: str | None = None
    while i < n:
        ch = query[i]
        if quote:
            out.append(ch)
            if ch == quote:
                quote = None
            i += 1
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
            i += 1
        elif query.startswith("//", i) or query.startswith("--", i):
            end = query.find("\n", i)
            i = n if end < 0 else end
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch == "\\" and query.startswith("\n", i + 1):
            out.append(" ")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out).strip().rstrip(";").strip()


# --- writing ---------------------------------------------------------------------------------


class Feed:
    """The batches a bulk loader consumes, counted, remembering any error the stream raised.

    Native loaders (ADBC ingest, DuckDB's Arrow scan) report an error raised by our iterator as
    their own; ``reraise`` restores the original (a cancellation, a source failure) so it is
    handled for what it is.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self._batches = batches
        self.rows = 0
        self.bytes = 0
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._batches:
                self.rows += batch.num_rows
                self.bytes += batch.nbytes
                yield batch
        except BaseException as exc:
            self.error = exc
            raise

    def reraise(self) -> None:
        if self.error is not None:
            raise self.error


class SqlDestination(SqlDialect, DestinationConnector):
    """A SQL database: typed tables merged by primary key, in one transaction per model."""

    def schema_name(self) -> str | None:
        """Where tables go (None: the connection's default)."""
        return None

    def table_name(self, name: str) -> str:
        return self.qualify(self.schema_name(), name)

    def connect(self) -> AbstractContextManager[Any]:
        """An open connection with a transaction begun; closed (rolled back) on exit."""
        raise self.unavailable()

    def column_type(self, column: ColumnSpec) -> str:
        raise NotImplementedError

    def key_type(self, column: ColumnSpec) -> str:
        """The type of a key column (some databases cannot index unbounded text)."""
        return self.column_type(column)

    # --- introspection hooks

    def existing_columns(self, cursor: Cursor, name: str) -> dict[str, str] | None:
        """Column name → type of a destination table, or None when it does not exist."""
        raise NotImplementedError

    def existing_tables(
        self, cursor: Cursor, names: Sequence[str]
    ) -> dict[str, dict[str, str] | None]:
        """``existing_columns`` of several tables (vendors may answer in one round trip)."""
        return {name: self.existing_columns(cursor, name) for name in names}

    def table_ready(self, cursor: Cursor, table: TableSpec) -> bool:  # noqa: ARG002
        """Whether the table holds every model column and ``_transfer_status`` exists beside
        it, when a vendor can tell more cheaply than ``existing_tables`` (False: ask that)."""
        return False

    def run(self, cursor: Cursor, sql: str) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        cursor.execute(sql)
        return max(cursor.rowcount, 0)

    def ensure_schema(self, cursor: Cursor) -> None:
        schema = self.schema_name()
        if schema:
            self.run(cursor, f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}")

    # --- DDL

    def create_table_sql(self, name: str, table: TableSpec, *, constraint: str) -> str:
        columns = [
            f"{self.quote(c.name)} {self.key_type(c) if c.is_primary_key else self.column_type(c)}"
            + (" NOT NULL" if c.is_primary_key else "")
            for c in table.columns
        ]
        key = ", ".join(self.quote(c.name) for c in table.key)
        columns.append(f"CONSTRAINT {self.quote(constraint)} PRIMARY KEY ({key})")
        return f"CREATE TABLE {self.table_name(name)} ({', '.join(columns)})"

    def add_column_sql(self, name: str, column: ColumnSpec) -> str:
        return (
            f"ALTER TABLE {self.table_name(name)} ADD COLUMN {self.quote(column.name)} "
            f"{self.column_type(column)}"
        )

    def ensure_table(
        self, cursor: Cursor, table: TableSpec, existing: dict[str, str] | None
    ) -> None:
        """Create the typed table, or add the model's new columns to an existing one."""
        for statement in self.table_ddl(table, existing):
            self.run(cursor, statement)

    def table_ddl(self, table: TableSpec, existing: dict[str, str] | None) -> list[str]:
        """The statements of ``ensure_table``."""
        if existing is None:
            create = self.create_table_sql(
                table.name, table, constraint=self.key_constraint(table.name)
            )
            return [create, *self.describe_sql(table.name, table)]
        known = {c.lower() for c in existing}
        return [
            self.add_column_sql(table.name, column)
            for column in table.columns
            if column.name.lower() not in known
        ]

    def key_constraint(self, table_name: str) -> str:
        return self.fit_identifier(f"{table_name}_pkey")

    def fit_identifier(self, name: str) -> str:
        limit = self.capabilities.max_identifier_length
        return name if len(name) <= limit else name[: limit - 9] + "_" + _digest(name)

    def describe(self, cursor: Cursor, name: str, table: TableSpec) -> None:
        """Carry the model's descriptions as table and column comments, where supported."""
        for statement in self.describe_sql(name, table):
            self.run(cursor, statement)

    def describe_sql(self, name: str, table: TableSpec) -> list[str]:  # noqa: ARG002
        """The statements of ``describe`` (none where comments are not supported)."""
        return []

    def ensure_status_table(self, cursor: Cursor, existing: dict[str, str] | None) -> None:
        if existing is None:
            self.run(cursor, self.status_table_sql())

    def status_table_sql(self) -> str:
        return self.create_table_sql(
            STATUS_TABLE, _STATUS, constraint=self.key_constraint(STATUS_TABLE)
        )

    # --- the load

    def stage(
        self, cursor: Cursor, table: TableSpec, batches: Iterator[pa.RecordBatch], staging: str
    ) -> tuple[int, int]:
        """Bulk-load the batches into a new staging table; (rows, bytes)."""
        raise NotImplementedError

    def merge(self, cursor: Cursor, table: TableSpec, staging: str) -> int:
        """Upsert the staging rows into the table by key; the number of rows changed."""
        raise NotImplementedError

    def replace(self, cursor: Cursor, table: TableSpec, staging: str, context: WriteContext) -> int:
        """Build the table anew from staging and swap it in; the number of rows."""
        raise NotImplementedError

    def record_status(self, cursor: Cursor, model_name: str, when: datetime) -> None:
        raise NotImplementedError

    def can_load_direct(self, table: TableSpec) -> bool:  # noqa: ARG002 (vendors look)
        """Whether ``load_direct`` can carry every column of the table."""
        return False

    def load_direct(
        self, cursor: Cursor, table: TableSpec, batches: Iterator[pa.RecordBatch], target: str
    ) -> tuple[int, int]:
        """Bulk-load the batches straight into ``target``, a table created in this
        transaction; (rows, bytes). Raises StageInstead, having written nothing that the
        transaction keeps, when the rows need staging after all (a repeated key)."""
        raise NotImplementedError

    def replace_direct(
        self,
        cursor: Cursor,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        context: WriteContext,
    ) -> tuple[int, int]:
        """Build the table anew straight from the batches and swap it in; (rows, bytes)."""
        raise NotImplementedError

    def staging_name(self, table: TableSpec, context: WriteContext) -> str:
        return self.fit_identifier(
            f"_ferry_stage_{context.transfer_id.replace('-', '')[:12]}_{table.name}"
        )

    def has_table(self, table: TableSpec) -> bool:
        with self.connect() as (_, cursor):
            return self.existing_columns(cursor, table.name) is not None

    def write(
        self,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        *,
        mode: WriteMode,
        context: WriteContext,
        expect_table: bool = False,
    ) -> WriteResult:
        with self.connect() as (connection, cursor):
            # A first load (nothing expected) looks the tables up in full at once.
            if mode is WriteMode.UPSERT and expect_table and self.table_ready(cursor, table):
                # The usual run: everything in place, nothing to create or add.
                present = {c.name: "" for c in table.columns}
                existing: dict[str, dict[str, str] | None] = {
                    table.name: present,
                    STATUS_TABLE: {"data_model_name": "", "transfer_last_updated_at": ""},
                }
            else:
                existing = self.existing_tables(cursor, [table.name, STATUS_TABLE])
            if expect_table and mode is WriteMode.UPSERT and existing[table.name] is None:
                raise TableMissing(table.name)
            if existing[STATUS_TABLE] is None:
                self.ensure_schema(cursor)
                self.ensure_status_table(cursor, None)
            # A table made by this load (or a full refresh's fresh one) needs no staging and
            # no merge when the rows can go in as they are.
            direct = context.direct and self.can_load_direct(table)
            if mode is WriteMode.UPSERT:
                self.ensure_table(cursor, table, existing[table.name])
                if existing[table.name] is not None:
                    # Most runs of a small tenant find nothing new: no staging table then.
                    found = _with_rows(batches)
                    if found is None:
                        self.record_status(
                            cursor, table.model_name or table.name, context.status_time
                        )
                        connection.commit()
                        return WriteResult()
                    batches = found
            if mode is WriteMode.REPLACE and direct:
                rows, size = self.replace_direct(cursor, table, batches, context)
                changed = rows
            elif mode is WriteMode.UPSERT and direct and existing[table.name] is None:
                rows, size = self.load_direct(cursor, table, batches, table.name)
                changed = rows
            else:
                staging = self.staging_name(table, context)
                rows, size = self.stage(cursor, table, batches, staging)
                if mode is WriteMode.REPLACE:
                    changed = self.replace(cursor, table, staging, context)
                else:
                    changed = self.merge(cursor, table, staging)
            self.record_status(cursor, table.model_name or table.name, context.status_time)
            connection.commit()
        return WriteResult(rows=rows, changed=changed, bytes=size)


_STATUS = TableSpec(
    STATUS_TABLE,
    (
        ColumnSpec("data_model_name", "data_model_name", DataType.STRING, is_primary_key=True),
        ColumnSpec("transfer_last_updated_at", "transfer_last_updated_at", DataType.TIMESTAMP),
    ),
)


def _with_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch] | None:
    """The batches from the first with rows on, or None when there is not a single row."""
    for batch in batches:
        if batch.num_rows:
            return itertools.chain([batch], batches)
    return None


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
