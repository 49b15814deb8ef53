"""Prequel's React SDK (``@prequel/react`` 1.1.0, the real npm package) against a live
``ferry serve``: every request the SDK makes, made by the SDK's own code (``sdk_calls.mjs``),
with a real PostgreSQL source and destination. One test per SDK call, so a failure names the
call, what Ferry answered and what the SDK expected. ``SDK_CALLS.md`` lists the calls.

Needs Node.js 20 and npm (skipped without them, except in CI, where they must be installed)
and the PostgreSQL server on 127.0.0.1:5432.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.processes import clean_env, free_port, npm_ci, run, started, wait_for_http

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.postgres]

SDK_DIR = Path(__file__).resolve().parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
APP_ORIGIN = "http://localhost:3000"
TENANT = "sdk-acme"
TRANSFERS = 2
TRANSFER_STATUSES = {
    "PENDING",
    "RUNNING",
    "SUCCESS",
    "ERROR",
    "PARTIAL_FAILURE",
    "CANCELLED",
    "EXPIRED",
    "ORPHANED",
}
MODEL_COLUMN_KEYS = {
    "name_in_source",
    "name_in_destination",
    "data_type",
    "is_primary_key",
    "is_last_modified",
}
EXTRA_MODELS = tuple(f"extra_{n:02d}" for n in range(1, 12))  # 12 models in all
EXTRA_PRODUCTS = tuple(f"product_{n:02d}" for n in range(1, 11))  # 11 with "default"
EXTRA_DESTINATIONS = 10  # 11 destinations for the recipient in all
SECRET = "sdk-Secret-pw-3"  # PostgreSQL trusts 127.0.0.1: any password connects


def require_node() -> None:
    """Skip without Node.js and npm, except in CI, which must have them."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not missing:
        return
    message = f"{' and '.join(missing)} missing: install Node.js 20 with npm to run the SDK test"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Run:
    lines: dict[str, list[dict[str, Any]]]  # call → its lines, in order
    stdout: str
    stderr: str
    returncode: int
    destination_id: str | None
    config: dict[str, Any]
    after_delete: httpx.Response | None

    def one(self, call: str) -> dict[str, Any]:
        found = self.lines.get(call)
        if not found:
            pytest.fail(
                f"sdk_calls.mjs printed no line for {call!r} (exit {self.returncode})\n"
                f"stdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}"
            )
        assert len(found) == 1, found
        return found[0]


class Postgres:
    """Schemas on the local PostgreSQL server, dropped at the end."""

    def __init__(self) -> None:
        self.engine = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        self.schemas: list[str] = []

    def schema(self, prefix: str, *, create: bool = True) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.schemas.append(name)
        if create:
            self.execute(f'CREATE SCHEMA "{name}"')
        return name

    def execute(self, sql: str) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text(sql))

    def close(self) -> None:
        for name in self.schemas:
            self.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.engine.dispose()


def envelope_data(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]


def prepare(http: httpx.Client, pg: Postgres) -> tuple[str, dict[str, Any]]:
    """A source table with rows for two tenants, its model, the tenant's recipient: what the
    provider sets up before its customer opens the destination form. Returns the recipient id
    and the destination the customer enters.

    More models, products and destinations than a default page holds: the SDK reads lists from one
    response and never follows ``next_url`` (except useListTransfers), so a page would hide
    the rest from the customer."""
    source_schema = pg.schema("sdk_src")
    pg.execute(
        f'CREATE TABLE "{source_schema}".orders (id BIGINT PRIMARY KEY, org_id TEXT NOT NULL, '
        "total NUMERIC(12, 2), updated_at TIMESTAMPTZ)"
    )
    pg.execute(
        f'INSERT INTO "{source_schema}".orders '
        f"SELECT g, CASE WHEN g % 2 = 0 THEN '{TENANT}' ELSE 'someone-else' END, g * 1.5, "
        "now() - g * interval '1 minute' FROM generate_series(1, 20) AS g"
    )
    connection = {
        "host": "127.0.0.1",
        "port": 5432,
        "database": "postgres",
        "auth_method": "password_auth",
        "password_auth": {"username": "postgres", "password": SECRET},
        "disable_ssl": True,
    }
    envelope_data(
        http.post(
            "/sources",
            json={
                "source": {
                    "vendor": "postgres",
                    "name": "production",
                    "postgres": connection | {"schema": source_schema},
                }
            },
        )
    )
    envelope_data(
        http.post(
            "/models",
            json={
                "model": {
                    "model_name": "orders",
                    "source_table": f"{source_schema}.orders",
                    "organization_column": "org_id",
                    "columns": [
                        {
                            "name_in_source": "id",
                            "name_in_destination": "id",
                            "data_type": "bigint",
                            "is_primary_key": True,
                        },
                        {
                            "name_in_source": "total",
                            "name_in_destination": "total",
                            "data_type": "decimal",
                        },
                        {
                            "name_in_source": "updated_at",
                            "name_in_destination": "updated_at",
                            "data_type": "timestamp",
                            "is_last_modified": True,
                        },
                    ],
                }
            },
        )
    )
    for name in EXTRA_MODELS:
        envelope_data(
            http.post(
                "/models",
                json={
                    "skip_model_validation": True,
                    "model": {
                        "model_name": name,
                        "source_table": f"{source_schema}.orders",
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
        )
    for name in EXTRA_PRODUCTS:
        envelope_data(
            http.post("/products", json={"product": {"product_name": name, "models": ["orders"]}})
        )
    recipient = envelope_data(
        http.post(
            "/recipients",
            json={
                "recipient": {
                    "name": "Acme Corp",
                    "id_in_provider_system": TENANT,
                    "products": ["default", *EXTRA_PRODUCTS],
                }
            },
        )
    )["recipient"]
    for n in range(EXTRA_DESTINATIONS):
        spare = {
            "vendor": "postgres",
            "name": f"Spare {n}",
            "recipient_id": recipient["id"],
            "is_enabled": False,  # never scheduled
            "postgres": connection | {"schema": f"spare_{n}", "use_ssh_tunnel": False},
        }
        envelope_data(http.post("/destinations", json={"destination": spare}))
    destination = {
        "vendor": "postgres",
        "name": "Acme warehouse",
        "recipient_id": recipient["id"],
        "enabled_models": ["orders"],
        "frequency_minutes": 1440,
        "is_enabled": True,
        "postgres": connection
        | {"schema": pg.schema("sdk_dst", create=False), "use_ssh_tunnel": False},
    }
    return recipient["id"], destination


@pytest.fixture(scope="module")
def sdk_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The whole SDK session, once: a fresh ``ferry serve`` (embedded SQLite in its working
    directory), an API key, the provider's setup, then ``node sdk_calls.mjs``."""
    require_node()
    npm_ci(SDK_DIR)
    workdir = tmp_path_factory.mktemp("sdk")
    env = clean_env()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pg = Postgres()
    try:
        with started(["serve", "--port", str(port)], env, workdir, "serve") as server:
            wait_for_http(base, server)
            created = run(["keys", "create", "--org", "sdk-e2e"], env, workdir)
            assert created.returncode == 0, created.stderr
            key = created.stdout.strip()
            with httpx.Client(
                base_url=base,
                headers={"X-API-KEY": key, "X-Prequel-Api-Version": "2023-12-01"},
                timeout=30,
            ) as http:
                recipient_id, destination = prepare(http, pg)
                config = {
                    "base_url": base,
                    "api_key": key,
                    "recipient_id": recipient_id,
                    "app_origin": APP_ORIGIN,
                    "destination": destination,
                    "transfers": TRANSFERS,
                    "timeout_seconds": 60,
                }
                config_path = workdir / "sdk_config.json"
                config_path.write_text(json.dumps(config))
                done = subprocess.run(
                    ["node", "sdk_calls.mjs", str(config_path)],
                    cwd=SDK_DIR,
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=False,
                )
                lines: dict[str, list[dict[str, Any]]] = {}
                for raw in done.stdout.splitlines():
                    try:
                        line = json.loads(raw)
                    except json.JSONDecodeError:
                        line = {"call": "unparsed output", "ok": False, "error": raw}
                    lines.setdefault(str(line.get("call")), []).append(line)
                destination_id = _destination_id(lines)
                after_delete = (
                    http.get(f"/destinations/{destination_id}") if destination_id else None
                )
        yield Run(
            lines, done.stdout, done.stderr, done.returncode, destination_id, config, after_delete
        )
    finally:
        pg.close()


def _destination_id(lines: dict[str, list[dict[str, Any]]]) -> str | None:
    for call in ("create_destination", "setup:create_destination_with_api_key"):
        for line in lines.get(call, []):
            data = line.get("data") or {}
            found = (data.get("destination") or {}).get("id") or data.get("id")
            if found:
                return str(found)
    return None


def assert_ok(line: dict[str, Any]) -> Any:
    """The call succeeded as the SDK sees it; returns its data summary."""
    assert line["ok"], (
        f"{line['call']} ({line.get('hook')}): {line.get('error')}\n"
        f"  Ferry answered HTTP {line.get('http_status')}, status={line.get('status')!r}, "
        f"message={line.get('message')!r}\n"
        f"  the SDK sent: {json.dumps(line.get('request'))}\n"
        f"  scoped token requests: {json.dumps(line.get('token'))}"
    )
    return line["data"]


def no_secret(value: Any) -> None:
    assert SECRET not in json.dumps(value), "a password came back in a response"


# ---------------------------------------------------------------------------------------------
# One test per SDK call, in the order the harness makes them.


def test_harness_ran_every_call(sdk_run: Run) -> None:
    stray = {
        k: v for k, v in sdk_run.lines.items() if k not in CALLS and not k.startswith("setup:")
    }
    assert not stray, stray
    assert sdk_run.returncode in (0, 1), sdk_run.stderr[-4000:]
    failed = [k for k, v in sdk_run.lines.items() if any(not line["ok"] for line in v)]
    assert (sdk_run.returncode == 1) == bool(failed), (sdk_run.returncode, failed)


def test_setup_with_the_api_key(sdk_run: Run) -> None:
    """The provider's own steps (its backend, with the API key): run transfers to list."""
    runs = sdk_run.lines.get("setup:run_transfer", [])
    assert len(runs) == TRANSFERS, runs
    for line in runs:
        assert line["ok"], line
        assert line["data"]["status"] == "SUCCESS", line
    assert "setup:create_destination_with_api_key" not in sdk_run.lines


def test_destination_vendors(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("destination_vendors"))
    assert "postgres" in data["keys"]
    assert set(data["first"]) >= {"key", "display"}


def test_destination_form(sdk_run: Run) -> None:
    line = sdk_run.one("destination_form")
    data = assert_ok(line)
    assert line["request"]["query"]["vendor"] == "postgres"
    paths = {f["path"] for s in data["sections"] for f in s["fields"]}
    assert {
        "postgres.host",
        "postgres.port",
        "postgres.database",
        "postgres.schema",
        "postgres.password_auth.username",
        "postgres.password_auth.password",
    } <= paths, paths
    # What the SDK builds from the form's values is the destination the API takes.
    given = sdk_run.config["destination"]
    prepared = data["prepared_from_form"]
    assert prepared["vendor"] == "postgres"
    for field in ("host", "port", "database", "schema"):
        assert prepared["postgres"][field] == given["postgres"][field], field
    assert prepared["postgres"]["password_auth"] == {
        "username": "postgres",
        "password": "<redacted>",
    }


def test_generate_ssh_key(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("generate_ssh_key"))
    assert data["public_key"].startswith("ssh-rsa "), data
    assert "PUBLIC KEY" in data["public_key_pkcs8"], data
    # The form shows the new key in its SSH tunnel section for the customer to authorize.
    assert data["form_ssh_public_key_const"] == data["public_key"], data


def test_products(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("products"))
    names = sorted(p["product_name"] for p in data["items"])
    assert names == sorted(("default", *EXTRA_PRODUCTS)), (
        f"{len(names)} of {1 + len(EXTRA_PRODUCTS)} products: the SDK reads data.products of "
        "one response and never follows next_url, so every product must be in it"
    )
    for product in data["items"]:
        assert isinstance(product["product_name"], str)
        assert all(isinstance(m, str) for m in product["models"])
    covered = {m for p in data["items"] for m in p["models"]}
    assert covered & {"orders", "*"}, covered


def assert_models(data: dict[str, Any]) -> None:
    names = sorted(m["model_name"] for m in data["items"])
    assert names == sorted(("orders", *EXTRA_MODELS)), (
        f"{len(names)} of {1 + len(EXTRA_MODELS)} models: the SDK reads data.models of one "
        "response and never follows next_url, so every model must be in it"
    )
    for model in data["items"]:
        assert {"model_name", "columns", "source_table", "organization_column"} <= set(
            model["keys"]
        ), model
        for column in model["columns"]:
            assert set(column) >= MODEL_COLUMN_KEYS, column
    orders = next(m for m in data["items"] if m["model_name"] == "orders")
    assert [c["name_in_destination"] for c in orders["columns"]] == ["id", "total", "updated_at"]


def test_models(sdk_run: Run) -> None:
    assert_models(assert_ok(sdk_run.one("models")))


def test_models_for_recipient(sdk_run: Run) -> None:
    assert_models(assert_ok(sdk_run.one("models_for_recipient")))


def test_test_connection(sdk_run: Run) -> None:
    line = sdk_run.one("test_connection")
    assert_ok(line)
    assert line["status"] == "success"


def test_create_destination(sdk_run: Run) -> None:
    destination = assert_ok(sdk_run.one("create_destination"))["destination"]
    given = sdk_run.config["destination"]
    assert destination["id"]
    assert destination["name"] == given["name"]
    assert destination["vendor"] == "postgres"
    assert destination["recipient_id"] == sdk_run.config["recipient_id"]
    assert destination["enabled_models"] == ["orders"]
    for field in ("host", "port", "database", "schema"):
        assert destination["postgres"][field] == given["postgres"][field], field
    no_secret(destination)


def test_get_destinations(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("get_destinations"))
    ids = [d["id"] for d in data["items"]]
    assert sdk_run.destination_id in ids
    assert len(ids) == 1 + EXTRA_DESTINATIONS, (
        f"{len(ids)} of {1 + EXTRA_DESTINATIONS} destinations: the SDK reads data.destinations "
        "of one response and never follows next_url, so every destination must be in it"
    )
    assert {d["recipient_id"] for d in data["items"]} == {sdk_run.config["recipient_id"]}


def test_update_destination(sdk_run: Run) -> None:
    line = sdk_run.one("update_destination")
    destination = assert_ok(line)["destination"]
    assert destination["id"] == sdk_run.destination_id
    assert destination["name"] == f"{sdk_run.config['destination']['name']} (renamed)"
    assert destination["postgres"]["schema"] == sdk_run.config["destination"]["postgres"]["schema"]
    no_secret(destination)


def test_test_existing_connection(sdk_run: Run) -> None:
    line = sdk_run.one("test_existing_connection")
    assert_ok(line)
    assert line["status"] == "success"


def assert_transfers(data: dict[str, Any], destination_id: str | None) -> None:
    for transfer in data["items"]:
        assert transfer["destination_id"] == destination_id, transfer
        assert transfer["status"] in TRANSFER_STATUSES, transfer
        assert {"id", "status", "models", "submitted_at", "rows_transferred"} <= set(
            transfer["keys"]
        )


def test_get_transfers(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("get_transfers"))
    assert data["count"] >= TRANSFERS
    assert_transfers(data, sdk_run.destination_id)


def test_get_transfers_by_status(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("get_transfers_by_status"))
    assert data["count"] >= TRANSFERS
    assert {t["status"] for t in data["items"]} == {data["asked_status"]}


def test_list_transfers(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("list_transfers"))
    assert data["count"] >= TRANSFERS
    assert data["hasNext"] is False
    assert_transfers(data, sdk_run.destination_id)


def test_list_transfers_page(sdk_run: Run) -> None:
    data = assert_ok(sdk_run.one("list_transfers_page"))
    assert data["count"] == 1
    assert data["hasNext"] is True
    # The SDK decoded the cursor out of next_url.
    assert data["cursor"]["lastSeenID"] == data["items"][0]["id"]
    assert data["cursor"]["lastSeenSortValue"]


def test_list_transfers_next_page(sdk_run: Run) -> None:
    line = sdk_run.one("list_transfers_next_page")
    data = assert_ok(line)
    assert data["count"] == 1
    assert line["request"]["query"]["cursor"]
    first = sdk_run.one("list_transfers_page")["data"]["items"][0]["id"]
    assert data["items"][0]["id"] != first


def test_delete_destination(sdk_run: Run) -> None:
    assert_ok(sdk_run.one("delete_destination"))
    assert sdk_run.after_delete is not None
    assert sdk_run.after_delete.status_code == 404, sdk_run.after_delete.text


CALLS = (
    "destination_vendors",
    "destination_form",
    "generate_ssh_key",
    "products",
    "models",
    "models_for_recipient",
    "test_connection",
    "create_destination",
    "get_destinations",
    "update_destination",
    "test_existing_connection",
    "get_transfers",
    "get_transfers_by_status",
    "list_transfers",
    "list_transfers_page",
    "list_transfers_next_page",
    "delete_destination",
)
