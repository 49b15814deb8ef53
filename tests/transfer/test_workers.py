"""Transfers run by real processes: `ferry worker` over Redis, a worker killed mid-load, and
cancellation while running."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from ferry.jobs import SENDER
from ferry.settings import Settings
from ferry.transfer import schedule
from tests.conftest import Api
from tests.processes import Process, clean_env, started
from tests.transfer.conftest import Database, Setup, destination_slice, source_slice
from workers.app import make_celery, sender

pytestmark = [pytest.mark.redis, pytest.mark.celery, pytest.mark.slow]

REDIS = "redis://127.0.0.1:6379/0"
TERMINAL = {"SUCCESS", "PARTIAL_FAILURE", "ERROR", "CANCELLED", "EXPIRED", "ORPHANED"}
# While a row is in `pause`, rows after the first fifty slow down (the sleep is per row, as it
# depends on o.id): a load that can be caught half way, its first rows already delivered.
SLOW_QUERY = (
    "SELECT o.* FROM orders o CROSS JOIN LATERAL (SELECT pg_sleep(CASE WHEN "
    "o.id > 1050 AND EXISTS (SELECT 1 FROM pause) THEN 0.3 ELSE 0 END)) AS p"
)


@pytest.fixture
def queue(settings: Settings, app: Any) -> Iterator[Settings]:
    """Settings for a broker queue of this test alone; the API's commits are sent to it."""
    name = f"ferry-test-{uuid.uuid4().hex[:8]}"
    broker = settings.model_copy(update={"broker_url": REDIS, "broker_queue": name})
    info = app.state.runtime.sessions.kw.setdefault("info", {})
    info[SENDER] = sender(make_celery(broker))
    try:
        yield broker
    finally:
        info.pop(SENDER, None)
        redis.Redis.from_url(REDIS).delete(name)


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    assert settings.secret_key is not None
    return clean_env(
        FERRY_DATABASE_URL=settings.database_url,
        FERRY_SECRET_KEY=settings.secret_key.get_secret_value(),
        FERRY_BROKER_URL=REDIS,
        FERRY_BROKER_QUEUE=settings.broker_queue,
        FERRY_WORKER__HEARTBEAT_SECONDS="1",
        FERRY_WORKER__LEASE_SECONDS="10",
        FERRY_WORKER__BATCH_BYTES="2048",
        FERRY_LOG_LEVEL="INFO",
        **extra,
    )


def wait_for(
    api: Api, transfer_id: str, predicate: Any, process: Process | None = None, timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
        if predicate(found):
            return found
        if time.monotonic() > deadline:
            logs = process.output() if process else ""
            raise AssertionError(f"transfer stuck at {found['status']}\n{found['log']}\n{logs}")
        time.sleep(0.2)


def request(api: Api, destination_id: str, **body: Any) -> str:
    return str(api.ok("POST", f"/destinations/{destination_id}/transfer", json=body)["transfer_id"])


def test_a_redis_worker_runs_requested_transfers(
    setup: Setup, source_db: Database, dest_db: Database, queue: Settings, tmp_path: Path
) -> None:
    with started(["worker"], worker_env(queue), tmp_path, "worker") as worker:
        ids = {tenant: request(setup.api, d) for tenant, d in setup.destinations.items()}
        for tenant, transfer_id in ids.items():
            done = wait_for(setup.api, transfer_id, lambda t: t["status"] in TERMINAL, worker)
            assert done["status"] == "SUCCESS", done["log"]
            if tenant != "empty_co":
                assert destination_slice(dest_db, setup.schemas[tenant]) == source_slice(
                    source_db, tenant
                )


@pytest.fixture
def slow_setup(setup: Setup, source_db: Database) -> Setup:
    source_db.execute("CREATE TABLE pause (on_purpose BOOLEAN)")
    # Rows must stream while they are read, as they do when an index serves the read's order
    # (tenant, last-modified, key) instead of a sort: make this small table use that index.
    source_db.execute("CREATE INDEX orders_read_order ON orders (org_id, updated_at, id)")
    source_db.execute(f'ALTER DATABASE "{source_db.name}" SET enable_seqscan = off')
    source_db.execute(f'ALTER DATABASE "{source_db.name}" SET enable_sort = off')
    setup.api.ok(
        "PATCH",
        f"/models/{setup.model_id}",
        json={"skip_model_validation": True, "model": {"source_query": SLOW_QUERY}},
    )
    return setup


def test_a_worker_killed_mid_load_leaves_the_destination_as_before_and_the_retry_completes(
    slow_setup: Setup,
    source_db: Database,
    dest_db: Database,
    queue: Settings,
    app: Any,
    tmp_path: Path,
) -> None:
    api, destination = slow_setup.api, slow_setup.destinations["acme"]
    env = worker_env(queue)
    with started(["worker"], env, tmp_path, "first-worker") as worker:
        first = request(api, destination)
        wait_for(api, first, lambda t: t["status"] == "SUCCESS", worker)
    before = destination_slice(dest_db, "out_acme")

    source_db.execute(
        "UPDATE orders SET title = 'second version', updated_at = now() WHERE org_id = 'acme'"
    )
    source_db.execute("INSERT INTO pause VALUES (true)")
    with started(["worker"], env, tmp_path, "doomed-worker") as doomed:
        second = request(api, destination)
        # Rows are flowing into the destination's staging table when the worker dies.
        wait_for(
            api, second, lambda t: t["status"] == "RUNNING" and t["rows_transferred"] >= 20, doomed
        )
        doomed.kill()
    assert destination_slice(dest_db, "out_acme") == before
    assert api.ok("GET", f"/transfers/{second}")["transfer"]["status"] == "RUNNING"

    # Its heartbeat goes stale: the scheduler marks it ORPHANED and queues a retry.
    source_db.execute("DELETE FROM pause")
    later = datetime.now(UTC) + timedelta(seconds=queue.worker.lease_seconds + 5)
    ticked = schedule.tick(app.state.runtime.sessions, queue, now=later)
    assert (ticked.orphaned, ticked.retried) == (1, 1)
    orphan = api.ok("GET", f"/transfers/{second}")["transfer"]
    assert orphan["status"] == "ORPHANED"
    assert "marked ORPHANED" in orphan["log"]
    retries = api.ok("GET", f"/destinations/{destination}/transfers?status=PENDING")
    (retry,) = retries["transfers"]
    with started(["worker"], env, tmp_path, "second-worker") as worker:
        done = wait_for(api, retry["id"], lambda t: t["status"] in TERMINAL, worker)
    assert done["status"] == "SUCCESS", done["log"]
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")


def test_cancelling_a_running_transfer_stops_it_and_rolls_back_its_model(
    slow_setup: Setup, source_db: Database, dest_db: Database, queue: Settings, tmp_path: Path
) -> None:
    api, destination = slow_setup.api, slow_setup.destinations["acme"]
    source_db.execute("INSERT INTO pause VALUES (true)")
    with started(["worker"], worker_env(queue), tmp_path, "worker") as worker:
        transfer_id = request(api, destination)
        wait_for(
            api, transfer_id, lambda t: t["status"] == "RUNNING" and t["rows_transferred"], worker
        )
        answer = api.ok("POST", f"/transfers/{transfer_id}/cancel")
        assert answer["transfer"]["status"] == "RUNNING"
        done = wait_for(api, transfer_id, lambda t: t["status"] in TERMINAL, worker)
    assert done["status"] == "CANCELLED"
    assert done["ended_at"]
    tables = dest_db.rows(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'out_acme' AND table_name = 'orders'"
    )
    assert tables == []  # the model's first load never committed
    events = api.ok("GET", "/logs?event_type=TRANSFER_CANCELED")["event_logs"]
    assert [e["resource_id"] for e in events] == [transfer_id]
