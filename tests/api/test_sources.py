"""Sources through the API: CRUD, names, vendor objects, secrets and deletion rules."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.connectors import registry
from tests import factories
from tests.conftest import Api, Tenant
from tests.connectors.test_vendor_configs import SOURCE_SAMPLES

SOURCE_FIELDS = {"id", "name", "vendor", "is_reachable", "created_at", "updated_at"}


def create(api: Api, name: str = "main", **overrides: Any) -> dict[str, Any]:
    return api.ok("POST", "/sources", json=factories.postgres_source(name, **overrides))["source"]


def test_create_returns_the_source_without_secrets(api: Api) -> None:
    response = api.call("POST", "/sources", json=factories.postgres_source())
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["message"]
    source = body["data"]["source"]
    assert set(source) == SOURCE_FIELDS | {"postgres"}
    assert source["name"] == "main"
    assert source["vendor"] == "postgres"
    assert source["postgres"] == {
        "host": "db.internal",
        "port": 5432,
        "database": "app",
        "schema": "public",
        "auth_method": "password_auth",
        "password_auth": {"username": "reader"},
        "disable_ssl": False,
        "use_ssh_tunnel": False,
    }
    assert factories.SOURCE_PASSWORD not in response.text
    assert factories.is_rfc3339_utc(source["created_at"])
    assert source["updated_at"] == source["created_at"]


@pytest.mark.parametrize("by", ["id", "name"])
def test_get_by_id_or_name(api: Api, by: str) -> None:
    created = create(api)
    found = api.ok("GET", f"/sources/{created[by]}")["source"]
    assert found == created


def test_list_shows_every_source_newest_first(api: Api) -> None:
    first = create(api, "first")
    second = create(api, "second", host="other.internal")
    listed = api.ok("GET", "/sources")
    assert [s["id"] for s in listed["sources"]] == [second["id"], first["id"]]
    assert listed["sources"][1] == first
    response = api.call("GET", "/sources").json()
    assert response["has_next"] is False
    assert "next_url" not in response


def test_list_pages(api: Api) -> None:
    ids = [create(api, f"s{i}")["id"] for i in range(3)]
    first = api.call("GET", "/sources", params={"page_size": 2, "order": "asc"}).json()
    assert [s["id"] for s in first["data"]["sources"]] == ids[:2]
    assert first["has_next"] is True
    assert first["next_url"].startswith("http://ferry.test/sources?")
    rest = api.ok("GET", first["next_url"])
    assert [s["id"] for s in rest["sources"]] == ids[2:]


@pytest.mark.parametrize("by", ["id", "name"])
def test_patch_name_and_fields(api: Api, by: str) -> None:
    created = create(api)
    updated = api.ok(
        "PATCH",
        f"/sources/{created[by]}",
        json={"source": {"name": "renamed", "postgres": {"port": 6543}}},
    )["source"]
    assert updated["name"] == "renamed"
    assert updated["postgres"] == created["postgres"] | {"port": 6543}
    assert updated["created_at"] == created["created_at"]
    assert factories.is_rfc3339_utc(updated["updated_at"])
    assert updated["updated_at"] > created["updated_at"]
    assert api.ok("GET", "/sources/renamed")["source"] == updated
    api.error("GET", "/sources/main", 404)


def test_patch_deep_merges_the_vendor_object(api: Api) -> None:
    created = create(api)
    updated = api.ok(
        "PATCH",
        f"/sources/{created['id']}",
        json={"source": {"postgres": {"password_auth": {"username": "reader2"}}}},
    )["source"]
    assert updated["postgres"] == created["postgres"] | {"password_auth": {"username": "reader2"}}


def test_patch_changing_vendor_needs_the_whole_object(api: Api) -> None:
    created = create(api)
    message = api.error(
        "PATCH", f"/sources/{created['id']}", 400, json={"source": {"vendor": "mysql"}}
    )
    assert "source.mysql" in message
    mysql = SOURCE_SAMPLES["mysql"]
    updated = api.ok(
        "PATCH", f"/sources/{created['id']}", json={"source": {"vendor": "mysql", "mysql": mysql}}
    )["source"]
    assert updated["vendor"] == "mysql"
    assert "postgres" not in updated
    assert updated["mysql"]["host"] == mysql["host"]


def test_patch_refuses_another_vendors_object(api: Api) -> None:
    created = create(api)
    # A postgres source has no mysql object: docs/api.md refuses unknown fields everywhere.
    message = api.error(
        "PATCH", f"/sources/{created['id']}", 400, json={"source": {"mysql": {"host": "other"}}}
    )
    assert "mysql" in message
    assert api.ok("GET", f"/sources/{created['id']}")["source"] == created


def test_names_are_unique(api: Api) -> None:
    create(api, "main")
    other = create(api, "other", host="other.internal")
    assert "source.name" in api.error(
        "POST", "/sources", 409, json=factories.postgres_source("main")
    )
    message = api.error("PATCH", f"/sources/{other['id']}", 409, json={"source": {"name": "main"}})
    assert "source.name" in message


def test_names_are_per_environment(tenant: Tenant) -> None:
    create(tenant.staging, "main")
    create(tenant.prod, "main")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vendor": "oracle9", "name": "x", "oracle9": {}}, "source.vendor"),
        ({"vendor": "postgres", "name": "x"}, "source.postgres"),
        ({"name": "x", "postgres": SOURCE_SAMPLES["postgres"]}, "source.vendor"),
        ({"vendor": "postgres", "postgres": SOURCE_SAMPLES["postgres"]}, "source.name"),
        (
            {
                "vendor": "postgres",
                "name": "x",
                "postgres": SOURCE_SAMPLES["postgres"],
                "mysql": SOURCE_SAMPLES["mysql"],
            },
            "mysql",
        ),
        (
            {
                "vendor": "postgres",
                "name": "x",
                "postgres": {**SOURCE_SAMPLES["postgres"], "port": "5432"},
            },
            "source.postgres.port",
        ),
        (
            {
                "vendor": "postgres",
                "name": "x",
                "postgres": {**SOURCE_SAMPLES["postgres"], "hostname": "h"},
            },
            "source.postgres.hostname",
        ),
        (
            {"vendor": "postgres", "name": "x", "postgres": SOURCE_SAMPLES["postgres"], "x": 1},
            "source.x",
        ),
    ],
)
def test_invalid_bodies_are_refused_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    assert field in api.error("POST", "/sources", 400, json={"source": body})
    assert api.ok("GET", "/sources")["sources"] == []


def test_delete(api: Api) -> None:
    created = create(api)
    assert api.ok("DELETE", f"/sources/{created['id']}") == {}
    api.error("GET", f"/sources/{created['id']}", 404)
    api.error("DELETE", f"/sources/{created['id']}", 404)
    assert api.ok("GET", "/sources")["sources"] == []


def test_delete_by_name(api: Api) -> None:
    create(api, "main")
    assert api.ok("DELETE", "/sources/main") == {}
    api.error("GET", "/sources/main", 404)


def test_a_source_models_read_cannot_be_deleted(api: Api) -> None:
    source = create(api)
    api.ok("POST", "/models", json=factories.unchecked_model("orders"))
    message = api.error("DELETE", f"/sources/{source['id']}", 409)
    assert "orders" in message
    api.ok("GET", f"/sources/{source['id']}")
    api.ok("DELETE", "/models/orders")
    assert api.ok("DELETE", f"/sources/{source['id']}") == {}


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    created = create(tenant.staging)
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        other.error("GET", f"/sources/{created['id']}", 404)
        other.error("PATCH", f"/sources/{created['id']}", 404, json={"source": {"name": "x"}})
        other.error("DELETE", f"/sources/{created['id']}", 404)
        assert other.ok("GET", "/sources")["sources"] == []


@pytest.mark.parametrize("vendor", sorted(registry.sources()))
def test_every_vendor_can_be_created_and_read_back_without_secrets(api: Api, vendor: str) -> None:
    config = SOURCE_SAMPLES[vendor]
    expected, secrets = factories.public_and_secrets(
        registry.source_class(vendor).config_model, config
    )
    response = api.call("POST", "/sources", json=factories.vendored("source", vendor, config))
    assert response.status_code == 200, response.text
    created = response.json()["data"]["source"]
    assert created["vendor"] == vendor
    assert created[vendor] == expected
    got = api.call("GET", f"/sources/{created['id']}")
    assert got.json()["data"]["source"] == created
    for secret in secrets:
        assert secret not in response.text
        assert secret not in got.text
