"""Magic links through the API: the link, the recipient's models, validation and deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from ferry.connectors import registry
from tests import factories
from tests.conftest import Api, Tenant

MAGIC_LINK_FIELDS = {
    "id",
    "name",
    "products",
    "id_in_provider_system",
    "host",
    "link",
    "has_been_used",
    "created_at",
    "bucket_name",
    "vendor",
    "available_models",
    "set_destination_enabled",
    "recipient_id",
    "bucket_access_id",
    "bucket_vendor",
    "ssh_public_key",
    "redirect_url",
    "metastore",
    "catalog",
    "bucket_host",
    "table_bucket_arn",
}


def recipient(api: Api, key: str = "acme", **overrides: Any) -> dict[str, Any]:
    return api.ok("POST", "/recipients", json=factories.recipient(key, **overrides))["recipient"]


def create(api: Api, recipient_id: str, **overrides: Any) -> dict[str, Any]:
    body = factories.magic_link(recipient_id, **overrides)
    return api.ok("POST", "/magic-links", json=body)["magic_link"]


def token_of(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[-1]


def test_create_returns_the_link(api: Api) -> None:
    acme = recipient(api)
    created = create(api, acme["id"], name="Acme warehouse")
    assert set(created) >= MAGIC_LINK_FIELDS
    assert created["name"] == "Acme warehouse"
    assert created["vendor"] == "postgres"
    assert created["recipient_id"] == acme["id"]
    assert created["id_in_provider_system"] == "acme"
    assert created["products"] == ["default"]
    assert created["has_been_used"] is False
    assert created["set_destination_enabled"] is True
    assert created["redirect_url"] is None
    assert factories.is_rfc3339_utc(created["created_at"])
    parts = urlsplit(created["link"])
    assert parts.scheme == "http"
    assert parts.netloc == "ferry.test"
    assert len(token_of(created["link"])) >= 32
    assert token_of(created["link"]) in created["link"]
    assert api.ok("GET", f"/magic-links/{created['id']}")["magic_link"] == created


def test_expiry_follows_the_default_ttl(api: Api) -> None:
    created = create(api, recipient(api)["id"])
    expires = datetime.fromisoformat(created["expires_at"].replace("Z", "+00:00"))
    made = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
    assert abs(expires - made - timedelta(days=7)) < timedelta(minutes=1)
    assert expires > datetime.now(UTC)


def test_every_link_has_its_own_token(api: Api) -> None:
    acme = recipient(api)
    links = {token_of(create(api, acme["id"])["link"]) for _ in range(3)}
    assert len(links) == 3


def test_prefilled_values_and_options(api: Api) -> None:
    acme = recipient(api)
    created = create(
        api,
        acme["id"],
        vendor="s3",
        bucket_name="acme-out",
        bucket_vendor="bucket_s3",
        host="s3.example.com",
        set_destination_enabled=False,
        redirect_url="https://app.example.com/done",
    )
    assert created["vendor"] == "s3"
    assert created["bucket_name"] == "acme-out"
    assert created["bucket_vendor"] == "bucket_s3"
    assert created["host"] == "s3.example.com"
    assert created["set_destination_enabled"] is False
    assert created["redirect_url"] == "https://app.example.com/done"
    assert created["catalog"] is None


def test_name_has_a_default(api: Api) -> None:
    created = create(api, recipient(api)["id"])
    assert created["name"]


def test_available_models_follow_the_recipients_products(api: Api) -> None:
    for name in ("orders", "customers", "invoices"):
        api.ok("POST", "/models", json=factories.unchecked_model(name))
    api.ok("POST", "/products", json=factories.product("sales", ["orders", "invoices"]))
    everything = create(api, recipient(api, "acme")["id"])
    assert everything["available_models"] == ["orders", "customers", "invoices"]
    sales = recipient(api, "globex", products=["sales"])
    link = create(api, sales["id"])
    assert link["products"] == ["sales"]
    assert link["available_models"] == ["orders", "invoices"]
    # The list is computed when read: later changes to the product show.
    api.ok("PATCH", "/products/sales", json={"product": {"models": ["customers"]}})
    assert api.ok("GET", f"/magic-links/{link['id']}")["magic_link"]["available_models"] == [
        "customers"
    ]


def test_every_destination_vendor_is_accepted(api: Api) -> None:
    acme = recipient(api)
    for vendor in registry.destinations():
        assert create(api, acme["id"], vendor=vendor)["vendor"] == vendor


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"vendor": "carrier_pigeon"}, "magic_link.vendor", 400),
        ({"vendor": None}, "magic_link.vendor", 400),
        ({"recipient_id": None}, "magic_link.recipient_id", 400),
        ({"recipient_id": "acme"}, "magic_link.recipient_id", 400),
        ({"id_in_provider_system": "acme"}, "magic_link.id_in_provider_system", 400),
        ({"products": ["default"]}, "magic_link.products", 400),
        ({"redirect_url": "javascript:alert(1)"}, "magic_link.redirect_url", 400),
        ({"redirect_url": "not a url"}, "magic_link.redirect_url", 400),
        ({"bucket_secret": "x"}, "magic_link.bucket_secret", 400),
    ],
)
def test_invalid_bodies_are_refused(
    api: Api, change: dict[str, Any], field: str, status: int
) -> None:
    body = factories.magic_link(recipient(api)["id"])
    body["magic_link"].update(change)
    body["magic_link"] = {k: v for k, v in body["magic_link"].items() if v is not None}
    assert field in api.error("POST", "/magic-links", status, json=body)
    assert api.ok("GET", "/magic-links")["magic_links"] == []


def test_unknown_recipient_is_not_found(api: Api) -> None:
    missing = "3f8e2c9a-0000-4000-8000-000000000000"
    api.error("POST", "/magic-links", 404, json=factories.magic_link(missing))


def test_list(api: Api) -> None:
    acme = recipient(api)
    first = create(api, acme["id"])
    second = create(api, acme["id"], vendor="snowflake")
    listed = api.ok("GET", "/magic-links")["magic_links"]
    assert listed == [second, first]


def test_delete(api: Api) -> None:
    created = create(api, recipient(api)["id"])
    assert api.ok("DELETE", f"/magic-links/{created['id']}") == {}
    api.error("GET", f"/magic-links/{created['id']}", 404)
    api.error("DELETE", f"/magic-links/{created['id']}", 404)
    assert api.ok("GET", "/magic-links")["magic_links"] == []


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    acme = recipient(tenant.staging)
    created = create(tenant.staging, acme["id"])
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        other.error("GET", f"/magic-links/{created['id']}", 404)
        other.error("DELETE", f"/magic-links/{created['id']}", 404)
        other.error("POST", "/magic-links", 404, json=factories.magic_link(acme["id"]))
        assert other.ok("GET", "/magic-links")["magic_links"] == []
