"""What the embedded databases do beyond the conformance suites: MotherDuck on a local file
(and not in the cloud), file errors, SQLite's free-form values, and the two meeting."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from ferry.connectors import registry
from ferry.connectors.base import (
    Connector,
    DestinationConnector,
    ReadRequest,
    SourceConnector,
    Window,
    WriteContext,
    WriteMode,
)
from ferry.connectors.duckdb import CONFIG as DUCKDB_CONFIG
from ferry.connectors.types import ColumnSpec, TableSpec, conform
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig

T0 = datetime(2024, 1, 1, tzinfo=UTC)

TABLE = TableSpec(
    "orders",
    (
        ColumnSpec("id", "id", DataType.BIGINT, is_primary_key=True),
        ColumnSpec("org_id", "org_id", DataType.STRING),
        ColumnSpec("amount", "amount", DataType.DECIMAL, precision=12, scale=2),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="orders",
)


def destination(vendor: str, config: dict[str, Any]) -> DestinationConnector:
    cls = registry.destination_class(vendor)
    return cls(cls.config_model.model_validate(config))


def source(vendor: str, config: dict[str, Any]) -> SourceConnector:
    cls = registry.source_class(vendor)
    return cls(cls.config_model.model_validate(config))


def context(tag: str = "a") -> WriteContext:
    return WriteContext(transfer_id=f"{tag}-0000-1111", model_id="model", status_time=T0)


def batches(table: TableSpec, rows: list[dict[str, Any]]) -> Iterator[pa.RecordBatch]:
    yield pa.RecordBatch.from_pylist(rows, schema=table.arrow_schema())


def model(columns: list[tuple[str, str]], **overrides: Any) -> ModelConfig:
    """A model of the orders table: id (key), updated_at (last modified) and ``columns``."""
    config: dict[str, Any] = {
        "model_name": "orders",
        "source_table": "orders",
        "organization_column": "org_id",
        "columns": [
            {
                "name_in_source": "id",
                "name_in_destination": "id",
                "data_type": "bigint",
                "is_primary_key": True,
            },
            *({"name_in_source": n, "name_in_destination": n, "data_type": t} for n, t in columns),
            {
                "name_in_source": "updated_at",
                "name_in_destination": "updated_at",
                "data_type": "timestamp",
                "is_last_modified": True,
            },
        ],
    }
    return ModelConfig.model_validate(config | overrides)


def read(
    connector: SourceConnector, config: ModelConfig, tenant: str, window: Window = Window()
) -> list[dict[str, Any]]:
    table = TableSpec.from_model(config)
    request = ReadRequest(model=config, table=table, tenant=tenant, window=window, batch_rows=2)
    found = [conform(b, table) for b in connector.read(request)]
    return pa.Table.from_batches(found, schema=table.arrow_schema()).to_pylist()


def orders(count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "org_id": "acme", "amount": f"{i}.50", "updated_at": T0 + timedelta(seconds=i)}
        for i in range(1, count + 1)
    ]


# --- MotherDuck: the cloud is unavailable, a local file works ---------------------------------


def test_a_motherduck_service_database_is_not_available_in_this_build(tmp_path: Path) -> None:
    cloud = {"database": "md:analytics", "schema": "main"}
    writer = destination("motherduck", cloud)
    reader = source("motherduck", cloud)
    attempts: list[Callable[[], object]] = [
        writer.check,
        lambda: writer.has_table(TABLE),
        lambda: writer.write(
            TABLE, batches(TABLE, orders(1)), mode=WriteMode.UPSERT, context=context()
        ),
        reader.check,
        lambda: reader.columns(model([("org_id", "string")])),
        lambda: read(reader, model([("org_id", "string")]), "acme"),
    ]
    for attempt in attempts:
        with pytest.raises(ConnectorError) as raised:
            attempt()
        assert raised.value.error_code == "PRQL-UNAVAILABLE"
        assert raised.value.title == "Connector not available in this build"
        assert "not available in this build" in raised.value.message
        assert "md:analytics" in raised.value.message


def test_motherduck_on_a_local_file_writes_and_reads_in_the_configured_schema(
    tmp_path: Path,
) -> None:
    local = {"database": str(tmp_path / "shared.duckdb"), "schema": "analytics"}
    writer = destination("motherduck", local)
    writer.check()
    result = writer.write(
        TABLE, batches(TABLE, orders(5)), mode=WriteMode.UPSERT, context=context()
    )
    assert (result.rows, result.changed) == (5, 5)
    assert writer.has_table(TABLE)

    # Unqualified source tables are looked up in the configured schema.
    reader = source("motherduck", local)
    reader.check()
    config = model([("org_id", "string"), ("amount", "decimal")])
    reader.validate_model(config)
    assert (reader.columns(config)["amount"].precision, reader.columns(config)["amount"].scale) == (
        12,
        2,
    )
    rows = read(reader, config, "acme", Window(since=T0 + timedelta(seconds=4)))
    assert [(r["id"], r["amount"]) for r in rows] == [(4, "4.50"), (5, "5.50")]
    # The same file is a plain DuckDB database to the duckdb vendor.
    plain = source("duckdb", {"path": local["database"]})
    assert len(read(plain, model([], source_table="analytics.orders"), "acme")) == 5


# --- files that are missing or not databases ---------------------------------------------------


DESTINATIONS = {
    "sqlite": lambda path: {"path": str(path)},
    "duckdb": lambda path: {"path": str(path), "schema": "main"},
    "motherduck": lambda path: {"database": str(path), "schema": "main"},
}
SOURCES = {
    "sqlite": lambda path: {"path": str(path)},
    "duckdb": lambda path: {"path": str(path)},
    "motherduck": lambda path: {"database": str(path)},
}
KIND = {"sqlite": "SQLite", "duckdb": "DuckDB", "motherduck": "DuckDB"}


@pytest.mark.parametrize("vendor", sorted(DESTINATIONS))
def test_a_destination_in_a_missing_directory_is_refused(vendor: str, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    connector = destination(vendor, DESTINATIONS[vendor](missing / "out.db"))
    with pytest.raises(ConnectorError) as raised:
        connector.check()
    assert raised.value.error_code == "PRQL-PATH"
    assert f"directory {missing} does not exist" in raised.value.message
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("vendor", sorted(SOURCES))
def test_a_missing_source_file_is_refused_and_not_created(vendor: str, tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    connector = source(vendor, SOURCES[vendor](path))
    for attempt in (connector.check, lambda: connector.columns(model([]))):
        with pytest.raises(ConnectorError) as raised:
            attempt()
        assert f"there is no {KIND[vendor]} database at {path}" in raised.value.message
    assert not path.exists()


def _text_file(path: Path) -> Path:
    path.write_text("id,name\n1,not a database\n" * 200)
    return path


def _sqlite_file(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
    return path


# Files of other kinds for each vendor: text, and for the DuckDB vendors a SQLite database.
NOT_DATABASES = [
    pytest.param(vendor, make, id=f"{vendor}-{make.__name__.strip('_')}")
    for vendor in sorted(DESTINATIONS)
    for make in (_text_file, _sqlite_file)
    if not (vendor == "sqlite" and make is _sqlite_file)
]


@pytest.mark.parametrize(("vendor", "make"), NOT_DATABASES)
def test_a_file_that_is_not_a_database_is_refused_clearly(
    vendor: str, make: Any, tmp_path: Path
) -> None:
    path = make(tmp_path / "data.db")
    before = path.read_bytes()
    expected = f"{path} is not a {KIND[vendor]} database"
    for connector in (
        destination(vendor, DESTINATIONS[vendor](path)),
        source(vendor, SOURCES[vendor](path)),
    ):
        with pytest.raises(ConnectorError) as raised:
            connector.check()
        assert raised.value.message == expected
        assert raised.value.error_code == "PRQL-DATABASE"
    assert path.read_bytes() == before


def test_a_duckdb_file_held_by_another_process_is_busy_and_retryable(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConnectorError) as raised:
            destination("duckdb", DESTINATIONS["duckdb"](path)).write(
                TABLE, batches(TABLE, orders(1)), mode=WriteMode.UPSERT, context=context()
            )
        assert raised.value.is_retryable
        assert raised.value.error_code == "PRQL-TRANSIENT"
    finally:
        holder.communicate("")
    assert holder.returncode == 0


# --- SQLite: what a file may hold --------------------------------------------------------------


def _sqlite_source(tmp_path: Path, *statements: str, name: str = "app") -> SourceConnector:
    path = tmp_path / f"{name}.sqlite"
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        for statement in statements:
            connection.execute(statement)
    return source("sqlite", {"path": str(path)})


def test_sqlite_text_timestamps_in_any_iso_format_are_read_and_windowed_in_utc(
    tmp_path: Path,
) -> None:
    connector = _sqlite_source(
        tmp_path,
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, org_id TEXT, updated_at DATETIME)",
        "INSERT INTO orders VALUES "
        "(1, 'acme', '2024-01-01T00:00:05Z'), "
        # 01:00:10 at +01:00 is 00:00:10 UTC: first by time, though last by text.
        "(2, 'acme', '2024-01-01 01:00:10+01:00'), "
        "(3, 'acme', '2024-01-01 00:00:20.5'), "
        "(4, 'acme', '2024-01-01T00:00:30.123456+00:00'), "
        "(5, 'acme', NULL)",
    )
    config = model([])
    assert connector.columns(config)["updated_at"].type_name == "DATETIME"
    rows = read(connector, config, "acme")
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["updated_at"] for r in rows] == [
        T0 + timedelta(seconds=5),
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=20.5),
        T0 + timedelta(seconds=30, microseconds=123456),
        None,
    ]
    window = Window(since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=30))
    assert [r["id"] for r in read(connector, config, "acme", window)] == [2, 3, 5]
    no_nulls = Window(since=T0 + timedelta(seconds=10), include_null=False)
    assert [r["id"] for r in read(connector, config, "acme", no_nulls)] == [2, 3, 4]


@pytest.mark.parametrize("bad", ["last tuesday", "1704067200", "12:00:00", 1704067200])
def test_a_sqlite_timestamp_that_is_not_one_is_refused_whatever_the_window(
    bad: object, tmp_path: Path
) -> None:
    connector = _sqlite_source(
        tmp_path,
        # No declared type: SQLite keeps each value as given (a TEXT column would turn the
        # integer into text).
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, org_id TEXT, updated_at)",
        f"INSERT INTO orders VALUES (1, 'acme', '2024-01-01 00:00:05'), (2, 'acme', {bad!r})",
    )
    # Never silently outside the window: it is read, and refused with the column named.
    with pytest.raises(ConnectorError) as raised:
        read(connector, model([]), "acme", Window(since=T0 + timedelta(days=1)))
    assert raised.value.error_code == "PRQL-TYPE"
    assert f"column 'updated_at': the value {bad!r} cannot be read as timestamp" == (
        raised.value.message
    )


def test_a_sqlite_value_that_does_not_fit_fails_naming_the_column(tmp_path: Path) -> None:
    connector = _sqlite_source(
        tmp_path,
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, org_id TEXT, flag INTEGER, "
        "small INTEGER, updated_at TEXT)",
        "INSERT INTO orders VALUES (1, 'acme', 2, 1, '2024-01-01 00:00:05'), "
        "(2, 'acme', 1, 3000000000, '2024-01-01 00:00:06')",
    )
    with pytest.raises(ConnectorError, match="'flag': the value 2 cannot be read as boolean"):
        read(connector, model([("flag", "boolean")]), "acme")
    with pytest.raises(
        ConnectorError, match="'small': the value 3000000000 cannot be read as integer"
    ):
        read(connector, model([("small", "integer")]), "acme")
    assert [r["small"] for r in read(connector, model([("small", "bigint")]), "acme")] == [
        1,
        3000000000,
    ]


def test_sqlite_declared_types_say_what_a_column_can_be_read_as(tmp_path: Path) -> None:
    connector = _sqlite_source(
        tmp_path,
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, org_id VARCHAR(20), price NUMERIC(10, 3), "
        "ratio DOUBLE, is_paid BOOLEAN, doc JSON, raw BLOB, born DATE, anything, "
        "updated_at TIMESTAMP)",
    )
    found = connector.columns(model([]))
    assert (found["price"].type_name, found["price"].precision, found["price"].scale) == (
        "NUMERIC",
        10,
        3,
    )
    assert DataType.DECIMAL in found["org_id"].data_types
    assert DataType.TIMESTAMP in found["org_id"].data_types
    assert DataType.BOOLEAN not in found["org_id"].data_types
    assert DataType.BOOLEAN in found["is_paid"].data_types
    assert found["raw"].data_types == {DataType.BYTES}
    assert DataType.JSON in found["doc"].data_types
    assert found["born"].data_types >= {DataType.DATE, DataType.TIMESTAMP}
    assert found["anything"].type_name == "ANY"
    assert DataType.BYTES in found["anything"].data_types
    assert DataType.FLOAT in found["ratio"].data_types


EVERY_TYPE = TableSpec(
    "everything",
    (
        ColumnSpec("id", "id", DataType.STRING, is_primary_key=True),
        ColumnSpec("text", "text", DataType.STRING),
        ColumnSpec("blob", "blob", DataType.BYTES),
        ColumnSpec("flag", "flag", DataType.BOOLEAN),
        ColumnSpec("small", "small", DataType.INTEGER),
        ColumnSpec("big", "big", DataType.BIGINT),
        ColumnSpec("exact", "exact", DataType.DECIMAL, precision=38, scale=10),
        ColumnSpec("huge", "huge", DataType.DECIMAL, precision=50, scale=5),
        ColumnSpec("ratio", "ratio", DataType.FLOAT),
        ColumnSpec("day", "day", DataType.DATE),
        ColumnSpec("doc", "doc", DataType.JSON),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="everything",
)
EVERY_ROW = {
    "id": "k1",
    "text": "naïve 🚀",
    "blob": b"\x00\xff",
    "flag": True,
    "small": -5,
    "big": 2**62,
    "exact": "1234567890123456789012345678.0123456789",
    "huge": "123456789012345678901234567890123456789012345.12345",
    "ratio": 0.1,
    "day": date(2024, 2, 29),
    "doc": '{"a": [1, 2]}',
    "updated_at": datetime(2024, 3, 1, 12, 0, 0, 1, tzinfo=UTC),
}


def test_sqlite_stores_each_type_as_documented_and_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "round.sqlite"
    writer = destination("sqlite", {"path": str(path)})
    writer.write(
        EVERY_TYPE, batches(EVERY_TYPE, [EVERY_ROW]), mode=WriteMode.UPSERT, context=context()
    )
    with closing(sqlite3.connect(path)) as connection:
        declared = dict(
            connection.execute("SELECT name, type FROM pragma_table_info('everything')").fetchall()
        )
        stored = connection.execute(
            "SELECT flag, exact, day, updated_at, typeof(exact) FROM everything"
        ).fetchone()
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert declared == {
        "id": "TEXT",
        "text": "TEXT",
        "blob": "BLOB",
        "flag": "INTEGER",
        "small": "INTEGER",
        "big": "INTEGER",
        "exact": "TEXT",
        "huge": "TEXT",
        "ratio": "REAL",
        "day": "TEXT",
        "doc": "TEXT",
        "updated_at": "TEXT",
    }
    assert stored == (
        1,
        "1234567890123456789012345678.0123456789",
        "2024-02-29",
        "2024-03-01T12:00:00.000001+00:00",
        "text",
    )
    assert mode == "wal"

    # What Ferry wrote, the SQLite source reads back as the same values.
    config = ModelConfig.model_validate(
        {
            "model_name": "everything",
            "source_table": "everything",
            "organization_column": "text",
            "columns": [
                {
                    "name_in_source": c.name,
                    "name_in_destination": c.name,
                    "data_type": c.data_type.value,
                    "is_primary_key": c.is_primary_key,
                    "is_last_modified": c.is_last_modified,
                }
                for c in EVERY_TYPE.columns
            ],
        }
    )
    reader = source("sqlite", {"path": str(path)})
    reader.validate_model(config)
    assert read(reader, config, "naïve 🚀") == [EVERY_ROW]


def test_duckdb_holds_decimals_beyond_38_digits_as_exact_text(tmp_path: Path) -> None:
    path = tmp_path / "wide.duckdb"
    writer = destination("duckdb", {"path": str(path), "schema": "out"})
    writer.write(
        EVERY_TYPE, batches(EVERY_TYPE, [EVERY_ROW]), mode=WriteMode.UPSERT, context=context()
    )
    with duckdb.connect(str(path), read_only=True, config=dict(DUCKDB_CONFIG)) as connection:
        types = dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'out' AND table_name = 'everything'"
            ).fetchall()
        )
        row = connection.sql("SELECT exact, huge, doc FROM out.everything").to_arrow_table()
    assert types["exact"] == "DECIMAL(38,10)"
    assert types["huge"] == "VARCHAR"
    assert types["doc"] == "JSON"
    assert types["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert row.to_pylist() == [
        {
            "exact": Decimal("1234567890123456789012345678.0123456789"),
            "huge": "123456789012345678901234567890123456789012345.12345",
            "doc": '{"a": [1, 2]}',
        }
    ]


def test_duckdb_source_types_arrive_as_ferry_types(tmp_path: Path) -> None:
    path = tmp_path / "types.duckdb"
    with duckdb.connect(str(path), config=dict(DUCKDB_CONFIG)) as connection:
        connection.execute(
            "CREATE TABLE orders (id HUGEINT PRIMARY KEY, org_id VARCHAR, tags VARCHAR[], "
            "meta STRUCT(a INTEGER), updated_at TIMESTAMP_NS)"
        )
        connection.execute(
            "INSERT INTO orders VALUES (1, 'acme', ['x', 'y'], {'a': 1}, "
            "'2024-01-01 00:00:05.123456789'), (2, 'acme', [], NULL, '2024-01-01 00:00:20')"
        )
    connector = source("duckdb", {"path": str(path)})
    config = model([("tags", "json"), ("meta", "json")])
    found = connector.columns(config)
    assert found["updated_at"].type_name == "TIMESTAMP_NS"
    assert found["tags"].data_types == {DataType.JSON}
    assert DataType.BIGINT not in found["id"].data_types
    with pytest.raises(ConnectorError, match="'id' is HUGEINT in the source"):
        connector.validate_model(config)
    # Models are validated when saved; a read converts whatever values fit.
    rows = read(connector, config, "acme", Window(since=T0 + timedelta(seconds=5)))
    assert rows == [
        {
            "id": 1,
            "tags": '["x","y"]',
            "meta": '{"a":1}',
            # A naive timestamp is UTC; nanoseconds are cut to microseconds.
            "updated_at": T0 + timedelta(seconds=5, microseconds=123456),
        },
        {"id": 2, "tags": "[]", "meta": None, "updated_at": T0 + timedelta(seconds=20)},
    ]


# --- one embedded database into another --------------------------------------------------------


@pytest.mark.parametrize(("origin", "target"), [("sqlite", "duckdb"), ("duckdb", "sqlite")])
def test_rows_stream_from_one_embedded_database_into_another(
    origin: str, target: str, tmp_path: Path
) -> None:
    """The destination's loader may pull the source's batches from its own threads (DuckDB's
    Arrow scan does)."""
    first = tmp_path / "first.db"
    destination(origin, DESTINATIONS[origin](first)).write(
        TABLE, batches(TABLE, orders(25)), mode=WriteMode.UPSERT, context=context()
    )
    config = model([("org_id", "string"), ("amount", "decimal")])
    reader = source(origin, SOURCES[origin](first))
    table = TableSpec.from_model(config)
    request = ReadRequest(model=config, table=table, tenant="acme", window=Window(), batch_rows=4)
    writer = destination(target, DESTINATIONS[target](tmp_path / "second.db"))
    result = writer.write(
        table,
        (conform(b, table) for b in reader.read(request)),
        mode=WriteMode.REPLACE,
        context=context(),
    )
    assert (result.rows, result.changed) == (25, 25)
    copied = read(source(target, SOURCES[target](tmp_path / "second.db")), config, "acme")
    assert [(r["id"], r["amount"]) for r in copied][-2:] == [(24, "24.50"), (25, "25.50")]


def test_every_embedded_vendor_is_available() -> None:
    classes: list[type[Connector]] = [registry.destination_class(v) for v in DESTINATIONS] + [
        registry.source_class(v) for v in SOURCES
    ]
    assert all(c.available for c in classes)
