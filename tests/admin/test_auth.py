"""Signing in and out of the Admin UI, its CSRF defence, and what each key may see."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests import factories
from tests.admin.conftest import BASE, Browser, csrf_of
from tests.conftest import Tenant


def test_a_good_key_signs_in_and_lands_on_the_overview(browser: Browser, tenant: Tenant) -> None:
    response = browser.sign_in(tenant.staging.key)
    assert response.status_code == 200
    assert str(response.url) == f"{BASE}/admin"
    assert "<h1>Overview</h1>" in response.text
    assert tenant.name in response.text
    assert tenant.staging.key not in response.text  # only its last characters
    cookie = response.history[0].headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/admin" in cookie
    assert "Secure" not in cookie  # served over http here


def test_a_bad_key_is_refused_with_the_error_on_the_form(browser: Browser, tenant: Tenant) -> None:
    response = browser.sign_in(tenant.staging.key[:-2] + "xx")
    assert response.status_code == 401
    assert "This API key is not valid" in response.text
    assert 'aria-invalid="true"' in response.text
    empty = browser.sign_in("")
    assert empty.status_code == 400
    assert "Enter an API key." in empty.text
    assert browser.get("/admin", follow_redirects=False).status_code == 303


def test_pages_send_a_stranger_to_sign_in_and_back(browser: Browser, tenant: Tenant) -> None:
    response = browser.get("/admin/recipients", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin%2Frecipients"
    login = browser.get(response.headers["location"])
    form = {"csrf_token": csrf_of(login.text), "api_key": tenant.staging.key}
    form["next"] = "/admin/recipients"
    signed = browser.client.post("/admin/login", data=form, headers={"Origin": BASE})
    assert str(signed.url) == f"{BASE}/admin/recipients"
    # Never anywhere but the Admin UI.
    login = browser.get("/admin/login")
    form = {"csrf_token": csrf_of(login.text), "api_key": tenant.staging.key}
    form["next"] = "https://evil.example/admin"
    again = browser.client.post("/admin/login", data=form, headers={"Origin": BASE})
    assert str(again.url) == f"{BASE}/admin"


def test_signing_out_ends_the_session(signed_in: Browser) -> None:
    response = signed_in.submit("/admin", "/admin/logout")
    assert response.status_code == 200
    assert "You are signed out." in response.text
    assert signed_in.get("/admin", follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_is_refused(signed_in: Browser) -> None:
    form = {"id_in_provider_system": "acme"}
    response = signed_in.client.post("/admin/recipients/new", data=form, headers={"Origin": BASE})
    assert response.status_code == 403
    assert "security token" in response.text
    page = signed_in.get("/admin/recipients/new")
    forged = {**form, "csrf_token": csrf_of(page.text)}
    other_site = signed_in.client.post(
        "/admin/recipients/new", data=forged, headers={"Origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    wrong = {**form, "csrf_token": "not-the-token"}
    assert (
        signed_in.client.post(
            "/admin/recipients/new", data=wrong, headers={"Origin": BASE}
        ).status_code
        == 403
    )
    assert "acme" not in signed_in.get("/admin/recipients").text


def _destination(tenant_api: Any, key: str) -> dict[str, Any]:
    recipient = tenant_api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]
    body = factories.postgres_destination(recipient["id"])
    made: dict[str, Any] = tenant_api.ok("POST", "/destinations", json=body)["destination"]
    return made


def test_one_key_never_sees_another_environment_or_organization(
    browser: Browser, tenant: Tenant, make_tenant: Any
) -> None:
    other = make_tenant()
    prod = _destination(tenant.prod, "prod-only-customer")
    foreign = _destination(other.staging, "foreign-customer")
    browser.sign_in(tenant.staging.key)
    for path in ("/admin/recipients", "/admin/destinations", "/admin"):
        page = browser.get(path).text
        assert "prod-only-customer" not in page
        assert "foreign-customer" not in page
    for path in (
        f"/admin/destinations/{prod['id']}",
        f"/admin/destinations/{foreign['id']}",
        f"/admin/destinations/{foreign['id']}/edit",
        f"/admin/recipients/{foreign['recipient_id']}",
        "/admin/destinations/not-an-id",
    ):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "This page cannot be shown" in response.text
    # Nor can it act on them.
    response = browser.submit(
        "/admin/destinations",
        f"/admin/destinations/{foreign['id']}/enabled",
        {"is_enabled": "false"},
    )
    assert response.status_code == 404
    assert other.staging.ok("GET", f"/destinations/{foreign['id']}")["destination"]["is_enabled"]


def test_a_revoked_key_ends_its_sessions(signed_in: Browser, tenant: Tenant, sessions: Any) -> None:
    from ferry.db.engine import session_scope
    from ferry.services import organizations

    with session_scope(sessions) as session:
        assert organizations.revoke_api_key(session, api_key=tenant.staging.key)
    assert signed_in.get("/admin", follow_redirects=False).status_code == 303


def test_the_live_view_answers_json_once_signed_out(app: Any) -> None:
    with TestClient(app, base_url=BASE) as client:
        response = client.get(
            "/admin/transfers/00000000-0000-0000-0000-000000000000/live",
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )
    assert response.status_code == 401
    assert response.json()["status"] == "error"


def test_over_https_the_cookie_is_secure(app: Any, tenant: Tenant) -> None:
    with TestClient(app, base_url="https://ferry.test") as client:
        login = client.get("/admin/login")
        assert "Secure" in login.headers["set-cookie"]
        form = {"csrf_token": csrf_of(login.text), "api_key": tenant.staging.key}
        signed = client.post(
            "/admin/login",
            data=form,
            headers={"Origin": "https://ferry.test"},
            follow_redirects=False,
        )
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_a_destination_is_never_added_for_another_recipient(
    browser: Browser, tenant: Tenant, make_tenant: Any
) -> None:
    other = make_tenant()
    foreign = other.staging.ok("POST", "/recipients", json=factories.recipient("theirs"))
    browser.sign_in(tenant.staging.key)
    tenant.staging.ok("POST", "/recipients", json=factories.recipient("ours"))
    page = f"/admin/destinations/new?recipient_id={foreign['recipient']['id']}"
    assert browser.get(page).status_code == 404
    response = browser.submit(
        "/admin/destinations/new",
        "/admin/destinations/new",
        {"recipient_id": foreign["recipient"]["id"], "vendor": "postgres", "action": "save"},
    )
    assert response.status_code == 404
    assert tenant.staging.ok("GET", "/destinations")["destinations"] == []
