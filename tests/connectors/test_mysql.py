"""What is particular to MySQL (MariaDB here): its errors, its quoting, its horizon, its types,
and the guards around LOAD DATA LOCAL INFILE."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pymysql
import pytest

from ferry.connectors import mysql, registry
from ferry.connectors.base import ReadRequest, SourceConnector, Window, WriteContext, WriteMode
from ferry.connectors.destinations.mysql import MySQLDestination
from ferry.connectors.types import ColumnSpec, TableSpec, conform
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig
from tests.connectors.mysql_cases import config, run, server, throwaway_user

pytestmark = pytest.mark.mysql

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def database() -> Iterator[str]:
    name = f"ferry_t_{uuid.uuid4().hex[:10]}"
    run(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        run(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def login(database: str) -> Iterator[tuple[str, str]]:
    with throwaway_user(f"ALL ON `{database}`.*", "PROCESS ON *.*") as made:
        yield made


def source(login: tuple[str, str], database: str, **overrides: Any) -> SourceConnector:
    cls = registry.source_class("mysql")
    return cls(cls.config_model.model_validate(config(*login, database=database, **overrides)))


def destination(login: tuple[str, str], database: str, **overrides: Any) -> MySQLDestination:
    cls = registry.destination_class("mysql")
    settings = config(
        *login,
        connection_database=database,
        write_database=database,
        use_ssh_tunnel=False,
        **overrides,
    )
    connector = cls(cls.config_model.model_validate(settings))
    assert isinstance(connector, MySQLDestination)
    return connector


def model(table: str, columns: list[tuple[str, str]], **extra: Any) -> ModelConfig:
    """A model keyed by ``id`` and modified by ``updated_at``, plus the given columns."""
    return ModelConfig.model_validate(
        {
            "model_name": table,
            "source_table": table,
            "organization_column": "org_id",
            "columns": [
                {
                    "name_in_source": "id",
                    "name_in_destination": "id",
                    "data_type": "bigint",
                    "is_primary_key": True,
                },
                *(
                    {"name_in_source": n, "name_in_destination": n, "data_type": t}
                    for n, t in columns
                ),
                {
                    "name_in_source": "updated_at",
                    "name_in_destination": "updated_at",
                    "data_type": "timestamp",
                    "is_last_modified": True,
                },
            ],
            **extra,
        }
    )


def read(
    connector: SourceConnector, config: ModelConfig, tenant: str, batch_rows: int = 1000
) -> list[dict[str, Any]]:
    described = connector.columns(config)
    table = TableSpec.from_model(
        config, {n: (c.precision, c.scale) for n, c in described.items() if c.precision}
    )
    request = ReadRequest(
        model=config, table=table, tenant=tenant, window=Window(), batch_rows=batch_rows
    )
    batches = [conform(b, table) for b in connector.read(request)]
    return pa.Table.from_batches(batches, schema=table.arrow_schema()).to_pylist()


def query(database: str, sql: str) -> list[tuple[Any, ...]]:
    with server(database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


# --- errors -----------------------------------------------------------------------------------


def error_of(**overrides: Any) -> ConnectorError:
    cls = registry.source_class("mysql")
    settings = config("ferry_nobody", "not-the-password", database="test") | overrides
    with pytest.raises(ConnectorError) as raised:
        cls(cls.config_model.model_validate(settings)).check()
    return raised.value


def test_connection_failures_have_distinct_user_facing_codes(database: str) -> None:
    # With a global privilege the server tells a missing database from a forbidden one.
    with throwaway_user("SELECT ON *.*") as (user, password):
        wrong = error_of(
            database=database, password_auth={"username": user, "password": password + "x"}
        )
        found = {
            "password": wrong,
            "host": error_of(host="no-such-host.invalid"),
            "port": error_of(port=1),
            "database": error_of(
                database="ferry_no_such_database",
                password_auth={"username": user, "password": password},
            ),
        }
    codes = {what: e.error_code for what, e in found.items()}
    assert codes == {
        "password": "PRQL-AUTH",
        "host": "PRQL-HOST",
        "port": "PRQL-REFUSED",
        "database": "PRQL-DATABASE",
    }
    assert found["port"].is_retryable
    assert not found["password"].is_retryable
    assert "ferry_no_such_database" in found["database"].message
    # The user-facing text is Ferry's; the driver's text is kept for the log only.
    assert "Access denied" not in found["password"].message
    assert "Access denied" in found["password"].trace
    assert password not in found["password"].trace


def test_a_server_without_ssl_is_refused_unless_ssl_is_disabled() -> None:
    failed = error_of(disable_ssl=False)
    assert failed.error_code == "PRQL-SSL"
    assert "disable_ssl" in failed.message


@pytest.mark.parametrize(
    ("number", "code", "retryable"),
    [
        (1044, "PRQL-PERMISSION", False),
        (1142, "PRQL-PERMISSION", False),
        (1227, "PRQL-PERMISSION", False),
        (1146, "PRQL-NOT-FOUND", False),
        (1213, "PRQL-TRANSIENT", True),
        (1205, "PRQL-TRANSIENT", True),
        (2006, "PRQL-TRANSIENT", True),
        (2013, "PRQL-TRANSIENT", True),
        (1264, "PRQL-TYPE", False),
        (9999, "PRQL-DB", False),
    ],
)
def test_server_errors_are_classified_by_number(number: int, code: str, retryable: bool) -> None:
    settings = registry.source_class("mysql").config_model.model_validate(
        config("ferry", "s3cret-value", database="test")
    )
    found = mysql.classify(
        pymysql.OperationalError(number, "something about s3cret-value"), settings
    )
    assert (found.error_code, found.is_retryable) == (code, retryable)
    assert "s3cret-value" not in found.message
    assert "s3cret-value" not in found.trace


def test_a_table_the_user_may_not_read_is_a_permission_error(database: str) -> None:
    run(
        "CREATE TABLE hidden (id BIGINT PRIMARY KEY, org_id TEXT, updated_at DATETIME(6))",
        database,
    )
    run("CREATE TABLE visible (id INT)", database)
    with throwaway_user(f"SELECT ON `{database}`.`visible`") as login:
        config = model("hidden", [])
        request = ReadRequest(
            model=config, table=TableSpec.from_model(config), tenant="acme", window=Window()
        )
        with pytest.raises(ConnectorError) as raised:
            list(source(login, database).read(request))
    assert raised.value.error_code == "PRQL-PERMISSION"


def test_a_missing_table_is_not_found(login: tuple[str, str], database: str) -> None:
    connector = source(login, database)
    with pytest.raises(ConnectorError) as raised:
        connector.validate_model(model("nothing_here", []))
    assert raised.value.error_code == "PRQL-NOT-FOUND"


def test_the_look_alike_vendors_stay_unavailable() -> None:
    for vendor in ("singlestore", "planetscale", "sql_server"):
        cls = registry.destination_class(vendor)
        assert not cls.available
        connector = cls(
            cls.config_model.model_validate(
                config(
                    "ferry",
                    "pw-1",
                    connection_database="test",
                    write_database="test",
                    use_ssh_tunnel=False,
                )
            )
        )
        with pytest.raises(ConnectorError) as raised:
            connector.check()
        assert raised.value.error_code == "PRQL-UNAVAILABLE"
    assert not registry.source_class("sql_server").available
    assert registry.source_class("aurora_mysql").available
    assert registry.destination_class("aurora_mysql").available


# --- reading -----------------------------------------------------------------------------------


def test_a_tenant_value_with_backslashes_and_quotes_is_a_value(
    login: tuple[str, str], database: str
) -> None:
    tricky = "a\\' OR 1=1 -- \\"
    run(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, org_id VARCHAR(64), updated_at DATETIME(6))",
        database,
    )
    with server(database) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO t VALUES (%s, %s, '2024-01-01')",
            [(1, tricky), (2, "a"), (3, "a\\"), (4, "other")],
        )
    connector = source(login, database)
    assert [r["id"] for r in read(connector, model("t", []), tricky)] == [1]
    assert [r["id"] for r in read(connector, model("t", []), "a\\")] == [3]
    assert read(connector, model("t", []), "x' OR '1'='1") == []


def test_the_horizon_is_the_oldest_open_transaction(login: tuple[str, str], database: str) -> None:
    run("CREATE TABLE t (id INT PRIMARY KEY)", database)
    connector = source(login, database)
    with server(database) as other, other.cursor() as cursor:
        cursor.execute("START TRANSACTION")
        cursor.execute("INSERT INTO t VALUES (1)")
        began = datetime.now(UTC)
        # InnoDB refreshes its transaction list at most every 0.1 s.
        cursor.execute("DO SLEEP(0.2)")
        held = connector.horizon()
        other.rollback()
    assert held is not None
    assert began - timedelta(seconds=2) <= held <= began + timedelta(seconds=1)


def test_the_horizon_needs_the_process_privilege(database: str) -> None:
    with throwaway_user(f"SELECT ON `{database}`.*") as login:
        assert source(login, database).horizon() is None


def test_mysql_types_are_read_as_their_ferry_types(login: tuple[str, str], database: str) -> None:
    run(
        "CREATE TABLE typed (id BIGINT PRIMARY KEY, org_id VARCHAR(8), flag BOOLEAN, "
        "small TINYINT UNSIGNED, bits BIT(1), doc JSON, raw VARBINARY(8), day DATE, "
        "stamp TIMESTAMP(3) NULL, money DECIMAL(65,30), ratio DOUBLE, label ENUM('x','y'), "
        "updated_at DATETIME)",
        database,
    )
    run(
        "INSERT INTO typed VALUES (1, 'acme', TRUE, 255, b'1', '{\"a\": [1, 2]}', X'00FF0A', "
        "'2024-02-29', '2024-03-01 10:00:00.125', "
        "'12345678901234567890123456789012345.123456789012345678901234567891', 0.1, 'y', "
        "'2024-01-01 00:00:01')",
        database,
    )
    config = model(
        "typed",
        [
            ("flag", "boolean"),
            ("small", "integer"),
            ("bits", "boolean"),
            ("doc", "json"),
            ("raw", "bytes"),
            ("day", "date"),
            ("stamp", "timestamp"),
            ("money", "decimal"),
            ("ratio", "float"),
            ("label", "string"),
        ],
    )
    connector = source(login, database)
    connector.validate_model(config)
    (row,) = read(connector, config, "acme")
    assert row == {
        "id": 1,
        "flag": True,
        "small": 255,
        "bits": True,
        "doc": '{"a": [1, 2]}',
        "raw": b"\x00\xff\n",
        "day": date(2024, 2, 29),
        "stamp": datetime(2024, 3, 1, 10, 0, 0, 125000, tzinfo=UTC),
        "money": "12345678901234567890123456789012345.123456789012345678901234567891",
        "ratio": 0.1,
        "label": "y",
        "updated_at": T0 + timedelta(seconds=1),
    }
    described = connector.columns(config)
    assert DataType.BOOLEAN in described["flag"].data_types
    assert DataType.INTEGER not in described["money"].data_types
    assert (described["money"].precision, described["money"].scale) == (65, 30)
    assert described["ratio"].precision is None


def test_zero_dates_are_null_and_bits_are_numbers(login: tuple[str, str], database: str) -> None:
    run(
        "CREATE TABLE odd (id BIGINT PRIMARY KEY, org_id VARCHAR(8), day DATE, wide BIT(8), "
        "updated_at DATETIME)",
        database,
    )
    with server(database) as connection, connection.cursor() as cursor:
        # Zero dates can only be written by a lenient session.
        cursor.execute("SET SESSION sql_mode = ''")
        cursor.execute(
            "INSERT INTO odd VALUES (1, 'acme', '0000-00-00', b'00110001', '0000-00-00 00:00:00')"
        )
    config = model("odd", [("day", "date"), ("wide", "bigint")])
    assert read(source(login, database), config, "acme") == [
        {"id": 1, "day": None, "wide": 49, "updated_at": None}
    ]


def test_a_read_abandoned_midway_does_not_drain_the_table(
    login: tuple[str, str], database: str
) -> None:
    run(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, org_id VARCHAR(8), updated_at DATETIME(6))",
        database,
    )
    run(
        "INSERT INTO t SELECT seq, 'acme', '2024-01-01' FROM seq_1_to_20000",
        database,
    )
    connector = source(login, database)
    config = model("t", [])
    request = ReadRequest(
        model=config,
        table=TableSpec.from_model(config),
        tenant="acme",
        window=Window(),
        batch_rows=100,
    )
    batches = connector.read(request)
    assert next(batches).num_rows == 100
    batches.close()
    assert len(read(connector, config, "acme", batch_rows=5000)) == 20000


# --- writing -----------------------------------------------------------------------------------


def write(connector: MySQLDestination, table: TableSpec, rows: list[dict[str, Any]]) -> Any:
    batch = pa.RecordBatch.from_pylist(rows, schema=table.arrow_schema())
    context = WriteContext(transfer_id="t-0000-1111", model_id="m", status_time=T0)
    return connector.write(table, iter([batch]), mode=WriteMode.UPSERT, context=context)


def test_a_decimal_and_a_megabyte_of_text_cross_from_source_to_destination(
    login: tuple[str, str], database: str
) -> None:
    run(
        "CREATE TABLE big (id BIGINT PRIMARY KEY, org_id VARCHAR(8), amount NUMERIC(38,10), "
        "body LONGTEXT, updated_at DATETIME(6))",
        database,
    )
    body = ("\\ ' \t \n \\N 🚀 ünï " * 40_000)[: 1024 * 1024]
    with server(database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO big VALUES (1, 'acme', '1234567890123456789012345678.0123456789', %s, "
            "'2024-01-01 00:00:01.000001'), (2, 'acme', '-0.0000000001', '', NULL)",
            (body,),
        )
    config = model(
        "big",
        [("amount", "decimal"), ("body", "text")],
        destination_table_name="big_copy",
    )
    reader = source(login, database)
    described = reader.columns(config)
    table = TableSpec.from_model(
        config, {n: (c.precision, c.scale) for n, c in described.items() if c.precision}
    )
    request = ReadRequest(model=config, table=table, tenant="acme", window=Window(), batch_rows=1)
    batches = (conform(b, table) for b in reader.read(request))
    context = WriteContext(transfer_id="x-0000-1111", model_id="m", status_time=T0)
    writer = destination(login, database)
    result = writer.write(table, batches, mode=WriteMode.UPSERT, context=context)
    assert (result.rows, result.changed) == (2, 2)
    stored = {
        r[0]: r[1:] for r in query(database, "SELECT id, amount, body, updated_at FROM big_copy")
    }
    assert stored[1][0] == Decimal("1234567890123456789012345678.0123456789")
    assert stored[1][1] == body
    assert stored[1][2].replace(tzinfo=UTC) == datetime(2024, 1, 1, 0, 0, 1, 1, tzinfo=UTC)
    assert stored[2] == (Decimal("-0.0000000001"), "", None)
    assert query(
        database,
        "SELECT COLUMN_TYPE FROM information_schema.columns WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = 'big_copy' AND COLUMN_NAME = 'amount'",
    ) == [("decimal(38,10)",)]


KEYED = TableSpec(
    "keyed",
    (
        ColumnSpec("tenant", "tenant", DataType.STRING, is_primary_key=True),
        ColumnSpec("code", "code", DataType.STRING, is_primary_key=True),
        ColumnSpec("seq", "seq", DataType.BIGINT, is_primary_key=True),
        ColumnSpec("tag", "tag", DataType.BYTES, is_primary_key=True),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="keyed",
)


def test_composite_text_keys_fit_the_key_limit_and_compare_exactly(
    login: tuple[str, str], database: str
) -> None:
    rows = [
        {"tenant": "acme", "code": code, "seq": 1, "tag": b"x", "updated_at": T0}
        for code in ("a", "A", "a ", "ä")
    ]
    assert write(destination(login, database), KEYED, rows).changed == 4
    assert len(query(database, "SELECT * FROM keyed")) == 4
    types = dict(
        query(
            database,
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.columns "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'keyed'",
        )
    )
    # Three variable-size parts share 3072 - 8 bytes.
    assert types["code"] == "varchar(255)"
    assert types["tag"] == "varbinary(1021)"


def test_a_value_that_does_not_fit_fails_the_load_instead_of_being_clamped(
    login: tuple[str, str], database: str
) -> None:
    table = TableSpec(
        "narrow",
        (
            ColumnSpec("id", "id", DataType.STRING, is_primary_key=True),
            ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
        ),
        model_name="narrow",
    )
    with pytest.raises(ConnectorError) as raised:
        write(destination(login, database), table, [{"id": "k" * 769, "updated_at": T0}])
    assert raised.value.error_code == "PRQL-TYPE"
    assert query(database, "SELECT COUNT(*) FROM narrow") == [(0,)]


EDGE = TableSpec(
    "edge",
    (
        ColumnSpec("id", "id", DataType.STRING, is_primary_key=True),
        ColumnSpec("text", "text", DataType.STRING),
        ColumnSpec("number", "number", DataType.DECIMAL, precision=38, scale=10),
        ColumnSpec("flag", "flag", DataType.BOOLEAN),
        ColumnSpec("day", "day", DataType.DATE),
        ColumnSpec("doc", "doc", DataType.JSON),
        ColumnSpec("blob", "blob", DataType.BYTES),
        ColumnSpec("ratio", "ratio", DataType.FLOAT),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="edge",
)
EDGE_ROWS = [
    {
        "id": "o'k \\ \t\n\x00",
        "text": "it's \\N \\ \t\n\r\x00 🚀",
        "number": "-1234567890123456789012345678.0123456789",
        "flag": True,
        "day": date(1, 1, 1),
        "doc": '{"q": "\'\\\\"}',
        "blob": bytes(range(256)),
        "ratio": 1e-300,
        "updated_at": datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC),
    },
    dict.fromkeys(("text", "number", "flag", "day", "doc", "blob", "ratio", "updated_at"))
    | {"id": ""},
]


class InsertingDestination(MySQLDestination):
    """A destination on a server that refuses LOAD DATA LOCAL INFILE."""

    def loads_local_files(self, cursor: Any) -> bool:  # noqa: ARG002
        return False


@pytest.mark.parametrize("local", [True, False], ids=["load-data", "insert"])
def test_both_load_paths_keep_every_value(
    login: tuple[str, str], database: str, local: bool
) -> None:
    connector = destination(login, database)
    if not local:
        connector = InsertingDestination(connector.config)
    assert write(connector, EDGE, EDGE_ROWS).changed == 2
    with server(database) as connection, connection.cursor(pymysql.cursors.DictCursor) as cursor:
        cursor.execute("SELECT * FROM edge")
        stored = {r["id"]: r for r in cursor.fetchall()}
    assert set(stored) == {r["id"] for r in EDGE_ROWS}
    first = stored[EDGE_ROWS[0]["id"]]
    assert first["text"] == EDGE_ROWS[0]["text"]
    assert first["number"] == Decimal(EDGE_ROWS[0]["number"])
    assert first["flag"] == 1
    assert first["day"] == date(1, 1, 1)
    assert first["doc"] == EDGE_ROWS[0]["doc"]
    assert first["blob"] == bytes(range(256))
    assert first["ratio"] == 1e-300
    assert first["updated_at"].replace(tzinfo=UTC) == EDGE_ROWS[0]["updated_at"]
    assert all(v is None for k, v in stored[""].items() if k != "id")


def test_the_server_cannot_fetch_a_local_file_ferry_did_not_offer(
    login: tuple[str, str], database: str
) -> None:
    run("CREATE TABLE t (line TEXT)", database)
    connection = mysql.open_connection(destination(login, database).config, database=database)
    try:
        with pytest.raises(pymysql.OperationalError, match="did not offer"):
            connection.cursor().execute("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE t")
    finally:
        mysql.close(connection)
    assert query(database, "SELECT COUNT(*) FROM t") == [(0,)]


def test_a_full_refresh_failing_before_the_swap_leaves_the_table(
    login: tuple[str, str], database: str
) -> None:
    connector = destination(login, database)
    table = TableSpec(
        "swap",
        (
            ColumnSpec("id", "id", DataType.BIGINT, is_primary_key=True),
            ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
        ),
        model_name="swap",
    )
    write(connector, table, [{"id": 1, "updated_at": T0}])
    # A NULL key passes staging (which has no key) and fails building the new table.
    bad = pa.RecordBatch.from_pylist(
        [{"id": 2, "updated_at": T0}, {"id": None, "updated_at": T0}], schema=table.arrow_schema()
    )
    context = WriteContext(transfer_id="r-0000-1111", model_id="m", status_time=T0)
    with pytest.raises(ConnectorError) as raised:
        connector.write(table, iter([bad]), mode=WriteMode.REPLACE, context=context)
    assert raised.value.error_code == "PRQL-TYPE"
    assert query(database, "SELECT id FROM swap") == [(1,)]
    leftovers = query(
        database,
        "SELECT TABLE_NAME FROM information_schema.tables "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_ferry%'",
    )
    assert leftovers == []
