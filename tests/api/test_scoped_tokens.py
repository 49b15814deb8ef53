"""Scoped tokens: what a recipient's browser may do with one, and nothing more."""

from __future__ import annotations

import copy
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from ferry.db.engine import session_scope
from ferry.services import tokens
from tests import factories
from tests.conftest import Api

ORIGIN = "https://app.provider.example"


class Browser:
    """A recipient's browser: a scoped token, its application id, its origin."""

    def __init__(
        self, client: TestClient, token: str, app_id: str = ORIGIN, origin: str | None = ORIGIN
    ) -> None:
        self.client, self.token, self.app_id, self.origin = client, token, app_id, origin

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        version: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = {"Authorization": f"Bearer {self.token}", "X-APP-ID": self.app_id}
        if self.origin:
            sent["Origin"] = self.origin
        if version:
            sent["X-Prequel-Api-Version"] = version
        return self.client.request(method, path, json=json, headers=sent | (headers or {}))

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "success", response.text
        return response.json()["data"]

    def refused(self, method: str, path: str, status: int, **kwargs: Any) -> str:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, response.text
        assert response.json()["status"] == "error"
        return str(response.json()["message"])


def destination_body(recipient_id: str, **postgres: Any) -> dict[str, Any]:
    return factories.postgres_destination(recipient_id, schema=postgres.pop("schema", None))[
        "destination"
    ] | ({"postgres": postgres} if postgres else {})


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    """Two recipients of one provider, each with a destination; one model in `default`."""
    api.ok("POST", "/models", json=factories.model("orders") | {"skip_model_validation": True})
    api.ok("POST", "/models", json=factories.model("invoices") | {"skip_model_validation": True})
    api.ok(
        "POST", "/products", json={"product": {"product_name": "billing", "models": ["invoices"]}}
    )
    api.ok("PATCH", "/products/default", json={"product": {"models": ["orders"]}})
    mine = api.ok("POST", "/recipients", json=factories.recipient("mine"))["recipient"]
    other = api.ok("POST", "/recipients", json=factories.recipient("other"))["recipient"]
    my_dest = api.ok("POST", "/destinations", json=factories.postgres_destination(mine["id"]))[
        "destination"
    ]
    their_dest = api.ok("POST", "/destinations", json=factories.postgres_destination(other["id"]))[
        "destination"
    ]
    return {"mine": mine, "other": other, "my_dest": my_dest, "their_dest": their_dest}


def mint(
    api: Api,
    recipient_id: str,
    destination: dict[str, Any] | None = None,
    origin: str | None = ORIGIN,
) -> str:
    body: dict[str, Any] = {"recipient_id": recipient_id}
    if origin:
        body["application_origin"] = origin
    if destination is not None:
        body["destination"] = destination
    return str(api.ok("POST", "/actions/generate-scoped-auth-token", json=body)["scoped_token"])


def test_minting_needs_an_api_key_and_a_real_recipient(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    assert (
        client.post(
            "/actions/generate-scoped-auth-token", json={"recipient_id": world["mine"]["id"]}
        ).status_code
        == 401
    )
    api.error(
        "POST", "/actions/generate-scoped-auth-token", 404, json={"recipient_id": str(uuid.uuid4())}
    )
    message = api.error("POST", "/actions/generate-scoped-auth-token", 400, json={})
    assert "recipient_id" in message
    token = mint(api, world["mine"]["id"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == world["mine"]["id"]
    assert claims["exp"] - claims["iat"] == 3600
    assert "password" not in token  # details are fingerprinted, never embedded


def test_the_base_version_names_the_recipient_in_the_destination(
    api: Api, client: TestClient
) -> None:
    base = api.with_version("2022-01-01")
    token = base.ok(
        "POST",
        "/actions/generate-scoped-auth-token",
        json={
            "application_origin": ORIGIN,
            "destination": {"vendor": "postgres", "id_in_provider_system": "brand-new"},
        },
    )
    assert token["scoped_token"]
    created = api.ok("GET", "/recipients?id_in_provider_system=brand-new")["recipients"]
    assert len(created) == 1


def test_a_token_reads_only_its_recipients_destinations_and_transfers(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    browser = Browser(client, mint(api, world["mine"]["id"]))
    listed = browser.ok("GET", "/destinations-for-recipient", version="2023-12-01")
    assert [d["id"] for d in listed["destinations"]] == [world["my_dest"]["id"]]
    assert [d["id"] for d in browser.ok("GET", "/destinations")["destinations"]] == [
        world["my_dest"]["id"]
    ]
    browser.refused("GET", f"/destinations/{world['their_dest']['id']}", 404)
    browser.ok("GET", f"/destinations/{world['my_dest']['id']}")
    api.ok("POST", f"/destinations/{world['my_dest']['id']}/transfer")
    api.ok("POST", f"/destinations/{world['their_dest']['id']}/transfer")
    # Both forms the SDK uses, through the legacy prefix and without a version header.
    legacy = browser.ok(
        "GET", f"/export/destinations/{world['my_dest']['id']}/transfers?count=5&status=PENDING"
    )
    assert len(legacy["transfers"]) == 1
    paged = browser.ok(
        "GET",
        f"/export/destinations/{world['my_dest']['id']}/transfers?page_size=1",
        version="2023-12-01",
    )
    assert paged["transfers"][0]["destination_id"] == world["my_dest"]["id"]
    browser.refused("GET", f"/export/destinations/{world['their_dest']['id']}/transfers", 404)
    assert len(browser.ok("GET", "/transfers")["transfers"]) == 1


def test_a_token_sees_the_models_and_products_its_recipient_subscribes_to(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    browser = Browser(client, mint(api, world["mine"]["id"]))
    mine = browser.ok("GET", "/export/models-for-recipient")
    assert [m["model_name"] for m in mine["models"]] == ["orders"]
    assert [m["model_name"] for m in browser.ok("GET", "/export/models")["models"]] == ["orders"]
    assert [p["product_name"] for p in browser.ok("GET", "/export/products")["products"]] == [
        "default"
    ]
    api.ok(
        "PATCH",
        f"/recipients/{world['mine']['id']}",
        json={"recipient": {"products": ["default", "billing"]}},
    )
    assert sorted(m["model_name"] for m in browser.ok("GET", "/export/models")["models"]) == [
        "invoices",
        "orders",
    ]


def test_a_token_creates_only_the_destination_it_was_minted_for(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    wanted = destination_body(world["mine"]["id"], schema="browser_made")
    browser = Browser(client, mint(api, world["mine"]["id"], destination=wanted))
    changed = copy.deepcopy(wanted)
    changed["postgres"]["host"] = "attacker.example"
    assert "differs" in browser.refused("POST", "/destinations", 403, json={"destination": changed})
    made = browser.ok("POST", "/destinations", json={"destination": wanted}, version="2023-12-01")[
        "destination"
    ]
    assert made["recipient_id"] == world["mine"]["id"]
    # A token for one recipient cannot create for another, even with matching details.
    theirs = destination_body(world["other"]["id"], schema="browser_theirs")
    browser_for_them = Browser(client, mint(api, world["mine"]["id"], destination=theirs))
    browser_for_them.refused("POST", "/destinations", 404, json={"destination": theirs})
    # A read-only token cannot write at all.
    reader = Browser(client, mint(api, world["mine"]["id"]))
    assert "only read" in reader.refused("POST", "/destinations", 403, json={"destination": wanted})


def test_a_token_patches_credentials_but_never_the_host_or_bucket(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    target = world["my_dest"]["id"]
    change = {"postgres": {"password_auth": {"password": "rotated-password"}}}
    browser = Browser(client, mint(api, world["mine"]["id"], destination=change))
    browser.ok(
        "PATCH",
        f"/export/destinations/{target}",
        json={"destination": change},
        version="2023-12-01",
    )
    move = {"postgres": {"host": "elsewhere.example"}}
    mover = Browser(client, mint(api, world["mine"]["id"], destination=move))
    assert "host" in mover.refused(
        "PATCH", f"/export/destinations/{target}", 403, json={"destination": move}
    )
    theirs = Browser(client, mint(api, world["mine"]["id"], destination=change))
    theirs.refused(
        "PATCH",
        f"/export/destinations/{world['their_dest']['id']}",
        404,
        json={"destination": change},
    )


def test_a_token_deletes_only_its_own_destinations(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    browser = Browser(client, mint(api, world["mine"]["id"]))
    browser.refused("DELETE", f"/destinations/{world['their_dest']['id']}", 404)
    assert browser.ok("DELETE", f"/destinations/{world['my_dest']['id']}") == {}


def test_a_token_may_test_only_what_it_was_minted_for(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    probe = destination_body(world["mine"]["id"], schema="probe")
    probe["postgres"]["host"] = "127.0.0.1"
    probe["postgres"]["port"] = 1
    browser = Browser(client, mint(api, world["mine"]["id"], destination=probe))
    result = browser.ok(
        "POST", "/test-destination", json={"destination": probe}, version="2023-12-01"
    )
    assert result["status"] == "error"
    assert result["error"]["error_code"] == "PRQL-REFUSED"
    scanner = copy.deepcopy(probe)
    scanner["postgres"]["port"] = 22
    browser.refused("POST", "/test-destination", 403, json={"destination": scanner})
    assert (
        browser.ok(
            "POST",
            f"/export/destinations/{world['my_dest']['id']}/test-connection",
            version="2023-12-01",
        )["status"]
        == "error"
    )


@pytest.mark.parametrize(
    "path", ["/sources", "/recipients", "/webhooks", "/logs", "/magic-links", "/environment"]
)
def test_routes_beyond_a_tokens_scope_are_forbidden(
    api: Api, world: dict[str, Any], client: TestClient, path: str
) -> None:
    browser = Browser(client, mint(api, world["mine"]["id"]))
    assert "scoped token" in browser.refused("GET", path, 403)
    browser.refused("POST", f"/destinations/{world['my_dest']['id']}/transfer", 403)


def test_expired_tampered_and_foreign_tokens_are_refused(
    api: Api, world: dict[str, Any], client: TestClient, sessions: Any
) -> None:
    token = mint(api, world["mine"]["id"])
    claims = jwt.decode(token, options={"verify_signature": False})
    with session_scope(sessions) as session:
        key = tokens._signing_keys(session)[0]
    past = claims | {"exp": int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())}
    expired = jwt.encode(past, key, algorithm="HS256")
    assert "expired" in Browser(client, expired).refused("GET", "/destinations", 401)
    forged = jwt.encode(
        claims | {"sub": world["other"]["id"]}, "not-the-key-" * 4, algorithm="HS256"
    )
    assert (
        Browser(client, forged)
        .refused("GET", "/destinations", 401)
        .startswith("invalid scoped token")
    )
    head, body, signature = token.split(".")
    assert Browser(client, f"{head}.{body}.{signature[::-1]}").refused("GET", "/destinations", 401)
    assert "X-APP-ID" in Browser(client, token, app_id="https://evil.example").refused(
        "GET", "/destinations", 403
    )
    assert "origin" in Browser(client, token, origin="https://evil.example").refused(
        "GET", "/destinations", 403
    )
    missing = Browser(client, token)
    missing.app_id = ""
    response = client.get("/destinations", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "X-APP-ID" in response.json()["message"]


def test_deleting_the_recipient_revokes_its_tokens(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    browser = Browser(client, mint(api, world["mine"]["id"]))
    browser.ok("GET", "/destinations")
    api.ok("DELETE", f"/recipients/{world['mine']['id']}")
    assert "revoked" in browser.refused("GET", "/destinations", 401)


def test_another_organizations_token_sees_nothing_here(
    make_tenant: Any, world: dict[str, Any], client: TestClient
) -> None:
    stranger = make_tenant()
    their = stranger.staging.ok("POST", "/recipients", json=factories.recipient("x"))
    browser = Browser(client, mint(stranger.staging, their["recipient"]["id"]))
    assert browser.ok("GET", "/destinations")["destinations"] == []
    browser.refused("GET", f"/destinations/{world['my_dest']['id']}", 404)


def test_cors_preflights_follow_the_allowed_origins(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-app-id,content-type",
    }
    unknown = client.options(
        "/destinations", headers={"Origin": "https://nobody.example"} | preflight
    )
    assert unknown.status_code == 403
    assert "access-control-allow-origin" not in unknown.headers
    time.sleep(1.1)  # refreshes on a miss are at most once a second
    # An environment's allowlist …
    api.ok(
        "PATCH",
        "/environment",
        json={"environment": {"allowed_origins": ["https://console.provider.example"]}},
    )
    allowed = client.options(
        "/destinations", headers={"Origin": "https://console.provider.example"} | preflight
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://console.provider.example"
    assert "x-app-id" in allowed.headers["access-control-allow-headers"].lower()
    # … and the origin a live token was minted for.
    mint(api, world["mine"]["id"], origin="https://widgets.provider.example")
    time.sleep(1.1)
    granted = client.options(
        "/destinations-for-recipient",
        headers={"Origin": "https://widgets.provider.example"} | preflight,
    )
    assert granted.status_code == 200
    browser = Browser(client, mint(api, world["mine"]["id"]))
    response = browser.call("GET", "/destinations")
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "origin" in response.headers["vary"].lower()
    shown = api.ok("GET", "/environment")["environment"]
    assert shown["allowed_origins"] == ["https://console.provider.example"]
    api.error(
        "PATCH",
        "/environment",
        400,
        json={"environment": {"allowed_origins": ["javascript:alert(1)"]}},
    )


def test_public_routes_answer_any_origin(client: TestClient) -> None:
    preflight = {
        "Origin": "https://any.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-prequel-api-version",
    }
    answer = client.options("/public/destination-vendors", headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://any.example"
    listed = client.get("/public/destination-vendors", headers={"Origin": "https://any.example"})
    assert listed.headers["access-control-allow-origin"] == "https://any.example"


def test_a_recipients_lists_come_whole_unless_a_page_is_asked_for(
    api: Api, world: dict[str, Any], client: TestClient
) -> None:
    for n in range(12):
        api.ok(
            "POST", "/models", json=factories.model(f"extra_{n}") | {"skip_model_validation": True}
        )
    api.ok("PATCH", "/products/default", json={"product": {"models": ["*"]}})
    browser = Browser(client, mint(api, world["mine"]["id"]))
    whole = browser.ok("GET", "/export/models")
    assert len(whole["models"]) == 14
    paged = browser.call("GET", "/export/models?page_size=5").json()
    assert (len(paged["data"]["models"]), paged["has_next"]) == (5, True)
    # API keys keep the documented paging.
    assert len(api.ok("GET", "/models")["models"]) == 10
