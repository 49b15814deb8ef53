"""PostgreSQL → PostgreSQL: every tenant's destination holds exactly its slice of the source,
after a backfill, after changes, after a no-change run and after a full refresh."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.transfer.conftest import (
    INSERT,
    TENANTS,
    Database,
    Setup,
    destination_slice,
    edge_rows,
    source_slice,
)

Run = Callable[..., dict[str, Any]]


def assert_slices_match(setup: Setup, source_db: Database, dest_db: Database) -> None:
    for tenant in TENANTS:
        expected = source_slice(source_db, tenant)
        if expected[0] == 0:
            rows = dest_db.rows(f'SELECT count(*) AS n FROM "{setup.schemas[tenant]}".orders')
            assert rows[0]["n"] == 0, tenant
            continue
        assert destination_slice(dest_db, setup.schemas[tenant]) == expected, tenant


def run_all(setup: Setup, run_transfer: Run, **body: Any) -> dict[str, dict[str, Any]]:
    return {t: run_transfer(setup.api, d, **body) for t, d in setup.destinations.items()}


def test_backfill_changes_no_change_and_full_refresh(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    first = run_all(setup, run_transfer)
    assert {t["status"] for t in first.values()} == {"SUCCESS"}
    assert first["acme"]["rows_transferred"] == 120
    assert first["empty_co"]["rows_transferred"] == 0
    assert_slices_match(setup, source_db, dest_db)
    # No tenant's table holds another tenant's row.
    for tenant in TENANTS:
        ids = {r["id"] for r in dest_db.rows(f'SELECT id FROM "{setup.schemas[tenant]}".orders')}
        expected = {
            r["id"]
            for r in source_db.rows("SELECT id FROM orders WHERE org_id = :t", {"t": tenant})
        }
        assert ids == expected

    # Updates and inserts (stamped now, after everything already read).
    source_db.execute(
        "UPDATE orders SET title = 'changed', amount = 1.5, updated_at = now() "
        "WHERE id IN (1001, 1002, 2050)"
    )
    source_db.execute(INSERT, edge_rows("acme", 5000, 3, datetime.now(UTC)))
    second = run_all(setup, run_transfer)
    assert second["acme"]["delta_rows_transferred"] == 5
    assert second["globex"]["delta_rows_transferred"] == 1
    assert second["initech"]["delta_rows_transferred"] == 0
    assert_slices_match(setup, source_db, dest_db)

    # Nothing changed: nothing rewritten, but _transfer_status still moves.
    status_before = dest_db.rows('SELECT * FROM "out_acme"._transfer_status')[0]
    third = run_all(setup, run_transfer)
    assert {t["delta_rows_transferred"] for t in third.values()} == {0}
    status_after = dest_db.rows('SELECT * FROM "out_acme"._transfer_status')[0]
    assert status_after["transfer_last_updated_at"] > status_before["transfer_last_updated_at"]
    assert_slices_match(setup, source_db, dest_db)

    # A full refresh rebuilds each table: a row deleted in the source disappears too.
    source_db.execute("DELETE FROM orders WHERE id = 1003")
    refreshed = run_all(setup, run_transfer, full_refresh=True)
    assert refreshed["acme"]["is_full_refresh"] is True
    assert refreshed["acme"]["rows_transferred"] == 122
    assert_slices_match(setup, source_db, dest_db)


def test_transfer_reports_metrics_log_and_destination_state(
    setup: Setup, run_transfer: Run
) -> None:
    done = run_transfer(setup.api, setup.destinations["acme"])
    assert done["status"] == "SUCCESS"
    assert done["started_at"]
    assert done["ended_at"]
    assert done["volume_transferred_in_mb"] > 0
    assert done["models_snapshot"][0]["model_name"] == "orders"
    assert len(done["source_ids"]) == 1
    metric = done["model_metrics"][0]
    assert metric["model_name"] == "orders"
    assert metric["rows_transferred"] == 120
    assert metric["error"] is None
    assert metric["most_recent_last_updated_at"].startswith("2024-05-01T09:30:15")
    assert "orders: 120 row(s) read" in done["log"]
    destination = setup.api.ok("GET", f"/destinations/{setup.destinations['acme']}")
    assert destination["destination"]["last_completed_transfer"]["id"] == done["id"]
    assert destination["destination"]["last_successful_transfer_ended_at"] == done["ended_at"]


def test_rows_with_a_null_last_modified_are_sent_every_time(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    source_db.execute("UPDATE orders SET updated_at = NULL WHERE id = 1010")
    run_transfer(setup.api, setup.destinations["acme"])
    source_db.execute("UPDATE orders SET title = 'late edit' WHERE id = 1010")
    again = run_transfer(setup.api, setup.destinations["acme"])
    assert "NULL updated_at are sent on every transfer" in again["log"]
    row = dest_db.rows('SELECT title FROM "out_acme".orders WHERE id = 1010')
    assert row == [{"title": "late edit"}]


def test_equal_timestamps_across_batch_boundaries_are_all_kept(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    same = datetime(2024, 6, 1, tzinfo=UTC)
    source_db.execute(INSERT, edge_rows("acme", 20_000, 450, same))
    run_transfer(setup.api, setup.destinations["acme"])
    # More rows at exactly the watermark arrive on the next run as well.
    source_db.execute(INSERT, edge_rows("acme", 30_000, 7, same))
    run_transfer(setup.api, setup.destinations["acme"])
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_a_long_transaction_that_commits_late_still_arrives(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    """A row stamped by a transaction that started before the transfer read and committed after
    it (with an older timestamp than rows already read) is picked up by the next run."""
    late_writer = source_db.engine.connect()
    transaction = late_writer.begin()
    # now() is the transaction's start: this row is stamped before the rows written below.
    late_writer.execute(
        sa.text(INSERT.replace(":updated_at", "now()")),
        edge_rows("acme", 7000, 1, datetime.now(UTC))[0],
    )
    time.sleep(0.05)
    # Other writers meanwhile commit rows stamped an hour later.
    source_db.execute(INSERT, edge_rows("acme", 8000, 3, datetime.now(UTC) + timedelta(hours=1)))
    first = run_transfer(setup.api, setup.destinations["acme"])
    assert "7000" not in {str(r["id"]) for r in dest_db.rows('SELECT id FROM "out_acme".orders')}
    transaction.commit()
    late_writer.close()
    # The watermark stopped at the late transaction's start, not an hour ahead.
    watermark = datetime.fromisoformat(
        first["model_metrics"][0]["most_recent_last_updated_at"].replace("Z", "+00:00")
    )
    assert watermark < datetime.now(UTC)
    run_transfer(setup.api, setup.destinations["acme"])
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_a_row_updated_while_a_transfer_reads_arrives_next_time(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    # A custom query that pauses before its rows, so an update can commit mid-read.
    setup.api.ok(
        "PATCH",
        f"/models/{setup.model_id}",
        json={
            "skip_model_validation": True,
            "model": {"source_query": "SELECT o.* FROM orders o CROSS JOIN pg_sleep(1.5) AS pause"},
        },
    )

    def update_meanwhile() -> None:
        time.sleep(0.5)
        source_db.execute("UPDATE orders SET title = 'during', updated_at = now() WHERE id = 1020")

    writer = threading.Thread(target=update_meanwhile)
    writer.start()
    run_transfer(setup.api, setup.destinations["acme"])
    writer.join()
    first = dest_db.rows('SELECT title FROM "out_acme".orders WHERE id = 1020')
    assert first[0]["title"] != "during"  # the read's snapshot predates the update
    run_transfer(setup.api, setup.destinations["acme"])
    assert dest_db.rows('SELECT title FROM "out_acme".orders WHERE id = 1020') == [
        {"title": "during"}
    ]
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_only_requested_models_and_windows(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    run_transfer(setup.api, setup.destinations["acme"])
    source_db.execute(
        "UPDATE orders SET title = 'old slice', updated_at = '2020-01-01T00:00:00Z' WHERE id = 1030"
    )
    # An incremental run does not look back to 2020 …
    run_transfer(setup.api, setup.destinations["acme"])
    assert (
        dest_db.rows('SELECT title FROM "out_acme".orders WHERE id = 1030')[0]["title"]
        != "old slice"
    )
    # … a windowed one does, and leaves the watermark alone.
    windowed = run_transfer(
        setup.api,
        setup.destinations["acme"],
        models=["orders"],
        start_transfer_window_at="2019-12-31T00:00:00Z",
        end_transfer_window_at="2020-01-02T00:00:00Z",
    )
    assert windowed["rows_transferred"] == 1
    assert windowed["start_transfer_window_at"] == "2019-12-31T00:00:00Z"
    assert (
        dest_db.rows('SELECT title FROM "out_acme".orders WHERE id = 1030')[0]["title"]
        == "old slice"
    )


def test_enabled_models_and_products_limit_what_a_destination_receives(
    setup: Setup, dest_db: Database, run_transfer: Run
) -> None:
    api = setup.api
    api.ok(
        "POST",
        "/models",
        json={
            "skip_model_validation": True,
            "model": {
                "model_name": "paid_orders",
                "source_table": "public.orders",
                "organization_column": "org_id",
                "columns": [
                    {
                        "name_in_source": "id",
                        "name_in_destination": "id",
                        "data_type": "bigint",
                        "is_primary_key": True,
                    },
                    {
                        "name_in_source": "updated_at",
                        "name_in_destination": "updated_at",
                        "data_type": "timestamp",
                        "is_last_modified": True,
                    },
                ],
            },
        },
    )
    api.ok(
        "PATCH",
        f"/destinations/{setup.destinations['acme']}",
        json={"destination": {"enabled_models": ["paid_orders"]}},
    )
    done = run_transfer(api, setup.destinations["acme"])
    assert [m["model_name"] for m in done["model_metrics"]] == ["paid_orders"]
    tables = {
        r["table_name"]
        for r in dest_db.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'out_acme'"
        )
    }
    assert tables == {"paid_orders", "_transfer_status"}


def test_a_failing_model_gives_partial_failure_and_keeps_others(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    api = setup.api
    api.ok(
        "POST",
        "/models",
        json={
            "skip_model_validation": True,
            "model": {
                "model_name": "broken",
                "source_table": "public.no_such_table",
                "organization_column": "org_id",
                "columns": [
                    {
                        "name_in_source": "id",
                        "name_in_destination": "id",
                        "data_type": "bigint",
                        "is_primary_key": True,
                    },
                    {
                        "name_in_source": "updated_at",
                        "name_in_destination": "updated_at",
                        "data_type": "timestamp",
                        "is_last_modified": True,
                    },
                ],
            },
        },
    )
    done = run_transfer(api, setup.destinations["acme"])
    assert done["status"] == "PARTIAL_FAILURE"
    by_model = {m["model_name"]: m for m in done["model_metrics"]}
    assert by_model["orders"]["error"] is None
    assert by_model["broken"]["error"]["error_code"] == "PRQL-NOT-FOUND"
    assert "no_such_table" in by_model["broken"]["error"]["message"]
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_bad_destination_credentials_fail_without_retry(
    setup: Setup, dest_db: Database, run_transfer: Run
) -> None:
    api = setup.api
    api.ok(
        "PATCH",
        f"/destinations/{setup.destinations['acme']}",
        json={"destination": {"postgres": {"database": "ferry_no_such_database"}}},
    )
    done = run_transfer(api, setup.destinations["acme"])
    assert done["status"] == "ERROR"
    error = done["model_metrics"][0]["error"]
    assert error["error_code"] == "PRQL-DATABASE"
    assert error["blame"] == "third_party"


def test_decimal_precision_and_types_in_the_destination(
    setup: Setup, dest_db: Database, run_transfer: Run
) -> None:
    run_transfer(setup.api, setup.destinations["acme"])
    types = {
        r["column_name"]: r["data_type"]
        for r in dest_db.rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'out_acme' AND table_name = 'orders'"
        )
    }
    assert types == {
        "id": "bigint",
        "title": "text",
        "amount": "numeric",
        "quantity": "integer",
        "paid": "boolean",
        "shipped_on": "date",
        "details": "jsonb",
        "attachment": "bytea",
        "updated_at": "timestamp with time zone",
    }
    amount = dest_db.rows('SELECT amount FROM "out_acme".orders WHERE id = 1002')[0]["amount"]
    assert amount == Decimal("1002123456789012345678.0123456789")


def test_a_table_the_recipient_dropped_is_backfilled_not_patched(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    run_transfer(setup.api, setup.destinations["acme"])
    dest_db.execute('DROP TABLE "out_acme".orders')
    again = run_transfer(setup.api, setup.destinations["acme"])
    assert "missing in the destination; backfilling it" in again["log"]
    assert again["rows_transferred"] == 120
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_a_source_that_repeats_a_key_keeps_the_newest_row(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    # A first load and a full refresh copy rows straight into the new table; a repeated key
    # makes the destination refuse that, and the rows go through staging instead, where the
    # newest row of each key wins. (A view keeps the columns' declared types, which the
    # direct load needs for decimals.)
    source_db.execute(
        "CREATE VIEW orders_repeated AS SELECT * FROM orders UNION ALL "
        "SELECT id, org_id, 'stale copy', amount, quantity, is_paid, shipped_on, details, "
        "attachment, updated_at - interval '1 hour' FROM orders WHERE id = 1001"
    )
    setup.api.ok(
        "PATCH",
        f"/models/{setup.model_id}",
        json={"model": {"source_table": "public.orders_repeated"}},
    )
    first = run_transfer(setup.api, setup.destinations["acme"])
    assert first["status"] == "SUCCESS", first["log"]
    assert "repeat a primary key" in first["log"]
    assert first["rows_transferred"] == 121  # read; the stale copy lost to the newer row
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")
    refreshed = run_transfer(setup.api, setup.destinations["acme"], full_refresh=True)
    assert refreshed["status"] == "SUCCESS", refreshed["log"]
    assert "repeat a primary key" in refreshed["log"]
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")
    # Changes merge as always (the table exists now: no direct load to refuse).
    source_db.execute("UPDATE orders SET title = 'changed', updated_at = now() WHERE id = 1001")
    changed = run_transfer(setup.api, setup.destinations["acme"])
    assert "repeat a primary key" not in changed["log"]
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")
