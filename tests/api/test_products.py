"""Products through the API: the default product, CRUD by id or name, model names, validate."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.conftest import Api, Tenant

PRODUCT_FIELDS = {"id", "product_name", "models", "created_at", "updated_at"}


def create(api: Api, name: str = "gold", models: list[str] | None = None) -> dict[str, Any]:
    return api.ok("POST", "/products", json=factories.product(name, models))["product"]


def models(api: Api, *names: str) -> None:
    for name in names:
        api.ok("POST", "/models", json=factories.unchecked_model(name))


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_a_fresh_environment_has_the_default_product(tenant: Tenant, env: str) -> None:
    api: Api = getattr(tenant, env)
    listed = api.ok("GET", "/products")["products"]
    assert len(listed) == 1
    default = listed[0]
    assert set(default) == PRODUCT_FIELDS
    assert default["product_name"] == "default"
    assert default["models"] == ["*"]
    assert factories.is_rfc3339_utc(default["created_at"])
    assert api.ok("GET", "/products/default")["product"] == default
    assert api.ok("GET", f"/products/{default['id']}")["product"] == default


def test_environments_have_their_own_default(tenant: Tenant) -> None:
    staging = tenant.staging.ok("GET", "/products/default")["product"]
    prod = tenant.prod.ok("GET", "/products/default")["product"]
    assert staging["id"] != prod["id"]


@pytest.mark.parametrize("by", ["id", "product_name"])
def test_default_cannot_be_deleted(api: Api, by: str) -> None:
    default = api.ok("GET", "/products/default")["product"]
    assert "default" in api.error("DELETE", f"/products/{default[by]}", 409)
    assert api.ok("GET", "/products/default")["product"] == default


@pytest.mark.parametrize("by", ["id", "product_name"])
def test_default_cannot_be_renamed(api: Api, by: str) -> None:
    default = api.ok("GET", "/products/default")["product"]
    message = api.error(
        "PATCH", f"/products/{default[by]}", 400, json={"product": {"product_name": "main"}}
    )
    assert "product.product_name" in message
    assert api.ok("GET", "/products/default")["product"] == default
    api.error("GET", "/products/main", 404)


def test_default_models_can_be_edited(api: Api) -> None:
    models(api, "orders", "customers")
    updated = api.ok("PATCH", "/products/default", json={"product": {"models": ["orders"]}})
    assert updated["product"]["models"] == ["orders"]
    again = api.ok(
        "PATCH", "/products/default", json={"product": {"product_name": "default", "models": ["*"]}}
    )
    assert again["product"]["models"] == ["*"]


def test_create_returns_the_product(api: Api) -> None:
    models(api, "orders", "customers")
    response = api.call(
        "POST", "/products", json=factories.product("gold", ["orders", "customers"])
    )
    assert response.status_code == 200
    created = response.json()["data"]["product"]
    assert set(created) == PRODUCT_FIELDS
    assert created["product_name"] == "gold"
    assert created["models"] == ["orders", "customers"]
    assert factories.is_rfc3339_utc(created["created_at"])
    assert created["updated_at"] == created["created_at"]


def test_models_default_to_none_and_duplicates_collapse(api: Api) -> None:
    models(api, "orders")
    assert (
        api.ok("POST", "/products", json={"product": {"product_name": "empty"}})["product"][
            "models"
        ]
        == []
    )
    assert create(api, "twice", ["orders", "orders", "*"])["models"] == ["orders", "*"]


@pytest.mark.parametrize("by", ["id", "product_name"])
def test_get_patch_delete_by_id_or_name(api: Api, by: str) -> None:
    models(api, "orders", "customers")
    created = create(api, "gold", ["orders"])
    ident = created[by]
    assert api.ok("GET", f"/products/{ident}")["product"] == created
    updated = api.ok("PATCH", f"/products/{ident}", json={"product": {"models": ["customers"]}})[
        "product"
    ]
    assert updated["models"] == ["customers"]
    assert updated["product_name"] == "gold"
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] > created["updated_at"]
    assert api.ok("DELETE", f"/products/{ident}") == {}
    api.error("GET", f"/products/{ident}", 404)
    api.error("DELETE", f"/products/{ident}", 404)
    api.error("PATCH", f"/products/{ident}", 404, json={"product": {"models": []}})


def test_rename(api: Api) -> None:
    created = create(api, "gold")
    renamed = api.ok(
        "PATCH", f"/products/{created['id']}", json={"product": {"product_name": "platinum"}}
    )["product"]
    assert renamed["product_name"] == "platinum"
    assert api.ok("GET", "/products/platinum")["product"]["id"] == created["id"]
    api.error("GET", "/products/gold", 404)


def test_names_are_unique(api: Api) -> None:
    create(api, "gold")
    silver = create(api, "silver")
    assert "product_name" in api.error("POST", "/products", 409, json=factories.product("gold"))
    assert "product_name" in api.error("POST", "/products", 409, json=factories.product("default"))
    message = api.error(
        "PATCH", f"/products/{silver['id']}", 409, json={"product": {"product_name": "gold"}}
    )
    assert "product_name" in message


def test_unknown_model_names_are_refused(api: Api) -> None:
    models(api, "orders")
    message = api.error(
        "POST", "/products", 400, json=factories.product("gold", ["orders", "nope"])
    )
    assert "product.models" in message
    assert "nope" in message
    gold = create(api, "gold", ["orders"])
    message = api.error(
        "PATCH", f"/products/{gold['id']}", 400, json={"product": {"models": ["x"]}}
    )
    assert "product.models" in message
    assert api.ok("GET", "/products/gold")["product"]["models"] == ["orders"]


def test_model_names_of_another_environment_are_unknown(tenant: Tenant) -> None:
    models(tenant.prod, "orders")
    message = tenant.staging.error(
        "POST", "/products", 400, json=factories.product("gold", ["orders"])
    )
    assert "product.models" in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product": {"models": []}}, "product.product_name"),
        ({"product": {"product_name": ""}}, "product.product_name"),
        ({"product": {"product_name": "x", "models": "orders"}}, "product.models"),
        ({"product": {"product_name": "x", "model": []}}, "product.model"),
        ({"product_name": "x"}, "product"),
    ],
)
def test_invalid_bodies_are_refused(api: Api, body: dict[str, Any], field: str) -> None:
    assert field in api.error("POST", "/products", 400, json=body)


@pytest.mark.parametrize("by", ["name", "id"])
def test_validate(api: Api, by: str) -> None:
    models(api, "orders", "customers", "invoices")
    gold = create(api, "gold", ["invoices", "orders"])
    ident = gold["product_name"] if by == "name" else gold["id"]
    response = api.call("POST", f"/products/{ident}/validate")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["product_name"] == "gold"
    assert data["is_valid"] is True
    # In model creation order.
    assert data["models"] == ["orders", "invoices"]
    default = api.ok("POST", "/products/default/validate")
    assert default["models"] == ["orders", "customers", "invoices"]
    api.error("POST", "/products/nope/validate", 404)


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    created = create(tenant.staging, "gold")
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        for ident in (created["id"], "gold"):
            other.error("GET", f"/products/{ident}", 404)
            other.error("PATCH", f"/products/{ident}", 404, json={"product": {"models": []}})
            other.error("DELETE", f"/products/{ident}", 404)
            other.error("POST", f"/products/{ident}/validate", 404)
        assert [p["product_name"] for p in other.ok("GET", "/products")["products"]] == ["default"]
