"""``ferry models apply`` and ``ferry products apply`` against a live ``ferry serve``, as a
provider's CI publishes the configs it keeps in git."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import clean_env, free_port, run, started, wait_for_http

pytestmark = pytest.mark.live


@dataclass
class Server:
    url: str
    env: dict[str, str]
    cwd: Path


@dataclass
class Publisher:
    """One organization's CI: its API key, its config directories, the ``ferry`` it runs."""

    server: Server
    key: str
    root: Path

    def dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def apply(self, kind: str, directory: Path, *args: str) -> Any:
        env = self.server.env | {"FERRY_URL": self.server.url, "FERRY_API_KEY": self.key}
        return run([kind, "apply", str(directory), *args], env, self.server.cwd)

    def get(self, path: str) -> Any:
        response = httpx.get(self.server.url + path, headers={"X-API-KEY": self.key}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["data"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ferry serve`` in its embedded default (SQLite, no broker), for the whole module."""
    cwd = tmp_path_factory.mktemp("apply-server")
    env = clean_env()
    url = f"http://127.0.0.1:{free_port()}"
    with started(["serve", "--port", url.rsplit(":", 1)[1]], env, cwd, "serve") as process:
        wait_for_http(url, process)
        yield Server(url, env, cwd)


@pytest.fixture
def publisher(server: Server, tmp_path: Path) -> Publisher:
    created = run(["keys", "create", "--org", f"ci-{uuid.uuid4().hex[:8]}"], server.env, server.cwd)
    assert created.returncode == 0, created.stderr
    return Publisher(server, created.stdout.strip(), tmp_path)


def model_config(source_table: str, **extra: Any) -> dict[str, Any]:
    """A model config file's content (no source to check it against: validation is skipped)."""
    return {
        "source_table": source_table,
        "organization_column": "org_id",
        "skip_model_validation": True,
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
    } | extra


def write(directory: Path, name: str, content: Any) -> Path:
    path = directory / name
    path.write_text(json.dumps(content, indent=2))
    return path


def model_names(publisher: Publisher) -> list[str]:
    return sorted(m["model_name"] for m in publisher.get("/models?page_size=100")["models"])


def test_apply_creates_then_reports_no_changes(publisher: Publisher) -> None:
    models = publisher.dir("models")
    # Bare, with the name from the file; wrapped, with the validation switch beside the model.
    write(models, "orders.json", model_config("public.orders", description="Every order"))
    wrapped = model_config("public.users")
    skip = wrapped.pop("skip_model_validation")
    write(
        models,
        "users.json",
        {"model": wrapped | {"model_name": "users"}, "skip_model_validation": skip},
    )

    first = publisher.apply("models", models)

    assert first.returncode == 0, first.stderr
    assert "orders.json: create model 'orders'" in first.stdout
    assert "users.json: create model 'users'" in first.stdout
    assert '+  "source_table": "public.orders"' in first.stdout
    assert model_names(publisher) == ["orders", "users"]
    assert publisher.get("/models/orders")["model"]["description"] == "Every order"

    second = publisher.apply("models", models)

    assert second.returncode == 0, second.stderr
    assert "no changes: 2 models unchanged" in second.stdout
    assert "---" not in second.stdout


def test_apply_updates_with_a_diff_and_clears_dropped_fields(publisher: Publisher) -> None:
    models = publisher.dir("models")
    write(models, "orders.json", model_config("public.orders", description="Every order"))
    assert publisher.apply("models", models).returncode == 0
    revision = publisher.get("/models/orders")["model"]["revision_id"]

    write(models, "orders.json", model_config("public.orders", is_append_only=True))
    updated = publisher.apply("models", models)

    assert updated.returncode == 0, updated.stderr
    assert '-  "description": "Every order",' in updated.stdout
    assert '-  "is_append_only": false,' in updated.stdout
    assert '+  "is_append_only": true,' in updated.stdout
    assert "orders.json: update model 'orders'" in updated.stdout
    model = publisher.get("/models/orders")["model"]
    assert model["description"] is None
    assert model["is_append_only"] is True
    assert model["revision_id"] != revision
    assert "no changes" in publisher.apply("models", models).stdout


def test_a_dry_run_changes_nothing(publisher: Publisher) -> None:
    models = publisher.dir("models")
    write(models, "orders.json", model_config("public.orders"))

    dry = publisher.apply("models", models, "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "orders.json: create model 'orders'" in dry.stdout
    assert "dry run: nothing was changed" in dry.stdout
    assert model_names(publisher) == []


def test_an_invalid_file_stops_everything(publisher: Publisher) -> None:
    models = publisher.dir("models")
    write(models, "a_orders.json", model_config("public.orders"))
    write(models, "b_broken.json", model_config("public.broken", columns=[]))
    write(models, "c_users.json", model_config("public.users"))

    result = publisher.apply("models", models)

    assert result.returncode == 1
    assert "b_broken.json" in result.stderr
    assert "columns" in result.stderr
    # Nothing was published, not even the valid files before it.
    assert model_names(publisher) == []

    (models / "b_broken.json").write_text("{not json")
    broken = publisher.apply("models", models)
    assert broken.returncode == 1
    assert "b_broken.json: not valid JSON" in broken.stderr
    assert model_names(publisher) == []


def test_delete_missing_removes_models_without_a_file(publisher: Publisher) -> None:
    models = publisher.dir("models")
    write(models, "orders.json", model_config("public.orders"))
    write(models, "users.json", model_config("public.users"))
    assert publisher.apply("models", models).returncode == 0
    (models / "users.json").unlink()

    kept = publisher.apply("models", models)
    assert "no changes" in kept.stdout
    assert model_names(publisher) == ["orders", "users"]

    deleted = publisher.apply("models", models, "--delete-missing")
    assert deleted.returncode == 0, deleted.stderr
    assert "users: delete model 'users'" in deleted.stdout
    assert model_names(publisher) == ["orders"]


def test_products_apply(publisher: Publisher) -> None:
    models = publisher.dir("models")
    write(models, "orders.json", model_config("public.orders"))
    write(models, "users.json", model_config("public.users"))
    assert publisher.apply("models", models).returncode == 0
    products = publisher.dir("products")
    write(products, "default.json", {"models": ["orders"]})
    write(products, "full.json", {"models": ["orders", "users"]})

    dry = publisher.apply("products", products, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert '-    "*"' in dry.stdout  # the default product starts with every model
    assert "full.json: create product 'full'" in dry.stdout
    assert [p["product_name"] for p in publisher.get("/products")["products"]] == ["default"]

    applied = publisher.apply("products", products)
    assert applied.returncode == 0, applied.stderr
    assert publisher.get("/products/default")["product"]["models"] == ["orders"]
    assert publisher.get("/products/full")["product"]["models"] == ["orders", "users"]
    assert "no changes: 2 products unchanged" in publisher.apply("products", products).stdout

    write(products, "extra.json", {"models": ["orders", "invoices"]})
    unknown = publisher.apply("products", products)
    assert unknown.returncode == 1
    assert "extra.json" in unknown.stderr
    assert "invoices" in unknown.stderr
    assert "extra" not in [p["product_name"] for p in publisher.get("/products")["products"]]


def test_products_delete_missing_keeps_the_default_product(publisher: Publisher) -> None:
    products = publisher.dir("products")
    write(products, "gold.json", {"models": []})
    write(products, "silver.json", {"models": []})
    assert publisher.apply("products", products).returncode == 0
    (products / "silver.json").unlink()

    result = publisher.apply("products", products, "--delete-missing")

    assert result.returncode == 0, result.stderr
    assert "default: kept" in result.stdout
    names = sorted(p["product_name"] for p in publisher.get("/products")["products"])
    assert names == ["default", "gold"]


def test_server_and_key_are_required(publisher: Publisher, tmp_path: Path) -> None:
    models = publisher.dir("models")
    write(models, "orders.json", model_config("public.orders"))
    no_url = run(["models", "apply", str(models)], publisher.server.env, tmp_path)
    assert no_url.returncode == 1
    assert "FERRY_URL" in no_url.stderr
    bad_key = run(
        ["models", "apply", str(models), "--url", publisher.server.url, "--api-key", "sk_nope"],
        publisher.server.env,
        tmp_path,
    )
    assert bad_key.returncode == 1
    assert "orders.json" in bad_key.stderr
    empty = publisher.dir("empty")
    nothing = publisher.apply("models", empty)
    assert nothing.returncode == 1
    assert "no *.json files" in nothing.stderr
