"""docker-compose.yml without a Docker engine: its structure, a strict Compose-spec parser, and
``docker compose config`` where the Compose plugin is installed. test_stack_native.py runs the
services' commands for real."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
from compose_spec import PyCompose

from tests.deploy.stack import (
    ALL_INTERFACES,
    COMPOSE_FILE,
    FERRY_SERVICES,
    MissingVariable,
    dockerfile,
    interpolate,
    load_compose,
    port_of,
    raw_compose,
)

SECRET = {"FERRY_SECRET_KEY": "a-secret-for-the-test"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(SECRET)


def services(compose: dict[str, Any]) -> dict[str, Any]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def test_interpolation_follows_compose() -> None:
    env = {"SET": "value", "EMPTY": ""}
    assert interpolate("${SET} $SET $$SET", env) == "value value $SET"
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "d d  d"
    assert interpolate("${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}", env) == "alt||alt"
    with pytest.raises(MissingVariable, match="needed"):
        interpolate("${EMPTY:?needed}", env)


def test_the_file_is_compose_spec_with_no_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in raw_compose()
    assert compose["name"] == "ferry"
    assert set(services(compose)) == {"postgres", "redis", *FERRY_SERVICES}


def test_a_strict_compose_spec_parser_accepts_it(compose: dict[str, Any]) -> None:
    """compose_spec (a Rust implementation of the Compose Specification) rejects unknown keys,
    bad durations, unknown depends_on conditions and the like. It reads the file as Compose
    does after interpolation and YAML merge keys (``docker compose config``'s view)."""
    parsed = PyCompose.from_json(json.dumps(compose))
    parsed.validate()
    assert sorted(parsed.service_names()) == sorted(services(compose))
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["healthcheck"]["intervall"] = "5s"
    with pytest.raises(ValueError, match="intervall"):
        PyCompose.from_json(json.dumps(broken))


def test_the_secret_key_must_be_set() -> None:
    with pytest.raises(MissingVariable, match="ferry keys secret"):
        load_compose({})
    with pytest.raises(MissingVariable):
        load_compose({"FERRY_SECRET_KEY": ""})


def test_ferry_services_share_one_image_and_one_environment(compose: dict[str, Any]) -> None:
    found = services(compose)
    anchor = compose["x-ferry-env"]
    assert anchor == {
        "FERRY_DATABASE_URL": "postgresql+psycopg://ferry:ferry@postgres:5432/ferry",
        "FERRY_BROKER_URL": "redis://redis:6379/0",
        "FERRY_SECRET_KEY": SECRET["FERRY_SECRET_KEY"],
        "FERRY_PUBLIC_URL": "http://localhost:8000",
        "FERRY_LOG_LEVEL": "INFO",
    }
    raw = raw_compose()["x-ferry-env"]["FERRY_SECRET_KEY"]
    assert raw.startswith("${FERRY_SECRET_KEY:?"), raw
    images = {found[name]["image"] for name in FERRY_SERVICES}
    assert images == {"ferry:local"}
    for name in FERRY_SERVICES:
        service = found[name]
        assert service["build"] == ".", name
        assert service["environment"] == anchor, name
        # The image's ENTRYPOINT (ferry) runs the command; nothing overrides it or the user.
        assert "entrypoint" not in service, name
        assert "user" not in service, name


def test_each_ferry_service_runs_its_command(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert found["migrate"]["command"] == ["migrate"]
    assert found["api"]["command"] == ["serve", "--host", ALL_INTERFACES, "--port", "8000"]
    assert found["worker"]["command"] == ["worker"]
    assert found["scheduler"]["command"] == ["scheduler"]
    assert found["worker"]["deploy"]["replicas"] == 2
    # The one-shot migration is not restarted; the long-running services are.
    assert found["migrate"]["restart"] == "no"
    for name in ("postgres", "redis", "api", "worker", "scheduler"):
        assert found[name]["restart"] == "unless-stopped", name


def test_start_order_waits_for_health_and_migrations(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert found["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker", "scheduler"):
        assert found[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_health_checks(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert found["postgres"]["healthcheck"]["test"] == [
        "CMD-SHELL",
        "pg_isready -U ferry -d ferry",
    ]
    assert found["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    api = found["api"]["healthcheck"]["test"]
    assert api[:3] == ["CMD", "python", "-c"]
    assert f"'127.0.0.1', {port_of(found['api']['command'])}" in api[3]
    # The API's check is the image's own HEALTHCHECK.
    (healthcheck,) = [i for i in dockerfile() if i.keyword == "HEALTHCHECK"]
    assert json.loads(healthcheck.value.split(" CMD ", 1)[1]) == api[1:]
    # The rest of the stack answers no HTTP: the image's check is off for them.
    for name in ("migrate", "worker", "scheduler"):
        assert found[name]["healthcheck"] == {"disable": True}, name
    for name in ("postgres", "redis", "api"):
        check = found[name]["healthcheck"]
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_data_lives_in_named_volumes_and_only_the_api_is_published(
    compose: dict[str, Any],
) -> None:
    found = services(compose)
    assert found["postgres"]["image"] == "postgres:16"
    assert found["redis"]["image"] == "redis:7"
    assert found["postgres"]["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert found["redis"]["volumes"] == ["redis-data:/data"]
    assert "--appendonly" in found["redis"]["command"]
    declared = set(compose["volumes"])
    used = {v.split(":", 1)[0] for s in found.values() for v in s.get("volumes", [])}
    assert used == declared == {"postgres-data", "redis-data"}
    assert found["api"]["ports"] == ["8000:8000"]
    assert [name for name, s in found.items() if "ports" in s] == ["api"]
    postgres_env = found["postgres"]["environment"]
    url = compose["x-ferry-env"]["FERRY_DATABASE_URL"]
    user, password, db = (
        postgres_env["POSTGRES_USER"],
        postgres_env["POSTGRES_PASSWORD"],
        postgres_env["POSTGRES_DB"],
    )
    assert url == f"postgresql+psycopg://{user}:{password}@postgres:5432/{db}"


def test_docker_compose_config_accepts_it() -> None:
    """``docker compose config`` validates offline, where the Compose plugin is installed."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    plugin = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60, check=False
    )
    if plugin.returncode != 0:
        pytest.skip("the docker CLI has no compose plugin")
    env = dict(os.environ) | SECRET
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
