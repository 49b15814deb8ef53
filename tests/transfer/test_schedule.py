"""The scheduler's decisions and the engine's retry policy, on the real metadata database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from ferry import transfer
from ferry.db.engine import session_scope
from ferry.db.models import Transfer
from ferry.errors import Transient
from ferry.settings import Settings
from ferry.transfer import schedule
from tests.transfer.conftest import Database, Setup

Run = Callable[..., dict[str, Any]]


def test_slots_are_anchored_at_midnight_utc() -> None:
    at = datetime(2024, 7, 1, 13, 47, 12, tzinfo=UTC)
    assert schedule.slot_start(at, 15) == datetime(2024, 7, 1, 13, 45, tzinfo=UTC)
    assert schedule.slot_start(at, 60) == datetime(2024, 7, 1, 13, 0, tzinfo=UTC)
    assert schedule.slot_start(at, 360) == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    assert schedule.slot_start(at, 720) == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    assert schedule.slot_start(at, 1440) == datetime(2024, 7, 1, tzinfo=UTC)


def pending(setup: Setup, tenant: str) -> list[dict[str, Any]]:
    return setup.api.ok(
        "GET", f"/destinations/{setup.destinations[tenant]}/transfers?status=PENDING"
    )["transfers"]


def test_due_destinations_get_one_transfer_per_slot(
    setup: Setup, app: Any, settings: Settings
) -> None:
    sessions = app.state.runtime.sessions
    setup.api.ok(
        "PATCH",
        f"/destinations/{setup.destinations['globex']}",
        json={"destination": {"is_enabled": False}},
    )
    setup.api.ok(
        "PATCH",
        f"/destinations/{setup.destinations['acme']}",
        json={"destination": {"frequency_minutes": 60}},
    )
    now = datetime.now(UTC)
    first = schedule.tick(sessions, settings, now=now)
    assert first.scheduled >= 3
    assert len(pending(setup, "acme")) == 1
    assert pending(setup, "globex") == []  # disabled destinations are not scheduled
    scheduled = pending(setup, "acme")[0]
    assert scheduled["actor_type"] == "scheduler"
    # The same slot again: nothing new.
    assert schedule.tick(sessions, settings, now=now).scheduled == 0
    # Once the transfer ended, the next hourly slot brings the next one.
    setup.api.ok("POST", f"/transfers/{scheduled['id']}/cancel")
    later = schedule.tick(sessions, settings, now=now + timedelta(hours=1))
    assert later.scheduled >= 1
    assert len(pending(setup, "acme")) == 1


def test_two_schedulers_at_once_start_one_transfer(
    setup: Setup, app: Any, settings: Settings
) -> None:
    sessions = app.state.runtime.sessions
    now = datetime.now(UTC)
    results: list[int] = []

    def tick() -> None:
        results.append(schedule.tick(sessions, settings, now=now).scheduled)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == len(setup.destinations)
    for tenant in setup.destinations:
        assert len(pending(setup, tenant)) == 1


def test_pending_transfers_nobody_ran_expire_and_lost_ones_are_woken(
    setup: Setup, app: Any, settings: Settings
) -> None:
    sessions = app.state.runtime.sessions
    made = setup.api.ok("POST", f"/destinations/{setup.destinations['acme']}/transfer")
    transfer_id = uuid.UUID(made["transfer_id"])
    sent: list[tuple[str, dict[str, Any]]] = []
    info = sessions.kw.setdefault("info", {})
    info["job_sender"] = lambda name, kwargs: sent.append((name, kwargs))
    try:
        soon = datetime.now(UTC) + timedelta(minutes=5)
        assert schedule.tick(sessions, settings, now=soon).requeued >= 1
        assert ("ferry.transfer.run", {"transfer_id": str(transfer_id)}) in sent
        # Not again right away: a long queue is not flooded with duplicates.
        sent.clear()
        schedule.tick(sessions, settings, now=soon + timedelta(seconds=30))
        assert ("ferry.transfer.run", {"transfer_id": str(transfer_id)}) not in sent
    finally:
        info.pop("job_sender", None)
    day_later = datetime.now(UTC) + timedelta(hours=25)
    assert schedule.tick(sessions, settings, now=day_later).expired >= 1
    found = setup.api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
    assert found["status"] == "EXPIRED"


def test_an_unreachable_destination_is_retried_then_fails(
    setup: Setup, app: Any, settings: Settings
) -> None:
    sessions = app.state.runtime.sessions
    setup.api.ok(
        "PATCH",
        f"/destinations/{setup.destinations['acme']}",
        json={"destination": {"postgres": {"port": 1}}},
    )
    made = setup.api.ok("POST", f"/destinations/{setup.destinations['acme']}/transfer")
    transfer_id = uuid.UUID(made["transfer_id"])
    limited = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"max_attempts": 2})}
    )
    with pytest.raises(Transient, match="refused"):
        transfer.run(sessions, transfer_id, worker="w", settings=limited)
    again = setup.api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
    assert again["status"] == "PENDING"
    assert "will retry" in again["log"]
    # The last attempt gives up with the reason.
    assert transfer.run(sessions, transfer_id, worker="w", settings=limited) == "ERROR"
    failed = setup.api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
    assert failed["model_metrics"][0]["error"]["error_code"] == "PRQL-REFUSED"


def test_a_busy_destination_makes_the_task_wait(setup: Setup, app: Any, settings: Settings) -> None:
    sessions = app.state.runtime.sessions
    made = setup.api.ok("POST", f"/destinations/{setup.destinations['acme']}/transfer")
    transfer_id = uuid.UUID(made["transfer_id"])
    # Another worker's unexpired lease on the destination.
    from ferry.db.models import Destination

    with session_scope(sessions) as session:
        session.execute(
            update(Destination)
            .where(Destination.id == uuid.UUID(setup.destinations["acme"]))
            .values(
                lease_holder="someone-else",
                lease_expires_at=datetime.now(UTC) + timedelta(minutes=1),
            )
        )
    with pytest.raises(Transient, match="busy"):
        transfer.run(sessions, transfer_id, worker="w", settings=settings)
    with session_scope(sessions) as session:
        assert session.get_one(Transfer, transfer_id).status == "PENDING"


def test_a_finished_transfer_is_not_run_twice(
    setup: Setup, run_transfer: Run, app: Any, settings: Settings, dest_db: Database
) -> None:
    done = run_transfer(setup.api, setup.destinations["acme"])
    assert (
        transfer.run(
            app.state.runtime.sessions, uuid.UUID(done["id"]), worker="again", settings=settings
        )
        is None
    )
