"""What every SQL destination must do, tested on each real server or file."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ferry.connectors import postgres
from ferry.connectors.base import StageInstead, WriteContext, WriteMode
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.modelconfig import DataType
from tests.connectors.destination_cases import CASES, DestinationCase

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

TABLE = TableSpec(
    "orders",
    (
        ColumnSpec("id", "id", DataType.BIGINT, is_primary_key=True),
        ColumnSpec("name", "name", DataType.STRING, description="Customer-facing name"),
        ColumnSpec("amount", "amount", DataType.DECIMAL, precision=38, scale=10),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    description="Orders of the tenant",
    model_name="orders",
)

EDGE = TableSpec(
    "edge",
    (
        ColumnSpec("id", "id", DataType.STRING, is_primary_key=True),
        ColumnSpec("text", "text", DataType.STRING),
        ColumnSpec("number", "number", DataType.DECIMAL, precision=38, scale=10),
        ColumnSpec("free_number", "free_number", DataType.DECIMAL),
        ColumnSpec("small", "small", DataType.INTEGER),
        ColumnSpec("big", "big", DataType.BIGINT),
        ColumnSpec("ratio", "ratio", DataType.FLOAT),
        ColumnSpec("flag", "flag", DataType.BOOLEAN),
        ColumnSpec("day", "day", DataType.DATE),
        ColumnSpec("doc", "doc", DataType.JSON),
        ColumnSpec("blob", "blob", DataType.BYTES),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="edge",
)


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DestinationCase]:
    with CASES[request.param](tmp_path) as made:
        yield made


def batch(table: TableSpec, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=table.arrow_schema())


def orders(ids: range, *, amount: str = "1.5", shift: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"order {i}",
            "amount": amount,
            "updated_at": T0 + timedelta(seconds=i + shift),
        }
        for i in ids
    ]


def context(tag: str = "a") -> WriteContext:
    return WriteContext(transfer_id=f"{tag}-0000-1111", model_id="model", status_time=T0)


def write(
    case: DestinationCase,
    table: TableSpec,
    rows: list[dict[str, Any]],
    *,
    mode: WriteMode = WriteMode.UPSERT,
    tag: str = "a",
    chunk: int = 1000,
) -> Any:
    def batches() -> Iterator[pa.RecordBatch]:
        return (batch(table, rows[i : i + chunk]) for i in range(0, max(len(rows), 1), chunk))

    try:
        return case.connector.write(table, batches(), mode=mode, context=context(tag))
    except StageInstead:
        # As the transfer engine does: the same rows again, through staging.
        staged = replace(context(tag), direct=False)
        return case.connector.write(table, batches(), mode=mode, context=staged)


def by_id(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r for r in rows}


def test_connection_check_passes(case: DestinationCase) -> None:
    case.connector.check()


def test_first_write_creates_a_typed_table_and_the_status_row(case: DestinationCase) -> None:
    assert not case.connector.has_table(TABLE)
    result = write(case, TABLE, orders(range(1, 2501)), chunk=700)
    assert (result.rows, result.changed) == (2500, 2500)
    assert case.connector.has_table(TABLE)
    stored = by_id(case.rows("orders"))
    assert len(stored) == 2500
    assert stored[7]["name"] == "order 7"
    assert stored[7]["amount"] == Decimal("1.5")
    assert stored[7]["updated_at"] == T0 + timedelta(seconds=7)
    assert case.status() == {"orders": T0}
    assert set(case.column_types("orders")) == {"id", "name", "amount", "updated_at"}


def test_upsert_updates_changed_rows_inserts_new_ones_and_counts_real_changes(
    case: DestinationCase,
) -> None:
    write(case, TABLE, orders(range(1, 101)))
    # 1–50 unchanged, 51–100 updated, 101–120 new.
    again = orders(range(1, 51)) + orders(range(51, 121), amount="2.25", shift=1000)
    result = write(case, TABLE, again, tag="b")
    assert result.rows == 120
    assert result.changed == 70
    stored = by_id(case.rows("orders"))
    assert len(stored) == 120
    assert stored[10]["amount"] == Decimal("1.5")
    assert stored[60]["amount"] == Decimal("2.25")
    assert stored[120]["updated_at"] == T0 + timedelta(seconds=1120)


def test_a_no_change_run_changes_nothing(case: DestinationCase) -> None:
    write(case, TABLE, orders(range(1, 51)))
    assert write(case, TABLE, orders(range(1, 51)), tag="b").changed == 0
    assert len(case.rows("orders")) == 50


def test_a_run_without_rows_moves_only_the_status(case: DestinationCase) -> None:
    write(case, TABLE, orders(range(1, 51)))
    later = T0 + timedelta(days=1)
    wider = TableSpec(
        "orders",
        (*TABLE.columns, ColumnSpec("region", "region", DataType.STRING)),
        model_name="orders",
    )
    empty = iter([batch(wider, []), batch(wider, [])])
    context = WriteContext(transfer_id="c-0000-1111", model_id="model", status_time=later)
    result = case.connector.write(wider, empty, mode=WriteMode.UPSERT, context=context)
    assert (result.rows, result.changed) == (0, 0)
    assert len(case.rows("orders")) == 50
    assert case.status() == {"orders": later}
    # A column new to the model is added even when no row comes with it.
    assert "region" in case.column_types("orders")


# Destinations that copy a first load (and a full refresh) straight into the new table, and
# refuse it (StageInstead) when a key repeats.
DIRECT_LOADERS = {"postgres"}


def test_duplicate_keys_in_one_load_keep_the_newest(case: DestinationCase) -> None:
    rows = [
        *orders(range(1, 3)),
        {"id": 1, "name": "newer", "amount": "9", "updated_at": T0 + timedelta(days=1)},
    ]
    refused = False
    try:
        case.connector.write(
            TABLE, iter([batch(TABLE, rows)]), mode=WriteMode.UPSERT, context=context()
        )
    except StageInstead:
        refused = True
        # The direct load that met the repeated key left nothing behind, not even the table.
        assert not case.connector.has_table(TABLE)
    assert refused == (case.vendor in DIRECT_LOADERS)
    write(case, TABLE, rows)
    assert by_id(case.rows("orders"))[1]["name"] == "newer"


def test_duplicate_keys_in_a_full_refresh_keep_the_newest(case: DestinationCase) -> None:
    write(case, TABLE, orders(range(1, 11)))
    rows = [
        *orders(range(1, 3)),
        {"id": 1, "name": "newer", "amount": "9", "updated_at": T0 + timedelta(days=1)},
    ]
    refused = False
    try:
        case.connector.write(
            TABLE, iter([batch(TABLE, rows)]), mode=WriteMode.REPLACE, context=context("b")
        )
    except StageInstead:
        refused = True
        # Refused before the swap: the old table is untouched.
        assert sorted(by_id(case.rows("orders"))) == list(range(1, 11))
    assert refused == (case.vendor in DIRECT_LOADERS)
    write(case, TABLE, rows, mode=WriteMode.REPLACE, tag="c")
    stored = by_id(case.rows("orders"))
    assert sorted(stored) == [1, 2]
    assert stored[1]["name"] == "newer"


def test_replace_swaps_in_exactly_the_new_rows(case: DestinationCase) -> None:
    write(case, TABLE, orders(range(1, 101)))
    result = write(case, TABLE, orders(range(500, 510)), mode=WriteMode.REPLACE, tag="b")
    assert result.rows == 10
    assert sorted(by_id(case.rows("orders"))) == list(range(500, 510))
    # A second full refresh works too (no leftovers of the first swap get in the way).
    write(case, TABLE, orders(range(1, 4)), mode=WriteMode.REPLACE, tag="c")
    assert sorted(by_id(case.rows("orders"))) == [1, 2, 3]


def test_new_model_columns_are_added_to_the_existing_table(case: DestinationCase) -> None:
    write(case, TABLE, orders(range(1, 11)))
    wider = TableSpec(
        "orders",
        (*TABLE.columns, ColumnSpec("region", "region", DataType.STRING)),
        model_name="orders",
    )
    rows = [r | {"region": "eu"} for r in orders(range(5, 15), shift=50)]
    write(case, wider, rows, tag="b")
    stored = by_id(case.rows("orders"))
    assert stored[1]["region"] is None
    assert stored[14]["region"] == "eu"


def test_a_failure_mid_load_leaves_the_destination_as_before(case: DestinationCase) -> None:
    write(case, TABLE, orders(range(1, 101)))
    before = case.rows("orders")
    status_before = case.status()

    def broken() -> Iterator[pa.RecordBatch]:
        yield batch(TABLE, orders(range(1, 51), amount="7", shift=5000))
        raise RuntimeError("the source connection dropped")

    with pytest.raises(RuntimeError, match="dropped"):
        case.connector.write(
            TABLE,
            broken(),
            mode=WriteMode.UPSERT,
            context=WriteContext(
                transfer_id="b-0000-1111", model_id="model", status_time=T0 + timedelta(hours=1)
            ),
        )
    assert sorted(case.rows("orders"), key=lambda r: r["id"]) == sorted(
        before, key=lambda r: r["id"]
    )
    assert case.status() == status_before
    with pytest.raises(RuntimeError, match="dropped"):
        case.connector.write(TABLE, broken(), mode=WriteMode.REPLACE, context=context("c"))
    assert len(case.rows("orders")) == 100


EDGE_ROWS = [
    {
        "id": "nulls",
        "text": None,
        "number": None,
        "free_number": None,
        "small": None,
        "big": None,
        "ratio": None,
        "flag": None,
        "day": None,
        "doc": None,
        "blob": None,
        "updated_at": None,
    },
    {
        "id": "unicode ✓ 日本語 🚀",
        "text": "naïve — ünïcödé 🙂 nul-free\ttab\nline",
        "number": "1234567890123456789012345678.0123456789",
        "free_number": "-0.000000000000000000000000000000001",
        "small": -2147483648,
        "big": 9223372036854775807,
        "ratio": 1e-300,
        "flag": True,
        "day": date(1, 1, 1),
        "doc": '{"nested": {"list": [1, 2.5, "x"]}, "emoji": "🚀"}',
        "blob": bytes(range(256)),
        "updated_at": datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    },
    {
        "id": "big text",
        "text": "x" * (1024 * 1024),
        "number": "-0.0000000001",
        "free_number": "123",
        "small": 0,
        "big": -1,
        "ratio": -0.5,
        "flag": False,
        "day": date(9999, 12, 31),
        "doc": "[]",
        "blob": b"",
        "updated_at": datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC),
    },
]


def test_edge_values_arrive_exactly(case: DestinationCase) -> None:
    write(case, EDGE, EDGE_ROWS)
    stored = by_id(case.rows("edge"))
    assert set(stored) == {r["id"] for r in EDGE_ROWS}
    for row in EDGE_ROWS:
        got = stored[row["id"]]
        for key, value in row.items():
            if value is None:
                assert got[key] is None, key
            elif key in ("number", "free_number"):
                assert Decimal(str(got[key])) == Decimal(value), key
            elif key == "doc":
                import json

                assert json.loads(got[key]) == json.loads(value), key
            elif key == "text":
                assert got[key] == value, f"{key}: {len(got[key])} vs {len(value)}"
            else:
                assert got[key] == value, (key, got[key], value)


def test_postgres_keeps_one_staging_table_per_connection_and_empties_it(tmp_path: Path) -> None:
    with CASES["postgres"](tmp_path) as case:
        write(case, TABLE, orders(range(1, 11)))
        for n, tag in enumerate("bcd"):
            write(case, TABLE, orders(range(1, 21), shift=n + 1), tag=tag)
        # EDGE's unbounded decimal cannot go in directly: its first load stages too.
        write(case, EDGE, [])
        write(case, EDGE, [], tag="b")
        # The pool hands back the connection the loads used (the most recently returned).
        with case.connector.connect() as (_, cursor):
            staged = postgres.rows(
                cursor,
                "SELECT relname::text FROM pg_class "
                "WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'",
            )
            assert len(staged) == 2, "one staging table per row shape staged"
            for (name,) in staged:
                assert name.startswith("_ferry_stage_")
                assert postgres.rows(cursor, f'SELECT count(*) FROM pg_temp."{name}"') == [(0,)]
        assert len(case.rows("orders")) == 20


def test_postgres_takes_its_one_query_shortcut_only_when_everything_is_in_place(
    tmp_path: Path,
) -> None:
    with CASES["postgres"](tmp_path) as case:
        connector = case.connector

        def ready(table: TableSpec = TABLE) -> bool:
            with connector.connect() as (_, cursor):
                return connector.table_ready(cursor, table)

        def alter(sql: str) -> None:
            with connector.connect() as (connection, cursor):
                postgres.run(cursor, sql)
                connection.commit()

        assert not ready()
        write(case, TABLE, orders(range(1, 6)))
        assert ready()
        wider = replace(
            TABLE, columns=(*TABLE.columns, ColumnSpec("note", "note", DataType.STRING))
        )
        assert not ready(wider), "a new model column is still to be added"
        write(case, wider, orders(range(1, 6)), tag="b")
        assert ready(wider)
        alter('ALTER TABLE tenant_out.orders DROP COLUMN "name"')
        assert not ready(wider), "a column the recipient dropped is added back"
        write(case, wider, orders(range(1, 6)), tag="c")
        assert "name" in case.column_types("orders")
        alter("DROP TABLE tenant_out._transfer_status")
        assert not ready(wider)
        write(case, wider, orders(range(1, 6)), tag="d")
        assert case.status() == {"orders": T0}
        assert ready(wider)


def test_postgres_connections_share_one_driver_database_with_builtin_types(
    tmp_path: Path,
) -> None:
    with (
        CASES["postgres"](tmp_path) as case,
        case.connector.connect() as (first, _),
        case.connector.connect() as (second, _),
    ):
        assert first is not second
        # The driver's type table is built once, not per connection, and a destination
        # never reads the server's whole catalog for it.
        assert first.connection.adbc_database is second.connection.adbc_database
        mode = first.connection.adbc_database.get_option("adbc.postgresql.type_resolver_mode")
        assert mode == "builtin"


def test_postgres_connections_open_and_close_safely_from_many_threads(tmp_path: Path) -> None:
    with CASES["postgres"](tmp_path) as case:

        def churn(n: int) -> int:
            done = 0
            for i in range(15):
                try:
                    with case.connector.connect() as (_, cursor):
                        postgres.run(cursor, "SELECT 1")
                        if (i + n) % 3 == 0:
                            # A connection that saw an error is closed, not pooled.
                            raise RuntimeError("drop this connection")
                except RuntimeError:
                    pass
                done += 1
            return done

        with ThreadPoolExecutor(max_workers=6) as pool:
            assert sum(pool.map(churn, range(6))) == 90
        with case.connector.connect() as (_, cursor):
            assert postgres.rows(cursor, "SELECT 1") == [(1,)]
