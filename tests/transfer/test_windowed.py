"""Windowed transfers (spec §9.9): a model with ``max_transfer_time_window_seconds`` lands its
rows window by window, each committed with the watermark, so a failure resumes at the window
that failed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from ferry.transfer.windows import MICROSECOND, Windows
from tests.transfer.conftest import Database, Setup, destination_slice, source_slice

Run = Callable[..., dict[str, Any]]
DAY = 86400
DAY_WIDTH = timedelta(days=1)
WINDOW_LINE = re.compile(r"window (\S+) to (\S+) committed: (\d+) row\(s\)")


def spread_over_days(source_db: Database, tenant: str, days: int) -> None:
    """The tenant's rows (but the NULL one) modified across ``days`` days of May 2024."""
    source_db.execute(
        "UPDATE orders SET updated_at = TIMESTAMPTZ '2024-05-01 00:00:00+00' "
        f"+ (id % {days}) * INTERVAL '1 day' + id * INTERVAL '1 second' "
        "WHERE org_id = :tenant AND updated_at IS NOT NULL",
        {"tenant": tenant},
    )


def windows_of(transfer: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(a, b, int(n)) for a, b, n in WINDOW_LINE.findall(transfer["log"])]


def test_a_backfill_is_committed_window_by_window(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    spread_over_days(source_db, "acme", 4)
    setup.api.ok(
        "PATCH",
        f"/models/{setup.model_id}",
        json={"model": {"max_transfer_time_window_seconds": DAY}},
    )
    done = run_transfer(setup.api, setup.destinations["acme"])
    assert done["status"] == "SUCCESS", done["log"]
    windows = windows_of(done)
    # Aligned on the oldest row's timestamp, one day each, in order, every row in one of them.
    assert len(windows) == 4
    assert [w[0] for w in windows[1:]] == [w[1] for w in windows[:-1]]
    assert "window of rows with a NULL updated_at committed: 1 row(s)" in done["log"]
    assert sum(w[2] for w in windows) + 1 == done["rows_transferred"] == 120
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_a_failed_window_keeps_the_windows_before_it_and_resumes_there(
    setup: Setup, source_db: Database, dest_db: Database, run_transfer: Run
) -> None:
    spread_over_days(source_db, "acme", 2)
    setup.api.ok(
        "PATCH",
        f"/models/{setup.model_id}",
        json={"model": {"max_transfer_time_window_seconds": DAY}},
    )
    assert run_transfer(setup.api, setup.destinations["acme"])["status"] == "SUCCESS"

    # Changes on three later days; the recipient's table refuses the third day's row.
    dest_db.execute(
        'ALTER TABLE "out_acme".orders ADD CONSTRAINT no_marker CHECK (quantity <> 424242)'
    )
    for row_id, day, quantity in ((1001, 1, 1), (1003, 2, 3), (1005, 3, 424242)):
        source_db.execute(
            "UPDATE orders SET quantity = :quantity, "
            "updated_at = TIMESTAMPTZ '2024-06-01 12:00:00+00' + :day * INTERVAL '1 day' "
            "WHERE id = :id",
            {"quantity": quantity, "day": day, "id": row_id},
        )
    failed = run_transfer(setup.api, setup.destinations["acme"])
    assert failed["status"] == "ERROR"
    assert "no_marker" in failed["model_metrics"][0]["error"]["trace"]
    quantities = {
        r["id"]: r["quantity"]
        for r in dest_db.rows('SELECT id, quantity FROM "out_acme".orders WHERE id < 1006')
    }
    # The two windows before the failing one are in; the failing one is not.
    assert (quantities[1001], quantities[1003], quantities[1005]) == (1, 3, -1005)
    assert failed["model_metrics"][0]["most_recent_last_updated_at"] == "2024-06-03T12:00:00Z"

    dest_db.execute('ALTER TABLE "out_acme".orders DROP CONSTRAINT no_marker')
    resumed = run_transfer(setup.api, setup.destinations["acme"])
    assert resumed["status"] == "SUCCESS", resumed["log"]
    # It starts from the last committed window, not from the failed run's start.
    assert "reading rows modified since 2024-06-03" in resumed["log"]
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_windows_cut_batches_at_their_edges_whatever_the_batch_size() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    stamps = [start + timedelta(hours=h) for h in (0, 1, 5, 6, 6, 30, 71)] + [None, None]
    table = pa.table({"id": list(range(len(stamps))), "at": pa.array(stamps, MICROSECOND)})
    for size in (1, 2, 3, 100):
        cut = Windows(
            iter(table.to_batches(max_chunksize=size)),
            index=1,
            width=timedelta(hours=6),
            origin=start - timedelta(hours=1),
        )
        seen = []
        for piece in cut:
            ids = [i for batch in piece.batches for i in batch.column(0).to_pylist()]
            seen.append((piece.since, ids, piece.newest))
        hour = timedelta(hours=1)
        assert seen == [
            (start - hour, [0, 1], start + hour),
            (start + 5 * hour, [2, 3, 4], start + 6 * hour),
            (start + 29 * hour, [5], start + 30 * hour),
            (start + 71 * hour, [6], start + 71 * hour),
            (None, [7, 8], None),
        ], size


def test_a_window_left_unread_is_skipped_not_mixed_into_the_next() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    stamps = [start, start + timedelta(minutes=1), start + timedelta(days=2)]
    table = pa.table({"at": pa.array(stamps, MICROSECOND)})
    pieces = iter(
        Windows(iter(table.to_batches(max_chunksize=1)), index=0, width=DAY_WIDTH, origin=None)
    )
    next(pieces)  # not read
    second = next(pieces)
    assert [b.num_rows for b in second.batches] == [1]
    assert second.since == start + 2 * DAY_WIDTH
