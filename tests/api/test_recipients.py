"""Recipients through the API: CRUD, unique keys, products and cascading deletes."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.conftest import Api, Tenant

RECIPIENT_FIELDS = {
    "id",
    "name",
    "products",
    "id_in_provider_system",
    "default_full_refresh_min_start_time_epoch",
    "created_at",
    "updated_at",
}


def create(api: Api, key: str = "acme", **overrides: Any) -> dict[str, Any]:
    return api.ok("POST", "/recipients", json=factories.recipient(key, **overrides))["recipient"]


def test_create_returns_the_recipient(api: Api) -> None:
    created = create(api, "acme")
    assert set(created) == RECIPIENT_FIELDS
    assert created["name"] == "Acme"
    assert created["id_in_provider_system"] == "acme"
    assert created["products"] == ["default"]
    assert created["default_full_refresh_min_start_time_epoch"] is None
    assert factories.is_rfc3339_utc(created["created_at"])
    assert created["updated_at"] == created["created_at"]
    assert api.ok("GET", f"/recipients/{created['id']}")["recipient"] == created


def test_name_defaults_to_the_provider_id(api: Api) -> None:
    created = api.ok("POST", "/recipients", json={"recipient": {"id_in_provider_system": "acme"}})
    assert created["recipient"]["name"] == "acme"


def test_optional_fields(api: Api) -> None:
    api.ok("POST", "/products", json=factories.product("gold"))
    created = create(
        api,
        "acme",
        products=["gold", "default"],
        default_full_refresh_min_start_time_epoch=1700000000,
    )
    assert created["products"] == ["gold", "default"]
    assert created["default_full_refresh_min_start_time_epoch"] == 1700000000


@pytest.mark.parametrize("products", [[], None])
def test_empty_products_mean_default(api: Api, products: list[str] | None) -> None:
    assert create(api, "acme", products=products)["products"] == ["default"]


def test_all_means_every_product(api: Api) -> None:
    assert create(api, "acme", products=["all"])["products"] == ["all"]


def test_unknown_product_is_refused(api: Api) -> None:
    message = api.error(
        "POST", "/recipients", 400, json=factories.recipient("acme", products=["gold"])
    )
    assert "recipient.products" in message
    assert "gold" in message
    assert api.ok("GET", "/recipients")["recipients"] == []
    created = create(api, "acme")
    message = api.error(
        "PATCH", f"/recipients/{created['id']}", 400, json={"recipient": {"products": ["gold"]}}
    )
    assert "recipient.products" in message


def test_provider_ids_are_unique(api: Api) -> None:
    create(api, "acme")
    other = create(api, "globex")
    message = api.error("POST", "/recipients", 409, json=factories.recipient("acme"))
    assert "id_in_provider_system" in message
    message = api.error(
        "PATCH",
        f"/recipients/{other['id']}",
        409,
        json={"recipient": {"id_in_provider_system": "acme"}},
    )
    assert "id_in_provider_system" in message
    assert len(api.ok("GET", "/recipients")["recipients"]) == 2


def test_provider_ids_are_per_environment(tenant: Tenant) -> None:
    create(tenant.staging, "acme")
    create(tenant.prod, "acme")


def test_patch(api: Api) -> None:
    api.ok("POST", "/products", json=factories.product("gold"))
    created = create(api, "acme")
    updated = api.ok(
        "PATCH",
        f"/recipients/{created['id']}",
        json={
            "recipient": {
                "name": "Acme Corp",
                "products": ["gold"],
                "id_in_provider_system": "acme-2",
                "default_full_refresh_min_start_time_epoch": 86400,
            }
        },
    )["recipient"]
    assert updated == created | {
        "name": "Acme Corp",
        "products": ["gold"],
        "id_in_provider_system": "acme-2",
        "default_full_refresh_min_start_time_epoch": 86400,
        "updated_at": updated["updated_at"],
    }
    assert factories.is_rfc3339_utc(updated["updated_at"])
    assert updated["updated_at"] > created["updated_at"]
    assert api.ok("GET", f"/recipients/{created['id']}")["recipient"] == updated
    # Keeping the same key is no clash with itself.
    same = api.ok(
        "PATCH",
        f"/recipients/{created['id']}",
        json={"recipient": {"id_in_provider_system": "acme-2"}},
    )
    assert same["recipient"]["id_in_provider_system"] == "acme-2"


def test_patch_only_what_is_sent(api: Api) -> None:
    created = create(api, "acme", default_full_refresh_min_start_time_epoch=5)
    updated = api.ok("PATCH", f"/recipients/{created['id']}", json={"recipient": {"name": "A"}})
    assert updated["recipient"] == created | {
        "name": "A",
        "updated_at": updated["recipient"]["updated_at"],
    }


def test_list_filter_by_provider_ids(api: Api) -> None:
    ids = {key: create(api, key)["id"] for key in ("a", "b", "c")}

    def listed(**params: str) -> set[str]:
        return {r["id"] for r in api.ok("GET", "/recipients", params=params)["recipients"]}

    assert listed() == set(ids.values())
    assert listed(id_in_provider_system="a") == {ids["a"]}
    assert listed(id_in_provider_system="a,b") == {ids["a"], ids["b"]}
    assert listed(id_in_provider_system="c,nope") == {ids["c"]}
    assert listed(id_in_provider_system="nope") == set()


def test_list_pages(api: Api) -> None:
    ids = [create(api, f"r{i}")["id"] for i in range(5)]
    seen: list[str] = []
    url: str | None = "/recipients?page_size=2&order=asc"
    pages = 0
    while url:
        body = api.call("GET", url).json()
        seen += [r["id"] for r in body["data"]["recipients"]]
        url = body.get("next_url")
        assert body["has_next"] is (url is not None)
        pages += 1
    assert seen == ids
    assert pages == 3


def test_delete(api: Api) -> None:
    created = create(api, "acme")
    assert api.ok("DELETE", f"/recipients/{created['id']}") == {}
    api.error("GET", f"/recipients/{created['id']}", 404)
    api.error("DELETE", f"/recipients/{created['id']}", 404)
    assert api.ok("GET", "/recipients")["recipients"] == []
    # The key is free again.
    create(api, "acme")


def test_deleting_a_recipient_deletes_its_destinations(api: Api) -> None:
    acme = create(api, "acme")
    globex = create(api, "globex")
    owned = [
        api.ok("POST", "/destinations", json=factories.postgres_destination(acme["id"]))[
            "destination"
        ]
        for _ in range(2)
    ]
    kept = api.ok("POST", "/destinations", json=factories.postgres_destination(globex["id"]))[
        "destination"
    ]
    api.ok("DELETE", f"/recipients/{acme['id']}")
    for destination in owned:
        api.error("GET", f"/destinations/{destination['id']}", 404)
    assert [d["id"] for d in api.ok("GET", "/destinations")["destinations"]] == [kept["id"]]


def test_deleting_a_recipient_with_transfers_and_links(api: Api) -> None:
    api.ok("POST", "/sources", json=factories.postgres_source())
    acme = create(api, "acme")
    destination = api.ok("POST", "/destinations", json=factories.postgres_destination(acme["id"]))[
        "destination"
    ]
    transfer = api.ok("POST", f"/destinations/{destination['id']}/transfer", json={})
    link = api.ok("POST", "/magic-links", json=factories.magic_link(acme["id"]))["magic_link"]
    api.ok("DELETE", f"/recipients/{acme['id']}")
    api.error("GET", f"/transfers/{transfer['transfer_id']}", 404)
    api.error("GET", f"/magic-links/{link['id']}", 404)
    assert api.ok("GET", "/transfers")["transfers"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipient": {"name": "x"}}, "recipient.id_in_provider_system"),
        ({"recipient": {"id_in_provider_system": ""}}, "recipient.id_in_provider_system"),
        ({"recipient": {"id_in_provider_system": "x", "schema": "s"}}, "recipient.schema"),
        (
            {"recipient": {"id_in_provider_system": "x", "products": "default"}},
            "recipient.products",
        ),
        (
            {
                "recipient": {
                    "id_in_provider_system": "x",
                    "default_full_refresh_min_start_time_epoch": -1,
                }
            },
            "recipient.default_full_refresh_min_start_time_epoch",
        ),
        ({"recipient": {"id_in_provider_system": "x", "nmae": "y"}}, "recipient.nmae"),
    ],
)
def test_invalid_bodies_are_refused(api: Api, body: dict[str, Any], field: str) -> None:
    assert field in api.error("POST", "/recipients", 400, json=body)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_bad_uuid_is_refused(api: Api, method: str) -> None:
    body = {"recipient": {"name": "x"}} if method == "PATCH" else None
    assert "recipient_id" in api.error(method, "/recipients/acme", 400, json=body)


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    created = create(tenant.staging, "acme")
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        other.error("GET", f"/recipients/{created['id']}", 404)
        other.error("PATCH", f"/recipients/{created['id']}", 404, json={"recipient": {"name": "x"}})
        other.error("DELETE", f"/recipients/{created['id']}", 404)
        assert other.ok("GET", "/recipients")["recipients"] == []
