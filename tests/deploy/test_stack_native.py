"""The Compose stack without Docker: the commands of docker-compose.yml's services, read from the
file, run as real processes against this machine's PostgreSQL and Redis — the migration once,
then the API, two workers and the scheduler — with Compose's shared environment, pointed at a
throwaway metadata database and a broker queue of this test alone.

Through them, end to end: an API key from ``ferry keys create``, a PostgreSQL source, a model,
recipients and PostgreSQL destinations configured over HTTP; transfers requested through the
API, run by the two workers (each takes some) and landed in the destination; and a transfer the
scheduler starts by itself for a destination that is due.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from tests.deploy.stack import (
    FERRY_SERVICES,
    healthcheck_argv,
    load_compose,
    port_of,
    with_port,
)
from tests.processes import Process, clean_env, free_port, run, started, wait_for_http
from tests.transfer.conftest import (
    INSERT,
    PG,
    SOURCE_DDL,
    Database,
    destination_slice,
    fresh_database,
    order_model,
    source_rows,
    source_slice,
)

pytestmark = [pytest.mark.slow, pytest.mark.live, pytest.mark.redis, pytest.mark.postgres]

REDIS = "redis://127.0.0.1:6379/0"
TERMINAL = {"SUCCESS", "PARTIAL_FAILURE", "ERROR", "CANCELLED", "EXPIRED", "ORPHANED"}
# Requested through the API (their destinations are disabled: the scheduler leaves them be).
REQUESTED = ("acme", "initech", "empty_co")
# Due at once for the scheduler: enabled, every 15 minutes, never scheduled.
SCHEDULED = "globex"
# Each read of the source waits a few seconds, so that transfers overlap: a worker holds at
# most two at once, and the other worker takes the rest.
SLOW_SOURCE = "SELECT o.* FROM orders o CROSS JOIN (SELECT pg_sleep(4)) AS held"


def _require_services() -> None:
    problems = []
    engine = sa.create_engine(f"{PG}/postgres")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        problems.append(f"PostgreSQL on 127.0.0.1:5432: {exc}")
    finally:
        engine.dispose()
    try:
        with redis.Redis.from_url(REDIS) as client:
            client.ping()
    except redis.RedisError as exc:
        problems.append(f"Redis on 127.0.0.1:6379: {exc}")
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def metadata_db() -> Iterator[Database]:
    _require_services()
    yield from fresh_database("ferry_stack")


@pytest.fixture
def source_db() -> Iterator[Database]:
    for database in fresh_database("ferry_stack_src"):
        database.execute(SOURCE_DDL)
        database.execute(INSERT, source_rows())
        yield database


@pytest.fixture
def dest_db() -> Iterator[Database]:
    yield from fresh_database("ferry_stack_dst")


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"ferry-stack-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        with redis.Redis.from_url(REDIS) as client:
            client.delete(name)


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"X-API-KEY": key}, timeout=30)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]


def _stack_env(
    compose: dict[str, Any], database_url: str, queue: str, public_url: str
) -> dict[str, str]:
    """Compose's shared environment, its addresses swapped for this machine's."""
    env = {str(k): str(v) for k, v in compose["x-ferry-env"].items()}
    for name in FERRY_SERVICES:
        assert compose["services"][name]["environment"] == compose["x-ferry-env"], name
    swapped = {
        "FERRY_DATABASE_URL": database_url,
        "FERRY_BROKER_URL": REDIS,
        "FERRY_PUBLIC_URL": public_url,
    }
    assert set(swapped) <= set(env)
    # A queue of this test alone, so that no other test's worker takes its transfers.
    return clean_env(**(env | swapped), FERRY_BROKER_QUEUE=queue)


def _wait(
    api: Api, transfer_id: str, processes: list[Process], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
        if found["status"] in TERMINAL:
            return found
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.log.name}\n{p.output()[-3000:]}" for p in processes)
            raise AssertionError(f"transfer stuck at {found['status']}\n{found['log']}\n{logs}")
        time.sleep(0.3)


def _scheduled(api: Api, destination_id: str, timeout: float) -> dict[str, Any]:
    """The first transfer the scheduler made for the destination."""
    deadline = time.monotonic() + timeout
    while True:
        listed = api.ok("GET", f"/destinations/{destination_id}/transfers")["transfers"]
        made = [t for t in listed if t["actor_type"] == "scheduler"]
        if made:
            return dict(made[0])
        assert time.monotonic() < deadline, f"the scheduler started no transfer: {listed}"
        time.sleep(0.5)


def test_the_compose_services_run_natively_and_move_data_end_to_end(
    metadata_db: Database,
    source_db: Database,
    dest_db: Database,
    queue: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    secret = Fernet.generate_key().decode()
    compose = load_compose({"FERRY_SECRET_KEY": secret})
    services = compose["services"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database_url = make_url(f"{PG}/{metadata_db.name}").render_as_string(hide_password=False)
    env = _stack_env(compose, database_url, queue, base)
    assert env["FERRY_SECRET_KEY"] == secret

    # `migrate` runs once, to completion, before the rest starts (depends_on).
    migrated = run(services["migrate"]["command"], env, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    key = run(["keys", "create", "--org", "stack-acme", "--env", "prod"], env, tmp_path)
    assert key.returncode == 0, key.stderr
    api = Api(base, key.stdout.strip())
    request.addfinalizer(api.http.close)

    replicas = services["worker"]["deploy"]["replicas"]
    assert replicas == 2
    api_command = with_port(services["api"]["command"], port)
    with ExitStack() as stack:
        server = stack.enter_context(started(api_command, env, tmp_path, "api"))
        workers = [
            stack.enter_context(
                started(services["worker"]["command"], env, tmp_path, f"worker-{n + 1}")
            )
            for n in range(replicas)
        ]
        scheduler = stack.enter_context(
            started(services["scheduler"]["command"], env, tmp_path, "scheduler")
        )
        processes = [server, *workers, scheduler]
        wait_for_http(base, server)

        # Compose's health check of the api, run here against the native server.
        check = healthcheck_argv(services["api"]["healthcheck"]["test"], port_of(api_command))
        healthy = subprocess.run(check, capture_output=True, text=True, timeout=30, check=False)
        assert healthy.returncode == 0, healthy.stderr

        api.ok(
            "POST",
            "/sources",
            json={
                "source": {
                    "vendor": "postgres",
                    "name": "app",
                    "postgres": source_db.config(schema="public"),
                }
            },
        )
        model = api.ok("POST", "/models", json=order_model())["model"]
        api.ok(
            "PATCH",
            f"/models/{model['id']}",
            json={"skip_model_validation": True, "model": {"source_query": SLOW_SOURCE}},
        )
        destinations = {}
        for tenant in (*REQUESTED, SCHEDULED):
            recipient = api.ok(
                "POST",
                "/recipients",
                json={"recipient": {"name": tenant.title(), "id_in_provider_system": tenant}},
            )["recipient"]
            settings: dict[str, Any] = (
                {"frequency_minutes": 15} if tenant == SCHEDULED else {"is_enabled": False}
            )
            made = api.ok(
                "POST",
                "/destinations",
                json={
                    "destination": {
                        "vendor": "postgres",
                        "name": f"{tenant} warehouse",
                        "recipient_id": recipient["id"],
                        "postgres": dest_db.config(schema=f"out_{tenant}", use_ssh_tunnel=False),
                    }
                    | settings
                },
            )
            destinations[tenant] = made["destination"]["id"]

        requested = {
            tenant: api.ok("POST", f"/destinations/{destinations[tenant]}/transfer")["transfer_id"]
            for tenant in REQUESTED
        }
        for tenant, transfer_id in requested.items():
            done = _wait(api, transfer_id, processes)
            assert done["status"] == "SUCCESS", (tenant, done["log"])
            assert done["actor_type"] != "scheduler"
            if tenant != "empty_co":
                assert destination_slice(dest_db, f"out_{tenant}") == source_slice(
                    source_db, tenant
                )

        # The scheduler ticks when it starts, then every 15 seconds.
        scheduled = _scheduled(api, destinations[SCHEDULED], timeout=60)
        done = _wait(api, scheduled["id"], processes)
        assert done["status"] == "SUCCESS", done["log"]
        assert destination_slice(dest_db, f"out_{SCHEDULED}") == source_slice(source_db, SCHEDULED)

        # Both worker processes ran transfers, each transfer on one of them.
        transfer_ids = [*requested.values(), scheduled["id"]]
        ran = {w.log.name: {t for t in transfer_ids if t in w.output()} for w in workers}
        assert all(ran.values()), ran
        assert sorted(t for ids in ran.values() for t in ids) == sorted(transfer_ids), ran
        for process in processes:
            assert process.popen.poll() is None, process.output()[-3000:]
