"""PostgreSQL and Aurora PostgreSQL destinations.

Rows are bulk-loaded with binary COPY (ADBC ingest) into a temporary staging table (one per
connection and row shape, emptied at every commit), then merged into the typed table with
``INSERT … ON CONFLICT`` in the same transaction as the ``_transfer_status`` row: readers see
all of a model's changes or none. A table the load itself creates (the first load, a full
refresh's new table) takes the rows straight from COPY, with no staging and no merge; if the
source repeats a primary key there, the transaction is rolled back and the model is loaded
again through staging, which keeps the newest row of each key. DDL is transactional here, so a
full refresh builds the new table and swaps it in inside that same transaction.

Type mapping: string → text, bytes → bytea, boolean → boolean, integer → integer,
bigint → bigint, decimal → numeric(p, s) when the source declares a precision, else numeric
(exact, any precision), float → double precision, date → date, timestamp → timestamptz,
json → jsonb.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, cast

import adbc_driver_manager
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ferry.connectors import postgres
from ferry.connectors.base import (
    Capabilities,
    GroupResult,
    GroupTarget,
    StageInstead,
    WriteContext,
    WriteResult,
)
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.postgres import PostgresConnection
from ferry.connectors.sql import STATUS_TABLE, Cursor, Feed, SqlDestination
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.fields import Short
from ferry.modelconfig import DataType

TYPES = {
    DataType.STRING: "text",
    DataType.BYTES: "bytea",
    DataType.BOOLEAN: "boolean",
    DataType.INTEGER: "integer",
    DataType.BIGINT: "bigint",
    DataType.FLOAT: "double precision",
    DataType.DATE: "date",
    DataType.TIMESTAMP: "timestamp with time zone",
    DataType.JSON: "jsonb",
}


class PostgresDestinationConfig(PostgresConnection):
    """A PostgreSQL schema to write to."""

    schema_: Short = Field(alias="schema")
    use_ssh_tunnel: bool


class PostgresFamilyDestination(SqlDestination):
    """A PostgreSQL-compatible destination."""

    config_model = PostgresDestinationConfig
    target_fields = ("host", "port", "database", "schema")
    available = True
    capabilities = Capabilities(
        transactional_ddl=True, native_upsert=True, max_identifier_length=63, bulk_load="copy"
    )
    # Recipients' schemas on one server, written with one login, can share a pass.
    writes_groups = True
    place_fields = ("schema",)

    def schema_name(self) -> str:
        return self._schema

    @functools.cached_property
    def _schema(self) -> str:
        # Every statement names the schema; the config does not change under a connector.
        return str(self.config.public_view()["schema"])

    def connect(self) -> AbstractContextManager[tuple[Any, Any]]:
        # Only PostgreSQL's own types are written or asked for.
        return postgres.connect(self.config, types="builtin", context=self.context)

    def column_type(self, column: ColumnSpec) -> str:
        if column.data_type is DataType.DECIMAL:
            if column.precision:
                return f"numeric({column.precision},{column.scale or 0})"
            return "numeric"
        return TYPES[column.data_type]

    def check(self) -> None:
        """Connect, then prove the user can create the schema and a table in it (rolled back)."""
        with self.connect() as (_, cursor):
            self.ensure_schema(cursor)
            probe = self.table_name("_ferry_connection_check")
            self.run(cursor, f"CREATE TABLE {probe} (id integer)")
            self.run(cursor, f"DROP TABLE {probe}")

    def ensure_schema(self, cursor: Cursor) -> None:
        # CREATE SCHEMA IF NOT EXISTS asks for CREATE on the database even when the schema is
        # there: a recipient who made the schema and granted Ferry rights on it alone would be
        # refused. Look first (the row count answers), create only what is missing.
        schema = self.literal(self.quote(self.schema_name()))
        if not postgres.run(cursor, f"SELECT 1 WHERE to_regnamespace({schema}) IS NOT NULL"):
            super().ensure_schema(cursor)

    def existing_columns(self, cursor: Cursor, name: str) -> dict[str, str] | None:
        return self.existing_tables(cursor, [name])[name]

    def existing_tables(
        self, cursor: Cursor, names: Sequence[str]
    ) -> dict[str, dict[str, str] | None]:
        # pg_catalog, not information_schema: the views cost milliseconds per lookup.
        wanted = ", ".join(self.literal(n) for n in names)
        listed = postgres.rows(
            cursor,
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod) "
            "FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
            f"WHERE c.relnamespace = to_regnamespace({self.literal(self.quote(self.schema_name()))}) "
            f"AND c.relname IN ({wanted}) "
            "AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
        )
        found: dict[str, dict[str, str] | None] = dict.fromkeys(names)
        for table, column, kind in listed:
            columns = found.get(table) or {}
            columns[str(column)] = str(kind)
            found[str(table)] = columns
        return found

    def table_ready(self, cursor: Cursor, table: TableSpec) -> bool:
        # One round trip answered by its row count (1: ready), no result set to decode. The
        # tables are looked up by name (to_regclass): a join on the schema name would visit
        # every schema's table of that name, and a server holds one schema per recipient.
        names = ", ".join(self.literal(c.name) for c in table.columns)
        target = self.literal(self.table_name(table.name))
        status = self.literal(self.table_name(STATUS_TABLE))
        return (
            self.run(
                cursor,
                "SELECT 1 FROM pg_catalog.pg_class c "
                f"WHERE c.oid = to_regclass({target}) AND c.relkind IN ('r', 'p') "
                "AND (SELECT count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid "
                f"AND a.attnum > 0 AND NOT a.attisdropped AND a.attname IN ({names})) "
                f"= {len(table.columns)} AND EXISTS (SELECT 1 FROM pg_catalog.pg_class s "
                f"WHERE s.oid = to_regclass({status}) AND s.relkind IN ('r', 'p'))",
            )
            == 1
        )

    def run(self, cursor: Cursor, sql: str) -> int:
        return postgres.run(cursor, sql)

    def describe_sql(self, name: str, table: TableSpec) -> list[str]:
        statements = []
        if table.description:
            statements.append(
                f"COMMENT ON TABLE {self.table_name(name)} IS {self.literal(table.description)}"
            )
        statements.extend(
            f"COMMENT ON COLUMN {self.table_name(name)}."
            f"{self.quote(column.name)} IS {self.literal(column.description)}"
            for column in table.columns
            if column.description
        )
        return statements

    def staging_name(self, table: TableSpec, context: WriteContext) -> str:  # noqa: ARG002
        # One staging table per connection and row shape, emptied at every commit and
        # reused: no catalog rows created and deleted on every load.
        return f"_ferry_stage_{_shape(table)}"

    def stage(
        self, cursor: Any, table: TableSpec, batches: Iterator[pa.RecordBatch], staging: str
    ) -> tuple[int, int]:
        columns = ", ".join(
            f"{self.quote(c.name)} {_STAGING_TYPES[c.arrow_type]}" for c in table.columns
        )
        self.run(
            cursor,
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.quote(staging)} ({columns}) "
            "ON COMMIT DELETE ROWS",
        )
        return _ingest_temporary(cursor, staging, table.arrow_schema(), batches)

    def _deduplicated(self, table: TableSpec, staging: str, member: int | None = None) -> str:
        """Staging rows (of one member of a grouped write, if given), one per key (the
        newest), cast to the table's types. ON CONFLICT cannot update one row twice, and a
        source's declared key may repeat."""
        q = self.quote
        keys = ", ".join(q(c.name) for c in table.key)
        casts = ", ".join(f"{q(c.name)}::{self.column_type(c)}" for c in table.columns)
        newest = q(table.last_modified.name)
        where = "" if member is None else f"WHERE {q(_MEMBER)} = {member} "
        return (
            f"SELECT DISTINCT ON ({keys}) {casts} FROM {q(staging)} {where}"
            f"ORDER BY {keys}, {newest} DESC NULLS LAST"
        )

    def merge(
        self, cursor: Cursor, table: TableSpec, staging: str, member: int | None = None
    ) -> int:
        q = self.quote
        columns = ", ".join(q(c.name) for c in table.columns)
        keys = ", ".join(q(c.name) for c in table.key)
        values = [c for c in table.columns if not c.is_primary_key]
        if values:
            sets = ", ".join(f"{q(c.name)} = EXCLUDED.{q(c.name)}" for c in values)
            old = ", ".join(f"target.{q(c.name)}" for c in values)
            new = ", ".join(f"EXCLUDED.{q(c.name)}" for c in values)
            # Only rows that really change are rewritten and counted.
            action = f"DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"
            if len(values) == 1:
                action = (
                    f"DO UPDATE SET {sets} WHERE target.{q(values[0].name)} IS DISTINCT "
                    f"FROM EXCLUDED.{q(values[0].name)}"
                )
        else:
            action = "DO NOTHING"
        return self.run(
            cursor,
            f"INSERT INTO {self.table_name(table.name)} AS target ({columns}) "
            f"{self._deduplicated(table, staging, member)} ON CONFLICT ({keys}) {action}",
        )

    def can_load_direct(self, table: TableSpec) -> bool:
        # Binary COPY carries every transport type as the column's own type once decimal text
        # is an Arrow decimal (exact up to 38 digits) and JSON text is in jsonb's binary form.
        return all(
            c.data_type is not DataType.DECIMAL or 0 < (c.precision or 0) <= 38
            for c in table.columns
        )

    def load_direct(
        self, cursor: Any, table: TableSpec, batches: Iterator[pa.RecordBatch], target: str
    ) -> tuple[int, int]:
        schema = pa.schema([pa.field(c.name, _direct_type(c)) for c in table.columns])
        feed = Feed(_cast(batches, schema))
        reader = pa.RecordBatchReader.from_batches(schema, iter(feed))
        try:
            try:
                rows = cursor.adbc_ingest(
                    target, reader, mode="append", db_schema_name=self.schema_name()
                )
            except adbc_driver_manager.Error:
                feed.reraise()
                raise
        except (adbc_driver_manager.Error, pa.ArrowInvalid) as exc:
            # The caller's transaction is rolled back: nothing of this load remains.
            if isinstance(exc, pa.ArrowInvalid) or getattr(exc, "sqlstate", None) == "23505":
                raise StageInstead(str(exc)) from None
            raise
        return int(rows), feed.bytes

    def replace_direct(
        self,
        cursor: Any,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        context: WriteContext,
    ) -> tuple[int, int]:
        fresh, constraint = self._fresh(cursor, table, context)
        rows, size = self.load_direct(cursor, table, batches, fresh)
        self._swap(cursor, table, fresh, constraint)
        return rows, size

    def _fresh(self, cursor: Cursor, table: TableSpec, context: WriteContext) -> tuple[str, str]:
        """A new, empty table for a full refresh, out of sight; (its name, its key's name)."""
        suffix = context.transfer_id.replace("-", "")[:12]
        fresh = self.fit_identifier(f"_ferry_new_{suffix}_{table.name}")
        constraint = self.fit_identifier(f"_ferry_{suffix}_pkey")
        self.run(cursor, self.create_table_sql(fresh, table, constraint=constraint))
        return fresh, constraint

    def replace(self, cursor: Cursor, table: TableSpec, staging: str, context: WriteContext) -> int:
        fresh, constraint = self._fresh(cursor, table, context)
        columns = ", ".join(self.quote(c.name) for c in table.columns)
        rows = self.run(
            cursor,
            f"INSERT INTO {self.table_name(fresh)} ({columns}) {self._deduplicated(table, staging)}",
        )
        self._swap(cursor, table, fresh, constraint)
        return rows

    def _swap(self, cursor: Cursor, table: TableSpec, fresh: str, constraint: str) -> None:
        """Put the fresh table in the old one's place (readers see the change at commit)."""
        self.run(cursor, f"DROP TABLE IF EXISTS {self.table_name(table.name)}")
        self.run(cursor, f"ALTER TABLE {self.table_name(fresh)} RENAME TO {self.quote(table.name)}")
        self.run(
            cursor,
            f"ALTER TABLE {self.table_name(table.name)} RENAME CONSTRAINT "
            f"{self.quote(constraint)} TO {self.quote(self.key_constraint(table.name))}",
        )
        self.describe(cursor, table.name, table)

    def write_group(
        self,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        *,
        targets: Sequence[GroupTarget],
        context: WriteContext,
    ) -> GroupResult:
        """Whatever is missing of every target's schema, tables and columns made in one go,
        the rows of all of them bulk-loaded into one staging table (with the member each row
        is for), then each target's merge and ``_transfer_status`` row, in one transaction."""
        members = [cast("PostgresFamilyDestination", t.destination) for t in targets]
        outcome = GroupResult()
        with self.connect() as (connection, cursor):
            found = self._catalog(cursor, [m.schema_name() for m in members], table.name)
            ddl: list[str] = []
            live: dict[str, int] = {}
            for index, (target, member) in enumerate(zip(targets, members, strict=True)):
                schema = member.schema_name()
                status, columns = found.get(schema, (None, None))
                if target.expect_table and columns is None:
                    outcome.missing.add(target.tenant)
                    continue
                if schema not in found:
                    ddl.append(f"CREATE SCHEMA {member.quote(schema)}")
                if status is None:
                    ddl.append(member.status_table_sql())
                ddl.extend(member.table_ddl(table, columns))
                live[target.tenant] = index
            # Many small statements, a few round trips: the simple protocol takes a script.
            for start in range(0, len(ddl), _SCRIPT_STATEMENTS):
                self.run(cursor, ";\n".join(ddl[start : start + _SCRIPT_STATEMENTS]))
            staging = self._group_staging(cursor, table)
            counts, sizes = self._stage_members(cursor, table, batches, staging, live)
            name = table.model_name or table.name
            for tenant, index in live.items():
                member, rows = members[index], counts.get(index, 0)
                changed = member.merge(cursor, table, staging, member=index) if rows else 0
                member.record_status(cursor, name, context.status_time)
                outcome.results[tenant] = WriteResult(
                    rows=rows, changed=changed, bytes=sizes.get(index, 0)
                )
            connection.commit()
        return outcome

    def _catalog(
        self, cursor: Cursor, schemas: Sequence[str], name: str
    ) -> dict[str, tuple[dict[str, str] | None, dict[str, str] | None]]:
        """For each existing schema of ``schemas``: (``_transfer_status``'s columns, table
        ``name``'s columns), None for a table that is not there; one round trip."""
        listed = postgres.rows(
            cursor,
            "SELECT n.nspname::text, c.relname::text, a.attname::text, "
            "format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_namespace n "
            "LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid "
            f"AND c.relname IN ({self.literal(name)}, {self.literal(STATUS_TABLE)}) "
            "AND c.relkind IN ('r', 'p') "
            "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
            "AND a.attnum > 0 AND NOT a.attisdropped "
            f"WHERE n.nspname IN ({', '.join(self.literal(s) for s in schemas)})",
        )
        found: dict[str, tuple[dict[str, str] | None, dict[str, str] | None]] = {}
        for schema, relation, column, kind in listed:
            status, columns = found.get(schema, (None, None))
            if relation == STATUS_TABLE:
                status = {**(status or {}), str(column): str(kind)}
            elif relation is not None:
                columns = {**(columns or {}), str(column): str(kind)}
            found[schema] = (status, columns)
        return found

    def _group_staging(self, cursor: Cursor, table: TableSpec) -> str:
        """The connection's staging table for grouped writes of this row shape, with the
        member each row is for (indexed: each member's merge reads its own rows)."""
        staging = f"_ferry_group_{_shape(table)}"
        columns = ", ".join(
            [f"{self.quote(_MEMBER)} integer"]
            + [f"{self.quote(c.name)} {_STAGING_TYPES[c.arrow_type]}" for c in table.columns]
        )
        self.run(
            cursor,
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.quote(staging)} ({columns}) "
            f"ON COMMIT DELETE ROWS;\nCREATE INDEX IF NOT EXISTS {self.quote(staging + '_m')} "
            f"ON {self.quote(staging)} ({self.quote(_MEMBER)})",
        )
        return staging

    def _stage_members(
        self,
        cursor: Any,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        staging: str,
        live: dict[str, int],
    ) -> tuple[dict[int, int], dict[int, int]]:
        """Bulk-load the rows of the live tenants, each tagged with its member's index;
        (rows, bytes) by member."""
        counts: dict[int, int] = {}
        sizes: dict[int, int] = {}
        schema = pa.schema([pa.field(_MEMBER, pa.int32()), *table.arrow_schema()])
        tenants = pa.array(list(live), pa.string())
        indexes = pa.array(list(live.values()), pa.int32())

        def tagged() -> Iterator[pa.RecordBatch]:
            for batch in batches:
                position = pc.index_in(
                    batch.column(batch.num_columns - 1).cast(pa.string()), tenants
                )
                member = pc.take(indexes, position)
                kept = pa.RecordBatch.from_arrays(
                    [member, *batch.columns[:-1]], schema=schema
                ).filter(pc.is_valid(member))
                if not kept.num_rows:
                    continue
                share = kept.nbytes / kept.num_rows
                found = pc.value_counts(kept.column(0))
                values = found.field("values").to_pylist()
                for index, count in zip(values, found.field("counts").to_pylist(), strict=True):
                    member_index, rows = int(index or 0), int(count or 0)
                    counts[member_index] = counts.get(member_index, 0) + rows
                    sizes[member_index] = sizes.get(member_index, 0) + int(share * rows)
                yield kept

        _ingest_temporary(cursor, staging, schema, tagged())
        return counts, sizes

    def record_status(self, cursor: Cursor, model_name: str, when: datetime) -> None:
        self.run(
            cursor,
            f"INSERT INTO {self.table_name(STATUS_TABLE)} "
            "(data_model_name, transfer_last_updated_at) "
            f"VALUES ({self.literal(model_name)}, {self.literal(when)}::timestamptz) "
            "ON CONFLICT (data_model_name) DO UPDATE "
            "SET transfer_last_updated_at = EXCLUDED.transfer_last_updated_at",
        )


# The column of a grouped write's staging table naming the member a row is for, and how many
# DDL statements go in one script.
_MEMBER = "_ferry_member"
_SCRIPT_STATEMENTS = 200

# The staging table holds rows in their transport types (types.py); the merge casts them.
_STAGING_TYPES = {
    pa.string(): "text",
    pa.binary(): "bytea",
    pa.bool_(): "boolean",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.float64(): "double precision",
    pa.date32(): "date",
    pa.timestamp("us", tz="UTC"): "timestamp with time zone",
}


def _shape(table: TableSpec) -> str:
    """A digest of the staging row shape (names and transport types) of a table."""
    shape = ",".join(f"{c.name}:{_STAGING_TYPES[c.arrow_type]}" for c in table.columns)
    return hashlib.sha1(shape.encode(), usedforsecurity=False).hexdigest()


def _ingest_temporary(
    cursor: Any, staging: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
) -> tuple[int, int]:
    """Bulk-load the batches into the connection's temporary table ``staging``; (rows,
    bytes). An error the batches raised comes out as itself, not as the driver's."""
    feed = Feed(batches)
    reader = pa.RecordBatchReader.from_batches(schema, iter(feed))
    try:
        rows = cursor.adbc_ingest(staging, reader, mode="append", temporary=True)
    except adbc_driver_manager.Error:
        feed.reraise()
        raise
    return int(rows), feed.bytes


def _direct_type(column: ColumnSpec) -> pa.DataType:
    if column.data_type is DataType.DECIMAL:
        return pa.decimal128(column.precision or 38, column.scale or 0)
    if column.data_type is DataType.JSON:
        return pa.binary()
    return column.arrow_type


_JSONB_VERSION = pa.scalar(b"\x01", pa.binary())
_NOTHING = pa.scalar(b"", pa.binary())


def _cast(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Transport batches in the direct load's types: decimal text as Arrow decimals (exact; a
    value that would not fit raises ArrowInvalid rather than change) and JSON text behind
    jsonb's binary version byte (the server still parses and checks it)."""
    for batch in batches:
        columns = []
        for column, field in zip(batch.columns, schema, strict=True):
            if column.type == field.type:
                columns.append(column)
            elif field.type == pa.binary():
                # Scalars broadcast at run time; the stubs know arrays only.
                joined = pc.binary_join_element_wise(  # type: ignore[call-overload]
                    _JSONB_VERSION, column.cast(pa.binary()), _NOTHING
                )
                columns.append(joined)
            else:
                columns.append(column.cast(field.type))
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


@register_destination
class PostgresDestination(PostgresFamilyDestination):
    """PostgreSQL."""

    vendor = "postgres"
    display_name = "PostgreSQL"


@register_destination
class AuroraPostgresDestination(PostgresFamilyDestination):
    """Amazon Aurora PostgreSQL."""

    vendor = "aurora_postgres"
    display_name = "Aurora PostgreSQL"
