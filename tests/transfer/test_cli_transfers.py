"""`ferry transfers run` as an operator runs it: a real process, following a real transfer."""

from __future__ import annotations

import re
from pathlib import Path

from ferry.settings import Settings
from tests.processes import clean_env, run
from tests.transfer.conftest import Database, Setup, destination_slice, source_slice


def env_for(settings: Settings) -> dict[str, str]:
    assert settings.secret_key is not None
    return clean_env(
        FERRY_DATABASE_URL=settings.database_url,
        FERRY_SECRET_KEY=settings.secret_key.get_secret_value(),
    )


def test_transfers_run_follows_a_transfer_to_its_end(
    setup: Setup, source_db: Database, dest_db: Database, settings: Settings, tmp_path: Path
) -> None:
    done = run(["transfers", "run", setup.destinations["acme"]], env_for(settings), tmp_path)
    assert done.returncode == 0, done.stderr
    transfer_id = done.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", transfer_id)
    assert "orders" in done.stderr  # the live table names each model
    assert "SUCCESS" in done.stderr
    assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")
    shown = setup.api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
    assert shown["actor_type"] == "user"


def test_transfers_run_without_following_waits_when_it_runs_the_transfer_itself(
    setup: Setup, settings: Settings, tmp_path: Path
) -> None:
    done = run(
        ["transfers", "run", setup.destinations["globex"], "--no-follow", "--full-refresh"],
        env_for(settings),
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    shown = setup.api.ok("GET", f"/transfers/{done.stdout.strip()}")["transfer"]
    assert (shown["status"], shown["is_full_refresh"]) == ("SUCCESS", True)


def test_transfers_run_explains_an_unknown_destination(settings: Settings, tmp_path: Path) -> None:
    done = run(
        ["transfers", "run", "8f14e45f-ceea-467f-a8b6-3c2b5c8b1a01"], env_for(settings), tmp_path
    )
    assert done.returncode == 1
    assert "not found" in done.stderr
    bad = run(["transfers", "run", "not-an-id"], env_for(settings), tmp_path)
    assert bad.returncode == 1
    assert "destination_id" in bad.stderr
