"""What every SQL source must do, tested on each real server or file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ferry.connectors.base import ReadRequest, Window
from ferry.connectors.types import TableSpec, conform
from ferry.errors import ConnectorError
from ferry.modelconfig import ModelConfig
from tests.connectors.source_cases import CASES, SourceCase

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SourceCase]:
    with CASES[request.param](tmp_path) as made:
        yield made


def model(**overrides: Any) -> ModelConfig:
    config: dict[str, Any] = {
        "model_name": "orders",
        "source_table": "orders",
        "organization_column": "org_id",
        "columns": [
            {
                "name_in_source": "id",
                "name_in_destination": "order_id",
                "data_type": "bigint",
                "is_primary_key": True,
            },
            {"name_in_source": "amount", "name_in_destination": "amount", "data_type": "decimal"},
            {"name_in_source": "note", "name_in_destination": "note", "data_type": "text"},
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
    case: SourceCase,
    tenant: str,
    window: Window = Window(),
    config: ModelConfig | None = None,
    *,
    ordered: bool = True,
) -> list[dict[str, Any]]:
    config = config or model()
    table = TableSpec.from_model(config)
    request = ReadRequest(
        model=config, table=table, tenant=tenant, window=window, batch_rows=2, ordered=ordered
    )
    batches = [conform(b, table) for b in case.connector.read(request)]
    return pa.Table.from_batches(batches, schema=table.arrow_schema()).to_pylist()


def test_check_connects(case: SourceCase) -> None:
    case.connector.check()


def test_columns_describe_the_table(case: SourceCase) -> None:
    found = case.connector.columns(model())
    assert {"id", "org_id", "amount", "note", "updated_at"} <= set(found)
    assert found["updated_at"].type_name == case.timestamp_type
    assert (found["amount"].precision, found["amount"].scale) == (12, 2)


def test_a_matching_model_validates(case: SourceCase) -> None:
    case.connector.validate_model(model())


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"source_table": "no_such_table"}, "no_such_table"),
        ({"organization_column": "tenant"}, "organization_column 'tenant'"),
        (
            {
                "columns": [
                    {
                        "name_in_source": "id",
                        "name_in_destination": "id",
                        "data_type": "bigint",
                        "is_primary_key": True,
                    },
                    {"name_in_source": "missing", "name_in_destination": "m", "data_type": "text"},
                    {
                        "name_in_source": "updated_at",
                        "name_in_destination": "updated_at",
                        "data_type": "timestamp",
                        "is_last_modified": True,
                    },
                ]
            },
            "'missing' does not exist",
        ),
        (
            {
                "columns": [
                    {
                        "name_in_source": "id",
                        "name_in_destination": "id",
                        "data_type": "bigint",
                        "is_primary_key": True,
                    },
                    {
                        "name_in_source": "note",
                        "name_in_destination": "note",
                        "data_type": "boolean",
                    },
                    {
                        "name_in_source": "updated_at",
                        "name_in_destination": "updated_at",
                        "data_type": "timestamp",
                        "is_last_modified": True,
                    },
                ]
            },
            "cannot be read as boolean",
        ),
    ],
)
def test_a_mismatched_model_is_refused_with_the_reason(
    case: SourceCase, overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConnectorError) as raised:
        case.connector.validate_model(model(**overrides))
    assert expected in raised.value.message


def test_an_unordered_read_reads_the_same_rows(case: SourceCase) -> None:
    # A read that windows need not cut may skip the sort, never a row.
    since = Window(since=EPOCH + timedelta(seconds=20))
    for tenant, window in (("acme", Window()), ("acme", since), ("globex", Window())):
        ordered = read(case, tenant, window)
        unordered = read(case, tenant, window, ordered=False)
        assert ordered
        assert sorted(unordered, key=lambda r: r["order_id"]) == sorted(
            ordered, key=lambda r: r["order_id"]
        )
    request = ReadRequest(
        model=model(), table=TableSpec.from_model(model()), tenant="acme", window=since
    )
    assert "ORDER BY" in case.connector.select_sql(request, {})
    unordered_sql = case.connector.select_sql(replace(request, ordered=False), {})
    assert "ORDER BY" not in unordered_sql


def test_only_the_tenants_rows_are_read_ordered_by_last_modified_then_key(case: SourceCase) -> None:
    rows = read(case, "acme")
    assert [r["order_id"] for r in rows] == [1, 2, 3, 5]
    assert rows[0]["amount"] == "10.50"
    assert rows[0]["updated_at"] == EPOCH + timedelta(seconds=10)
    assert rows[3]["updated_at"] is None
    assert read(case, "initech") == []
    assert [r["order_id"] for r in read(case, "globex")] == [4, 6]


def test_the_window_is_pushed_down_with_nulls_always_included(case: SourceCase) -> None:
    since = Window(since=EPOCH + timedelta(seconds=20))
    assert [r["order_id"] for r in read(case, "acme", since)] == [2, 3, 5]
    bounded = Window(since=EPOCH + timedelta(seconds=10), until=EPOCH + timedelta(seconds=20))
    assert [r["order_id"] for r in read(case, "acme", bounded)] == [1, 5]
    no_nulls = Window(since=EPOCH + timedelta(seconds=20), include_null=False)
    assert [r["order_id"] for r in read(case, "acme", no_nulls)] == [2, 3]


def test_a_tenant_value_with_quotes_is_a_value_not_sql(case: SourceCase) -> None:
    assert read(case, "acme' OR '1'='1") == []


def test_a_custom_source_query_is_wrapped_and_filtered(case: SourceCase) -> None:
    config = model(
        source_query="SELECT * FROM orders WHERE amount > 6 "
        "AND org_id = {{.IdInProviderSystem}} // only big ones"
    )
    assert [r["order_id"] for r in read(case, "acme", config=config)] == [1, 2, 3]


def test_the_horizon_never_passes_a_transaction_still_open(case: SourceCase) -> None:
    """Rows a still-open transaction writes may carry timestamps from its start: the horizon
    must not be later than that start (vendors that cannot see other sessions say None)."""
    with case.open_transaction():
        opened_by = datetime.now(UTC)
        held = case.connector.horizon()
    if held is None:
        pytest.skip(f"{case.vendor} cannot see other sessions' transactions")
    assert held <= opened_by


def test_postgres_reads_enums_and_domains_as_their_values(tmp_path: Path) -> None:
    with CASES["postgres"](tmp_path) as case:
        case.execute("CREATE TYPE mood AS ENUM ('calm', 'ünïcode ☃')")
        case.execute("CREATE DOMAIN label AS text CHECK (VALUE <> '')")
        case.execute("ALTER TABLE orders ADD COLUMN feeling mood, ADD COLUMN tag label")
        case.execute("UPDATE orders SET feeling = 'ünïcode ☃', tag = 'kept' WHERE id = 1")
        columns = [
            *model().columns,
            {"name_in_source": "feeling", "name_in_destination": "feeling", "data_type": "text"},
            {"name_in_source": "tag", "name_in_destination": "tag", "data_type": "text"},
        ]
        config = model(columns=[c.model_dump() for c in columns[:4]] + columns[4:])
        row = next(r for r in read(case, "acme", config=config) if r["order_id"] == 1)
        assert (row["feeling"], row["tag"]) == ("ünïcode ☃", "kept")


def test_a_postgres_source_query_cannot_write(tmp_path: Path) -> None:
    """Ferry's session on the provider's database is read-only: a source query that calls a
    function writing data fails, and nothing is written."""
    with CASES["postgres"](tmp_path) as case:
        before = read(case, "acme")
        case.execute("CREATE TABLE audit (n integer)")
        case.execute(
            "CREATE FUNCTION sneak() RETURNS integer LANGUAGE sql "
            "AS 'INSERT INTO audit VALUES (1) RETURNING n'"
        )
        config = model(
            source_query="SELECT o.*, sneak() AS n FROM orders o "
            "WHERE org_id = {{.IdInProviderSystem}}"
        )
        with pytest.raises(ConnectorError) as raised:
            read(case, "acme", config=config)
        assert "read-only transaction" in raised.value.message
        case.execute(
            "DO $$ BEGIN IF EXISTS (SELECT FROM audit) THEN "
            "RAISE EXCEPTION 'the source query wrote a row'; END IF; END $$"
        )
        # The connection it failed on is not reused; the next read works.
        assert read(case, "acme") == before


def test_a_postgres_session_lost_while_rows_stream_is_a_retryable_error(tmp_path: Path) -> None:
    """The server ending Ferry's session mid-read (a restart, a failover) is worth retrying,
    and says so; it is not an internal error."""
    with CASES["postgres"](tmp_path) as case:
        config = model(
            source_query="SELECT o.id + g * 10 AS id, o.org_id, o.amount, o.note, o.updated_at "
            "FROM orders o CROSS JOIN generate_series(0, 200000) AS g "
            "WHERE org_id = {{.IdInProviderSystem}} "
            "AND (g % 20000 <> 0 OR pg_sleep(0.05) IS NOT NULL)"
        )
        table = TableSpec.from_model(config)
        request = ReadRequest(
            model=config, table=table, tenant="acme", window=Window(), batch_bytes=64 * 1024
        )
        stream = case.connector.read(request)
        next(stream)
        case.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'ferry'"
        )
        with pytest.raises(ConnectorError) as raised:
            for _ in stream:
                pass
        assert raised.value.error_code == "PRQL-TRANSIENT"
        assert raised.value.is_retryable
        assert "terminating connection" in raised.value.message
