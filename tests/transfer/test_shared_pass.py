"""Pending incremental transfers to schemas on one PostgreSQL server, written with one login,
run in one pass: one source query, one destination transaction, and every destination still
holds exactly its tenant's slice. First loads, transfers that are not alike and passes that
fail run on their own."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from ferry import transfer
from ferry.settings import Settings
from tests.transfer.conftest import (
    INSERT,
    TENANTS,
    Database,
    Setup,
    destination_slice,
    edge_rows,
    source_slice,
)
from tests.transfer.test_postgres_to_postgres import assert_slices_match

ONE_PASS = "in one pass with"


def request_all(setup: Setup, tenants: tuple[str, ...] = TENANTS, **body: Any) -> dict[str, str]:
    """A transfer requested through the API for each tenant's destination; tenant → id."""
    return {
        tenant: setup.api.ok(
            "POST", f"/destinations/{setup.destinations[tenant]}/transfer", json=body
        )["transfer_id"]
        for tenant in tenants
    }


def work(app: Any, settings: Settings, ids: dict[str, str]) -> dict[str, str | None]:
    """Each transfer's task, in order, as one worker thread runs them; tenant → what it
    returned (None: the transfer had already run in an earlier one's pass)."""
    return {
        tenant: transfer.run(
            app.state.sessionmaker, uuid.UUID(ident), worker="test-worker", settings=settings
        )
        for tenant, ident in ids.items()
    }


def fetched(setup: Setup, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {t: setup.api.ok("GET", f"/transfers/{i}")["transfer"] for t, i in ids.items()}


def first_loads(setup: Setup, app: Any, settings: Settings) -> None:
    """Every tenant's first load, each on its own (a first load never shares a pass)."""
    ids = request_all(setup)
    assert set(work(app, settings, ids).values()) == {"SUCCESS"}
    for done in fetched(setup, ids).values():
        assert ONE_PASS not in done["log"]


def test_pending_incremental_transfers_to_one_server_share_a_pass(
    setup: Setup, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    first_loads(setup, app, settings)
    # Updates and inserts: each tenant's window starts at its own watermark.
    source_db.execute(
        "UPDATE orders SET title = 'changed', amount = 1.5, updated_at = now() "
        "WHERE id IN (1001, 1002, 2050)"
    )
    source_db.execute(INSERT, edge_rows("acme", 5000, 3, datetime.now(UTC)))
    ids = request_all(setup)
    returned = work(app, settings, ids)
    # acme's task ran globex's and initech's transfers too, which found theirs done. empty_co
    # has never had a row, so no watermark: it runs as a first load again, on its own.
    assert returned == {"acme": "SUCCESS", "globex": None, "initech": None, "empty_co": "SUCCESS"}
    second = fetched(setup, ids)
    for tenant in ("acme", "globex", "initech"):
        assert second[tenant]["status"] == "SUCCESS", second[tenant]["log"]
        assert f"{ONE_PASS} 2 other transfer(s)" in second[tenant]["log"]
        assert second[tenant]["models_snapshot"][0]["model_name"] == "orders"
    assert ONE_PASS not in second["empty_co"]["log"]
    assert second["acme"]["delta_rows_transferred"] == 5
    assert second["globex"]["delta_rows_transferred"] == 1
    assert second["initech"]["delta_rows_transferred"] == 0
    metric = second["acme"]["model_metrics"][0]
    assert metric["rows_transferred"] >= 5
    assert metric["error"] is None
    assert metric["most_recent_last_updated_at"] > "2024-05-02"
    assert second["acme"]["volume_transferred_in_mb"] > 0
    assert_slices_match(setup, source_db, dest_db)
    destination = setup.api.ok("GET", f"/destinations/{setup.destinations['initech']}")
    assert destination["destination"]["last_completed_transfer"]["id"] == ids["initech"]

    # Nothing changed: nothing rewritten, but every _transfer_status still moves.
    before = {
        t: dest_db.rows(f'SELECT * FROM "{s}"._transfer_status')[0]["transfer_last_updated_at"]
        for t, s in setup.schemas.items()
    }
    ids = request_all(setup)
    work(app, settings, ids)
    third = fetched(setup, ids)
    assert {t["delta_rows_transferred"] for t in third.values()} == {0}
    assert f"{ONE_PASS} 2 other" in third["initech"]["log"]
    for tenant, schema in setup.schemas.items():
        after = dest_db.rows(f'SELECT * FROM "{schema}"._transfer_status')[0]
        assert after["transfer_last_updated_at"] > before[tenant]

    # A watermark moved by the pass is where the next read starts: a row stamped before it
    # (but after the lookback) is not read again, one stamped later is.
    source_db.execute("UPDATE orders SET title = 'later', updated_at = now() WHERE id = 3001")
    ids = request_all(setup, ("acme", "initech"))
    work(app, settings, ids)
    fourth = fetched(setup, ids)
    assert fourth["initech"]["delta_rows_transferred"] == 1
    assert fourth["acme"]["delta_rows_transferred"] == 0
    assert_slices_match(setup, source_db, dest_db)

    # A full refresh runs each transfer on its own.
    source_db.execute("DELETE FROM orders WHERE id IN (1003, 2003)")
    ids = request_all(setup, full_refresh=True)
    assert set(work(app, settings, ids).values()) == {"SUCCESS"}
    for done in fetched(setup, ids).values():
        assert ONE_PASS not in done["log"]
    assert_slices_match(setup, source_db, dest_db)


def test_transfers_that_are_not_alike_run_on_their_own(
    setup: Setup, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    first_loads(setup, app, settings)
    ids = request_all(setup, ("acme", "initech"))
    # Neither a full refresh nor an explicit window shares a pass with incremental runs.
    ids |= request_all(setup, ("globex",), full_refresh=True)
    ids |= request_all(setup, ("empty_co",), start_transfer_window_at="2024-01-01T00:00:00Z")
    assert work(app, settings, {"acme": ids["acme"]}) == {"acme": "SUCCESS"}
    states = fetched(setup, ids)
    assert f"{ONE_PASS} 1 other" in states["acme"]["log"]
    assert states["initech"]["status"] == "SUCCESS"
    assert states["globex"]["status"] == "PENDING"
    assert states["empty_co"]["status"] == "PENDING"
    rest = work(app, settings, {t: ids[t] for t in ("globex", "empty_co")})
    assert rest == {"globex": "SUCCESS", "empty_co": "SUCCESS"}
    states = fetched(setup, ids)
    assert ONE_PASS not in states["globex"]["log"]
    assert ONE_PASS not in states["empty_co"]["log"]
    assert_slices_match(setup, source_db, dest_db)


def test_a_group_size_of_one_runs_every_transfer_on_its_own(
    setup: Setup, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    alone = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"group_size": 1})}
    )
    first_loads(setup, app, alone)
    source_db.execute("UPDATE orders SET title = 'changed', updated_at = now() WHERE id = 2001")
    ids = request_all(setup)
    assert set(work(app, alone, ids).values()) == {"SUCCESS"}
    for done in fetched(setup, ids).values():
        assert ONE_PASS not in done["log"]
    assert_slices_match(setup, source_db, dest_db)


def test_a_pass_one_member_breaks_leaves_nothing_and_each_member_runs_on_its_own(
    setup: Setup, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    first_loads(setup, app, settings)
    # globex's recipient narrowed a column: its next merge fails, which rolls the whole pass
    # back, and each member runs again on its own.
    dest_db.execute('ALTER TABLE "out_globex".orders ALTER COLUMN amount TYPE integer USING 0')
    globex_before = dest_db.rows('SELECT * FROM "out_globex"._transfer_status')
    source_db.execute(
        "UPDATE orders SET title = 'changed', updated_at = now() WHERE id IN (1001, 2001, 3001)"
    )
    ids = request_all(setup, ("acme", "globex", "initech"))
    work(app, settings, ids)
    ended = fetched(setup, ids)
    for tenant in ("acme", "initech"):
        assert ended[tenant]["status"] == "SUCCESS", ended[tenant]["log"]
        assert "the shared pass stopped" in ended[tenant]["log"]
        assert "this transfer runs on its own" in ended[tenant]["log"]
        assert ended[tenant]["delta_rows_transferred"] == 1
        assert destination_slice(dest_db, setup.schemas[tenant]) == source_slice(source_db, tenant)
    assert ended["globex"]["status"] == "ERROR"
    assert ended["globex"]["model_metrics"][0]["error"]["error_code"]
    # globex's destination is as it was: the old title, the old status row.
    title = dest_db.rows('SELECT title FROM "out_globex".orders WHERE id = 2001')[0]["title"]
    assert title != "changed"
    assert dest_db.rows('SELECT * FROM "out_globex"._transfer_status') == globex_before


def test_a_table_dropped_since_the_last_run_is_backfilled_on_its_own(
    setup: Setup, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    first_loads(setup, app, settings)
    dest_db.execute('DROP TABLE "out_initech".orders')
    source_db.execute("UPDATE orders SET title = 'changed', updated_at = now() WHERE id = 1001")
    ids = request_all(setup)
    work(app, settings, ids)
    ended = fetched(setup, ids)
    assert {t["status"] for t in ended.values()} == {"SUCCESS"}
    assert f"{ONE_PASS} 2 other" in ended["acme"]["log"]
    assert "this transfer backfills it on its own" in ended["initech"]["log"]
    assert ended["initech"]["rows_transferred"] == 120
    assert ended["acme"]["delta_rows_transferred"] == 1
    assert_slices_match(setup, source_db, dest_db)


def test_two_workers_taking_the_same_transfers_run_each_exactly_once(
    setup: Setup, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    pairs = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"group_size": 2})}
    )
    first_loads(setup, app, pairs)
    source_db.execute(
        "UPDATE orders SET title = 'changed', updated_at = now() WHERE id IN (1001, 2001, 3001)"
    )
    ids = request_all(setup)
    outcomes: list[dict[str, str | None]] = []
    errors: list[BaseException] = []

    def worker(order: list[str]) -> None:
        try:
            outcomes.append(work(app, pairs, {t: ids[t] for t in order}))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(list(TENANTS),)),
        threading.Thread(target=worker, args=(list(reversed(TENANTS)),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A task that found its destination busy raises Transient (Celery retries it later).
    assert all(type(e).__name__ == "Transient" for e in errors), errors
    for tenant, ident in ids.items():
        if setup.api.ok("GET", f"/transfers/{ident}")["transfer"]["status"] == "PENDING":
            work(app, pairs, {tenant: ident})
    ended = fetched(setup, ids)
    assert {t["status"] for t in ended.values()} == {"SUCCESS"}
    assert {ended[t]["delta_rows_transferred"] for t in ("acme", "globex", "initech")} == {1}
    assert_slices_match(setup, source_db, dest_db)
