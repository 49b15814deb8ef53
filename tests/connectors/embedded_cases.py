"""Conformance cases for the embedded databases (SQLite, DuckDB, MotherDuck on a local file):
each makes a connector on a fresh file under the test's tmp_path.

The case modules import these factories at their end, so this module imports them only inside
the factories (importing either side first then works).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from ferry.connectors import registry
from ferry.connectors.duckdb import CONFIG as DUCKDB_CONFIG

if TYPE_CHECKING:
    from tests.connectors.destination_cases import DestinationCase
    from tests.connectors.source_cases import SourceCase


# --- destinations ------------------------------------------------------------------------------


def _sqlite_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# SQLite keeps decimals, dates and timestamps as text (see the destination's type mapping);
# a reader who knows the model decodes them. These are the conformance tables' columns.
_SQLITE_TEXT_COLUMNS: dict[str, Callable[[str], Any]] = {
    "amount": Decimal,
    "number": Decimal,
    "free_number": Decimal,
    "day": date.fromisoformat,
    "updated_at": _sqlite_timestamp,
    "transfer_last_updated_at": _sqlite_timestamp,
}


@contextmanager
def sqlite_destination_case(tmp_path: Path) -> Iterator[DestinationCase]:
    from tests.connectors.destination_cases import DestinationCase, normalize

    path = tmp_path / "destination.sqlite"
    cls = registry.destination_class("sqlite")
    connector = cls(cls.config_model.model_validate({"path": str(path)}))

    def query(sql: str) -> list[sqlite3.Row]:
        with closing(sqlite3.connect(path)) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute(sql).fetchall()

    def decode(name: str, value: Any) -> Any:
        if isinstance(value, str) and name in _SQLITE_TEXT_COLUMNS:
            return _SQLITE_TEXT_COLUMNS[name](value)
        return normalize(value)

    def rows(table: str) -> list[dict[str, Any]]:
        return [
            {k: decode(k, row[k]) for k in row.keys()}  # noqa: SIM118 (sqlite3.Row)
            for row in query(f'SELECT * FROM "{table}"')
        ]

    def status() -> dict[str, datetime]:
        found = query("SELECT data_model_name, transfer_last_updated_at FROM _transfer_status")
        return {r[0]: _sqlite_timestamp(r[1]) for r in found}

    def column_types(table: str) -> dict[str, str]:
        return {r[0]: r[1] for r in query(f"SELECT name, type FROM pragma_table_info('{table}')")}

    yield DestinationCase("sqlite", connector, rows, status, column_types)


def _duckdb_destination(
    vendor: str, tmp_path: Path, config: Callable[[Path, str], dict[str, Any]]
) -> Iterator[DestinationCase]:
    from tests.connectors.destination_cases import DestinationCase, normalize

    path = tmp_path / "destination.duckdb"
    schema = "tenant_out"
    cls = registry.destination_class(vendor)
    connector = cls(cls.config_model.model_validate(config(path, schema)))

    def query(sql: str) -> list[dict[str, Any]]:
        # Through Arrow: DuckDB's own Python conversion of TIMESTAMPTZ needs pytz.
        with duckdb.connect(str(path), read_only=True, config=dict(DUCKDB_CONFIG)) as connection:
            table: pa.Table = connection.sql(sql).to_arrow_table()
            return table.to_pylist()

    def rows(table: str) -> list[dict[str, Any]]:
        return [
            {k: normalize(v) for k, v in row.items()}
            for row in query(f'SELECT * FROM "{schema}"."{table}"')
        ]

    def status() -> dict[str, datetime]:
        found = query(
            f'SELECT data_model_name, transfer_last_updated_at FROM "{schema}"._transfer_status'
        )
        return {r["data_model_name"]: normalize(r["transfer_last_updated_at"]) for r in found}

    def column_types(table: str) -> dict[str, str]:
        found = query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{table}'"
        )
        return {r["column_name"]: r["data_type"] for r in found}

    yield DestinationCase(vendor, connector, rows, status, column_types)


@contextmanager
def duckdb_destination_case(tmp_path: Path) -> Iterator[DestinationCase]:
    yield from _duckdb_destination(
        "duckdb", tmp_path, lambda path, schema: {"path": str(path), "schema": schema}
    )


@contextmanager
def motherduck_destination_case(tmp_path: Path) -> Iterator[DestinationCase]:
    yield from _duckdb_destination(
        "motherduck", tmp_path, lambda path, schema: {"database": str(path), "schema": schema}
    )


# --- sources -----------------------------------------------------------------------------------


@contextmanager
def sqlite_source_case(tmp_path: Path) -> Iterator[SourceCase]:
    from tests.connectors.source_cases import SourceCase, create_sql

    path = tmp_path / "source.sqlite"

    def execute(sql: str) -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute(sql)

    @contextmanager
    def open_transaction() -> Iterator[None]:
        # A write transaction: SQLite's only kind that others could have to wait for.
        with closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE orders SET note = note WHERE id = 1")
            yield
            connection.rollback()

    # SQLite keeps timestamps as ISO 8601 text and has no typed literals.
    for statement in create_sql("TEXT", "DECIMAL(12, 2)"):
        execute(statement.replace("TIMESTAMP '", "'"))
    cls = registry.source_class("sqlite")
    connector = cls(cls.config_model.model_validate({"path": str(path)}))
    yield SourceCase("sqlite", connector, execute, open_transaction, "TEXT")


def _duckdb_source(
    vendor: str, tmp_path: Path, config: Callable[[Path], dict[str, Any]]
) -> Iterator[SourceCase]:
    from tests.connectors.source_cases import SourceCase, create_sql

    path = tmp_path / "source.duckdb"

    @contextmanager
    def session() -> Iterator[duckdb.DuckDBPyConnection]:
        with duckdb.connect(str(path), config=dict(DUCKDB_CONFIG)) as connection:
            # The fixture's naive TIMESTAMP literals are UTC.
            connection.execute("SET TimeZone = 'UTC'")
            yield connection

    def execute(sql: str) -> None:
        with session() as connection:
            connection.execute(sql)

    @contextmanager
    def open_transaction() -> Iterator[None]:
        with session() as connection:
            connection.execute("BEGIN TRANSACTION")
            connection.execute("UPDATE orders SET note = note WHERE id = 1")
            yield
            connection.rollback()

    for statement in create_sql("TIMESTAMPTZ", "DECIMAL(12, 2)"):
        execute(statement)
    cls = registry.source_class(vendor)
    connector = cls(cls.config_model.model_validate(config(path)))
    yield SourceCase(vendor, connector, execute, open_transaction, "TIMESTAMP WITH TIME ZONE")


@contextmanager
def duckdb_source_case(tmp_path: Path) -> Iterator[SourceCase]:
    yield from _duckdb_source("duckdb", tmp_path, lambda path: {"path": str(path)})


@contextmanager
def motherduck_source_case(tmp_path: Path) -> Iterator[SourceCase]:
    yield from _duckdb_source(
        "motherduck", tmp_path, lambda path: {"database": str(path), "schema": "main"}
    )
