"""Webhooks through the API: vendors, URLs, events, write-only integration keys."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.conftest import Api, Tenant

WEBHOOK_FIELDS = {
    "id",
    "name",
    "vendor",
    "url",
    "api_version",
    "events",
    "is_enabled",
    "has_api_key",
    "created_at",
    "updated_at",
}
TRANSFER_EVENTS = ["transfer.success", "transfer.error", "transfer.cancelled"]
RESOURCES = ("source", "destination", "recipient", "magic_link", "model", "product", "webhook")
RESOURCE_EVENTS = [f"{r}.{a}" for r in RESOURCES for a in ("created", "updated", "deleted")]
VENDORS = ["generic_post", "generic_get", "slack", "pagerduty", "datadog"]
NEEDS_KEY = {"pagerduty", "datadog"}


def create(api: Api, vendor: str = "generic_post", **overrides: Any) -> dict[str, Any]:
    if vendor in NEEDS_KEY:
        overrides.setdefault("api_key", factories.WEBHOOK_API_KEY)
    return api.ok("POST", "/webhooks", json=factories.webhook(vendor, **overrides))["webhook"]


def test_create_returns_the_webhook(api: Api) -> None:
    response = api.call("POST", "/webhooks", json=factories.webhook())
    assert response.status_code == 200, response.text
    created = response.json()["data"]["webhook"]
    assert set(created) == WEBHOOK_FIELDS
    assert created["name"] == "generic_post hook"
    assert created["vendor"] == "generic_post"
    assert created["url"] == "https://hooks.example.com/ferry"
    assert created["api_version"] == "2023-10-15"
    assert created["events"] == TRANSFER_EVENTS
    assert created["is_enabled"] is True
    assert created["has_api_key"] is False
    assert factories.is_rfc3339_utc(created["created_at"])
    assert created["updated_at"] == created["created_at"]
    assert api.ok("GET", f"/webhooks/{created['id']}")["webhook"] == created


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_vendor(api: Api, vendor: str) -> None:
    created = create(api, vendor)
    assert created["vendor"] == vendor
    assert created["has_api_key"] is (vendor in NEEDS_KEY)


@pytest.mark.parametrize("vendor", ["teams", "GENERIC_POST", "", "webhook"])
def test_unknown_vendors_are_refused(api: Api, vendor: str) -> None:
    assert "webhook.vendor" in api.error("POST", "/webhooks", 400, json=factories.webhook(vendor))


@pytest.mark.parametrize("vendor", sorted(NEEDS_KEY))
def test_integration_vendors_need_an_api_key(api: Api, vendor: str) -> None:
    body = factories.webhook(vendor)
    assert "webhook.api_key" in api.error("POST", "/webhooks", 400, json=body)
    body["webhook"]["api_key"] = ""
    assert "webhook.api_key" in api.error("POST", "/webhooks", 400, json=body)
    assert api.ok("GET", "/webhooks")["webhooks"] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_api_key_is_never_returned(api: Api, vendor: str) -> None:
    body = factories.webhook(vendor, api_key=factories.WEBHOOK_API_KEY)
    responses = [api.call("POST", "/webhooks", json=body)]
    created = responses[0].json()["data"]["webhook"]
    assert created["has_api_key"] is True
    assert "api_key" not in created
    responses.append(api.call("GET", f"/webhooks/{created['id']}"))
    responses.append(api.call("GET", "/webhooks"))
    responses.append(
        api.call("PATCH", f"/webhooks/{created['id']}", json={"webhook": {"name": "renamed"}})
    )
    responses.append(api.call("GET", "/logs"))
    for response in responses:
        assert response.status_code == 200
        assert factories.WEBHOOK_API_KEY not in response.text


@pytest.mark.parametrize(
    "url",
    [
        "hooks.example.com/ferry",
        "ftp://hooks.example.com/ferry",
        "https://hooks.example.com/with space",
        "",
        "javascript:alert(1)",
        "https://" + "a" * 2050,
    ],
)
def test_invalid_urls_are_refused(api: Api, url: str) -> None:
    assert "webhook.url" in api.error("POST", "/webhooks", 400, json=factories.webhook(url=url))


@pytest.mark.parametrize(
    "url", ["http://localhost:8080/hook", "https://hooks.slack.com/services/T/B/x"]
)
def test_valid_urls(api: Api, url: str) -> None:
    assert create(api, url=url)["url"] == url


def test_every_documented_event_is_accepted(api: Api) -> None:
    created = create(api, events=TRANSFER_EVENTS + RESOURCE_EVENTS)
    assert created["events"] == TRANSFER_EVENTS + RESOURCE_EVENTS


def test_duplicate_events_collapse(api: Api) -> None:
    created = create(api, events=["transfer.error", "source.created", "transfer.error"])
    assert created["events"] == ["transfer.error", "source.created"]


@pytest.mark.parametrize(
    "events",
    [
        ["transfer.started"],
        ["transfer.error", "recipients.created"],
        ["TRANSFER.ERROR"],
        "transfer.error",
    ],
)
def test_unknown_events_are_refused(api: Api, events: Any) -> None:
    assert "webhook.events" in api.error(
        "POST", "/webhooks", 400, json=factories.webhook(events=events)
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"api_version": "2024-01-01"}, "webhook.api_version"),
        ({"name": ""}, "webhook.name"),
        ({"secret": "x"}, "webhook.secret"),
        ({"is_enabled": "sometimes"}, "webhook.is_enabled"),
    ],
)
def test_invalid_fields_are_refused(api: Api, change: dict[str, Any], field: str) -> None:
    assert field in api.error("POST", "/webhooks", 400, json=factories.webhook(**change))


def test_patch(api: Api) -> None:
    created = create(api)
    patch = {
        "name": "Ops",
        "url": "https://ops.example.com/hook",
        "events": ["transfer.error", "destination.deleted"],
        "is_enabled": False,
    }
    updated = api.ok("PATCH", f"/webhooks/{created['id']}", json={"webhook": patch})["webhook"]
    assert updated == created | patch | {"updated_at": updated["updated_at"]}
    assert factories.is_rfc3339_utc(updated["updated_at"])
    assert updated["updated_at"] > created["updated_at"]
    assert api.ok("GET", f"/webhooks/{created['id']}")["webhook"] == updated


def test_patch_to_an_integration_vendor_needs_a_key(api: Api) -> None:
    created = create(api)
    url = f"/webhooks/{created['id']}"
    assert "webhook.api_key" in api.error(
        "PATCH", url, 400, json={"webhook": {"vendor": "datadog"}}
    )
    assert api.ok("GET", url)["webhook"] == created
    both = {"vendor": "datadog", "api_key": factories.WEBHOOK_API_KEY}
    updated = api.ok("PATCH", url, json={"webhook": both})["webhook"]
    assert updated["vendor"] == "datadog"
    assert updated["has_api_key"] is True


def test_patch_cannot_drop_a_needed_key(api: Api) -> None:
    created = create(api, "pagerduty")
    url = f"/webhooks/{created['id']}"
    assert "webhook.api_key" in api.error("PATCH", url, 400, json={"webhook": {"api_key": None}})
    assert api.ok("GET", url)["webhook"]["has_api_key"] is True
    # A key may be replaced; a generic webhook may drop its key.
    api.ok("PATCH", url, json={"webhook": {"api_key": "rotated-Key-5"}})
    generic = create(api, api_key="k-1")
    dropped = api.ok("PATCH", f"/webhooks/{generic['id']}", json={"webhook": {"api_key": None}})
    assert dropped["webhook"]["has_api_key"] is False


def test_patch_refuses_invalid_values(api: Api) -> None:
    created = create(api)
    url = f"/webhooks/{created['id']}"
    for patch, field in (
        ({"url": "nope"}, "webhook.url"),
        ({"events": ["transfer.started"]}, "webhook.events"),
        ({"vendor": "teams"}, "webhook.vendor"),
    ):
        assert field in api.error("PATCH", url, 400, json={"webhook": patch})
    assert api.ok("GET", url)["webhook"] == created


def test_list_and_delete(api: Api) -> None:
    first = create(api)
    second = create(api, "slack", url="https://hooks.slack.com/services/T/B/x")
    assert api.ok("GET", "/webhooks")["webhooks"] == [second, first]
    assert api.ok("DELETE", f"/webhooks/{first['id']}") == {}
    api.error("GET", f"/webhooks/{first['id']}", 404)
    api.error("DELETE", f"/webhooks/{first['id']}", 404)
    api.error("PATCH", f"/webhooks/{first['id']}", 404, json={"webhook": {"name": "x"}})
    assert api.ok("GET", "/webhooks")["webhooks"] == [second]


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    created = create(tenant.staging)
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        other.error("GET", f"/webhooks/{created['id']}", 404)
        other.error("PATCH", f"/webhooks/{created['id']}", 404, json={"webhook": {"name": "x"}})
        other.error("DELETE", f"/webhooks/{created['id']}", 404)
        assert other.ok("GET", "/webhooks")["webhooks"] == []
