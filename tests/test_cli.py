"""The ``ferry`` command as an operator runs it: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from ferry.api.app import ROUTERS
from ferry.api.openapi import build_openapi
from ferry.api.versions import ApiVersion
from ferry.settings import Settings
from tests.conftest import PROJECT_ROOT
from tests.processes import FERRY, clean_env, free_port, run


def test_keys_create_prints_only_the_key(tmp_path: Path) -> None:
    env = clean_env()
    staging = run(["keys", "create", "--org", "acme"], env, tmp_path)
    prod = run(["keys", "create", "--org", "acme", "--env", "prod"], env, tmp_path)
    assert staging.returncode == 0, staging.stderr
    assert re.fullmatch(r"sk_staging_[0-9a-f]{32}\n", staging.stdout)
    assert re.fullmatch(r"sk_prod_[0-9a-f]{32}\n", prod.stdout)
    # The embedded default: a SQLite file in the working directory, migrated on first use.
    assert (tmp_path / "ferry.db").exists()


def test_keys_create_rejects_an_unknown_environment(tmp_path: Path) -> None:
    result = run(["keys", "create", "--org", "acme", "--env", "qa"], clean_env(), tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "staging" in result.stderr


def test_keys_secret_is_a_fernet_key(tmp_path: Path) -> None:
    result = run(["keys", "secret"], clean_env(), tmp_path)
    Fernet(result.stdout.strip().encode())  # raises if it is not a valid key


def test_openapi_documents_are_current() -> None:
    for version in ApiVersion:
        committed = (PROJECT_ROOT / "openapi" / f"{version.value}.json").read_text()
        assert json.loads(committed) == build_openapi(ROUTERS, version), (
            f"openapi/{version.value}.json is stale: run `ferry openapi`"
        )


def test_openapi_check_command(tmp_path: Path) -> None:
    assert run(["openapi", "--check"], clean_env(), tmp_path).returncode == 0
    stale = run(["openapi", "--check", "--directory", str(tmp_path)], clean_env(), tmp_path)
    assert stale.returncode == 1
    assert "stale" in stale.stderr


def test_serve_refuses_an_unmigrated_postgres(tmp_path: Path, settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("needs a PostgreSQL metadata database (FERRY_DATABASE_URL)")
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"ferry_unmigrated_{os.getpid()}"
    admin = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(settings.database_url).set(database=name)
        env = clean_env(
            FERRY_DATABASE_URL=url.render_as_string(hide_password=False),
            FERRY_SECRET_KEY=Fernet.generate_key().decode(),
        )
        result = run(["serve", "--port", str(free_port())], env, tmp_path)
        assert result.returncode == 1
        assert "ferry migrate" in result.stderr
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_serve_requires_a_secret_key_outside_embedded_mode(tmp_path: Path) -> None:
    env = clean_env(FERRY_BROKER_URL="redis://127.0.0.1:6379/15")
    result = run(["serve", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 1
    assert "FERRY_SECRET_KEY" in result.stderr


@pytest.fixture
def live_server(tmp_path: Path, settings: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    """``ferry serve`` as a real process on the test database."""
    env = clean_env(
        FERRY_DATABASE_URL=settings.database_url,
        FERRY_SECRET_KEY=settings.secret_key.get_secret_value(),  # type: ignore[union-attr]
    )
    port = free_port()
    log_path = tmp_path / "serve.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [*FERRY, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"ferry serve did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield base, env
    finally:
        process.terminate()
        process.wait(timeout=30)
        log_file.close()


@pytest.mark.live
def test_live_server_answers_over_http(
    live_server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = live_server
    created = run(["keys", "create", "--org", f"live-{os.getpid()}"], env, tmp_path)
    key = created.stdout.strip()
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/").status_code == 401
        alive = http.get("/", headers={"X-API-KEY": key})
        assert alive.status_code == 200
        assert alive.json()["data"]["environment"] == "staging"
        made = http.post(
            "/recipients",
            headers={"x-api-key": key},
            content=b'{"recipient": {"id_in_provider_system": "live"}}',
        )
        assert made.status_code == 200
        assert made.json()["data"]["recipient"]["name"] == "live"
        listed = http.get("/recipients", headers={"X-Api-Key": key})
        assert [r["id_in_provider_system"] for r in listed.json()["data"]["recipients"]] == ["live"]
        assert listed.headers["x-request-id"]
        missing = http.get("/nowhere", headers={"X-API-KEY": key})
        assert missing.status_code == 404
        assert missing.json()["status"] == "error"
