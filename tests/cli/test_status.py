"""``ferry status`` as an operator runs it: real processes, a real broker and worker."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ferry.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.processes import clean_env, run, started

REDIS = "redis://127.0.0.1:6379/0"


def status(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run(["status", "--json", *args], env, cwd)
    try:
        return result.returncode, json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON:\n{result.stdout}\n{result.stderr}") from None


def test_a_fresh_embedded_install_is_healthy(tmp_path: Path) -> None:
    env = clean_env()
    assert run(["migrate"], env, tmp_path).returncode == 0
    code, report = status(env, tmp_path)
    assert code == 0, report
    assert report["healthy"] is True
    checks = report["checks"]
    assert list(checks) == ["database", "broker", "workers", "transfers", "scheduler"]
    assert checks["database"]["state"] == "ok"
    assert checks["broker"]["state"] == "embedded"
    assert checks["workers"]["state"] == "embedded"
    assert checks["transfers"] | {"detail": None} == {
        "state": "ok",
        "detail": None,
        "running": 0,
        "pending": 0,
        "due": 0,
        "orphaned_last_day": 0,
    }
    assert checks["scheduler"]["state"] == "ok"


def test_the_table_says_what_is_down(tmp_path: Path) -> None:
    result = run(["status"], clean_env(), tmp_path)
    assert result.returncode == 1
    assert "DOWN" in result.stdout
    assert "no such file" in result.stdout
    # Checking changed nothing: no database was created.
    assert not (tmp_path / "ferry.db").exists()


def test_an_unmigrated_database_is_down(tmp_path: Path) -> None:
    env = clean_env()
    assert run(["migrate"], env, tmp_path).returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "ferry.db") as connection:
        connection.execute("DELETE FROM alembic_version")
    code, report = status(env, tmp_path)
    assert code == 1
    assert "ferry migrate" in report["checks"]["database"]["detail"]


@pytest.mark.redis
def test_an_unreachable_broker_is_down(tmp_path: Path) -> None:
    env = clean_env(FERRY_BROKER_URL="redis://127.0.0.1:1/0")
    assert run(["migrate"], env, tmp_path).returncode == 0
    code, report = status(env, tmp_path)
    assert code == 1
    assert report["healthy"] is False
    assert report["checks"]["broker"]["state"] == "down"
    assert report["checks"]["workers"]["state"] == "down"
    assert report["checks"]["database"]["state"] == "ok"


@pytest.mark.redis
@pytest.mark.celery
@pytest.mark.slow
def test_workers_on_the_queue_answer(tmp_path: Path, settings: Settings) -> None:
    assert settings.secret_key is not None
    queue = f"ferry-status-{uuid.uuid4().hex[:8]}"
    env = clean_env(
        FERRY_DATABASE_URL=settings.database_url,
        FERRY_SECRET_KEY=settings.secret_key.get_secret_value(),
        FERRY_BROKER_URL=REDIS,
        FERRY_BROKER_QUEUE=queue,
    )
    code, report = status(env, tmp_path, "--timeout", "0.5")
    assert report["checks"]["workers"]["state"] == "down"
    assert report["checks"]["broker"]["state"] == "ok"
    assert report["checks"]["broker"]["queue_depth"] == 0
    assert code == 1

    with started(["worker"], env, tmp_path, "worker") as worker:
        deadline = time.monotonic() + 60
        while True:
            code, report = status(env, tmp_path, "--timeout", "1")
            if report["checks"]["workers"]["state"] == "ok":
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{report}\n{worker.output()}")
            time.sleep(0.5)
    assert len(report["checks"]["workers"]["workers"]) == 1
    assert report["checks"]["broker"]["queue"] == queue


def test_a_destination_due_for_long_means_no_scheduler_runs(
    api: Api, tmp_path: Path, settings: Settings
) -> None:
    now = datetime.now(UTC)
    if now.hour == 0 and now.minute < 6:
        pytest.skip("a daily slot that started less than the grace period ago")
    recipient = api.ok("POST", "/recipients", json=factories.recipient())["recipient"]
    body = factories.postgres_destination(recipient["id"], frequency_minutes=1440)
    destination = api.ok("POST", "/destinations", json=body)["destination"]
    env = clean_env(FERRY_DATABASE_URL=settings.database_url)

    code, report = status(env, tmp_path)

    assert code == 1
    scheduler = report["checks"]["scheduler"]
    assert scheduler["state"] == "down"
    assert destination["id"] in scheduler["overdue_destinations"]
    assert "ferry scheduler" in scheduler["detail"]
    assert report["checks"]["transfers"]["due"] >= 1
