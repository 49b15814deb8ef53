"""The magic-link page through the ASGI app: what it shows, what a submitted form does, and
what it never does (echo a secret, work twice, run inline script)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ferry import forms
from ferry.connectors import registry
from ferry.db.base import utcnow
from ferry.db.engine import session_scope
from ferry.db.models import MagicLink
from ferry.errors import NotFound
from ferry.web import answers as page_answers
from ferry.web import onboarding
from tests import factories
from tests.conftest import Api
from tests.forms import sdk
from tests.forms.answers import FormUser, choice_runs, fields_of
from tests.processes import free_port
from tests.web.markup import Page

SECRET = "page-Secret-pw-7"  # PostgreSQL trusts 127.0.0.1: any password connects
GONE = "This link has already been used or has expired"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(autouse=True)
def _browser(client: TestClient) -> None:
    """Pages are asked for by browsers: failures come back as pages only to them."""
    client.headers["Accept"] = BROWSER_ACCEPT


def new_link(api: Api, **overrides: Any) -> dict[str, Any]:
    key = f"globex-{uuid.uuid4().hex[:6]}"
    recipient = api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]
    body = factories.magic_link(recipient["id"], **overrides)
    link: dict[str, Any] = api.ok("POST", "/magic-links", json=body)["magic_link"]
    return link


def path_of(link: dict[str, Any]) -> str:
    return urlsplit(link["link"]).path


def postgres_answers(schema: str, **changes: Any) -> dict[str, Any]:
    """What a person types into the PostgreSQL form, as the browser sends it."""
    answers: dict[str, Any] = {
        "action": "save",
        "vendor": "postgres",
        "name": "Globex warehouse",
        "host": "127.0.0.1",
        "port": "5432",
        "database": "postgres",
        "schema": schema,
        "auth_method": "password_auth",
        "username": "postgres",
        "password": SECRET,
        "use_ssh_tunnel": "false",
        "disable_ssl": ["false", "true"],  # the hidden "false", then the ticked checkbox
        "frequency_minutes": "60",
    }
    return answers | changes


def assert_secure_headers(response: Any) -> None:
    headers = response.headers
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def assert_gone(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = Page.parse(response.text)
    assert page.one("h1").text.strip() == GONE
    assert "Traceback" not in response.text
    assert_secure_headers(response)


def test_the_page_shows_the_links_form(client: TestClient, api: Api) -> None:
    for name in ("orders", "customers"):
        api.ok("POST", "/models", json=factories.unchecked_model(name))
    link = new_link(api, host="db.globex.example")
    response = client.get(path_of(link))
    assert response.status_code == 200, response.text
    assert_secure_headers(response)
    page = Page.parse(response.text)
    assert page.one("title").text == "Connect your PostgreSQL warehouse"
    assert page.one("h1").text == "Connect your PostgreSQL warehouse"
    # The vendor is the link's, chosen already; the host is the one the provider prefilled.
    vendor = page.control("vendor")
    assert [o.get("value") for o in page.find("option")][:1] == ["postgres"]
    assert page.selected(str(vendor.get("id"))) == ["postgres"]
    assert page.control("host").get("value") == "db.globex.example"
    assert page.control("port").get("value") == "5432"
    # Sections come from the form tree, in its order.
    legends = [e.text.strip() for e in page.find("legend")]
    assert legends == [s["title"] for s in forms.destination_form("postgres")["sections"]]
    # The switch that reveals the SSH fields is off, so they are hidden and not sent.
    tunnel_host = page.one(data_field="f-ssh_tunnel_host")
    assert tunnel_host.has("hidden")
    assert tunnel_host.get("data-parent") == "f-use_ssh_tunnel"
    assert tunnel_host.get("data-when") == "true"
    assert page.by_id("f-ssh_tunnel_host").has("disabled")
    assert page.by_id("models-label").text == "Tables you will receive"
    assert [e.text for e in page.find("code")] == ["orders", "customers"]
    # Whether the destination starts enabled is the link's to decide, not the form's.
    assert not [e for e in page.elements if e.get("name") == "is_enabled"]


def test_every_control_is_labelled_and_described(client: TestClient, api: Api) -> None:
    page = Page.parse(client.get(path_of(new_link(api))).text)
    controls = [
        e
        for e in page.elements
        if e.tag in ("input", "select", "textarea") and e.get("type") != "hidden"
    ]
    assert controls
    ids = {e.get("id") for e in page.elements if e.get("id")}
    for control in controls:
        ident = control.get("id")
        assert ident, control
        assert page.label_of(ident).text.strip(), control
        for described in (control.get("aria-describedby") or "").split():
            assert described in ids, (control, described)
    password = page.control("password")
    assert password.get("type") == "password"
    assert password.get("autocomplete") == "new-password"
    assert not password.has("value")


@pytest.mark.parametrize("vendor", sorted(registry.destinations()))
def test_every_vendors_page_renders(client: TestClient, api: Api, vendor: str) -> None:
    link = new_link(api, vendor=vendor, bucket_name="acme-exports", host="h.example.com")
    response = client.get(path_of(link))
    assert response.status_code == 200, response.text
    page = Page.parse(response.text)
    name = registry.destination_class(vendor).display_name
    assert page.one("h1").text.startswith(f"Connect your {name} ")
    assert page.selected("f-vendor") == [vendor]
    for control in page.elements:
        if control.tag in ("input", "select", "textarea") and control.get("type") != "hidden":
            assert page.label_of(str(control.get("id"))).text.strip(), control
        if control.get("type") == "password":
            assert not control.has("value"), control
    names = {e.get("name") for e in page.elements}
    for prefilled in ("bucket_name", "host"):
        if prefilled in names:
            shown = [e for e in page.find("input") if e.get("name") == prefilled]
            assert {e.get("value") for e in shown} == {link[prefilled]}, prefilled


def test_scripts_and_styles_are_files_of_this_server(client: TestClient, api: Api) -> None:
    page = Page.parse(client.get(path_of(new_link(api))).text)
    scripts = page.find("script")
    assert scripts
    for script in scripts:
        assert str(script.get("src")).startswith("/static/"), script
        assert not script.text.strip()
    assert not [e for e in page.elements if e.has("style") or e.tag == "style"]
    assert not [e for e in page.elements if any(k.startswith("on") for k in e.attrs)]
    for asset in [str(s.get("src")) for s in scripts] + [
        str(e.get("href")) for e in page.find("link", rel="stylesheet")
    ]:
        response = client.get(asset)
        assert response.status_code == 200, asset
        kind = "text/javascript" if ".js" in asset else "text/css"
        assert response.headers["content-type"].startswith(kind)
    assert client.get("/static/nothing.css").status_code == 404
    assert client.get("/static/..%2Fpages.py").status_code == 404


def test_unknown_expired_and_used_links_get_the_friendly_page(
    client: TestClient, api: Api, sessions: Any
) -> None:
    assert_gone(client.get("/magic-link/not-a-token"))
    assert_gone(client.post("/magic-link/not-a-token", data={"action": "save"}))
    refused = client.post(
        "/magic-link/not-a-token/test", data={}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 404
    assert refused.json() == {"status": "error", "data": None, "message": GONE}
    assert_secure_headers(refused)

    expired = new_link(api)
    with session_scope(sessions) as session:
        session.execute(
            sa.update(MagicLink)
            .where(MagicLink.id == uuid.UUID(expired["id"]))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert_gone(client.get(path_of(expired)))

    used = new_link(api)
    with session_scope(sessions) as session:
        session.execute(
            sa.update(MagicLink)
            .where(MagicLink.id == uuid.UUID(used["id"]))
            .values(has_been_used=True, used_at=utcnow())
        )
    assert_gone(client.get(path_of(used)))
    assert_gone(client.post(path_of(used), data=postgres_answers("unused")))
    # A program gets the API's envelope instead of a page.
    for method in ("GET", "POST"):
        answer = client.request(method, path_of(used), headers={"Accept": "*/*"})
        assert answer.status_code == 404
        assert answer.json() == {"status": "error", "data": None, "message": GONE}


def test_save_with_bad_input_shows_field_errors_and_keeps_the_link(
    client: TestClient, api: Api
) -> None:
    link = new_link(api)
    sent = postgres_answers("", host="", port="five", database="analytics")
    response = client.post(path_of(link), data=sent)
    assert response.status_code == 400, response.text
    assert_secure_headers(response)
    assert SECRET not in response.text
    page = Page.parse(response.text)
    assert "Some details need attention" in page.by_id("form-problems").text
    # The summary links to each field to fix.
    assert [a.get("href") for a in page.find("a") if (a.get("href") or "").startswith("#f-")] == [
        "#f-host",
        "#f-port",
        "#f-schema",
    ]
    for name, message in (
        ("host", "Host must not be empty."),
        ("port", "Port must be an integer."),
        ("schema", "Schema must not be empty."),
    ):
        control = page.control(name)
        error = page.by_id(f"f-{name}-error")
        assert error.text.strip() == message
        assert control.get("aria-invalid") == "true"
        assert f"f-{name}-error" in str(control.get("aria-describedby")).split()
    # What was typed stays, but the password: it must be typed again.
    assert page.control("database").get("value") == "analytics"
    assert page.control("disable_ssl").has("checked")
    password = page.control("password")
    assert not password.has("value")
    assert "type it again" in page.by_id("f-password-hint").text
    assert api.ok("GET", f"/magic-links/{link['id']}")["magic_link"]["has_been_used"] is False
    assert api.ok("GET", "/destinations")["destinations"] == []


def test_choices_reveal_their_fields_without_script(client: TestClient, api: Api) -> None:
    """ "Update form" re-renders the form for the answers sent: the tunnel's fields appear,
    with the key pair the recipient's bastion host is to trust."""
    link = new_link(api)
    sent = postgres_answers("s", action="update", use_ssh_tunnel=["false", "true"])
    response = client.post(path_of(link), data=sent)
    assert response.status_code == 200, response.text
    assert SECRET not in response.text
    page = Page.parse(response.text)
    assert not page.one(data_field="f-ssh_tunnel_host").has("hidden")
    assert page.control("ssh_tunnel_host").has("required")
    key = page.control("ssh_public_key")
    assert key.has("readonly")
    assert key.text.startswith("ssh-rsa ")
    # One key per link, the same on every visit, and the provider sees it on the link.
    again = Page.parse(client.get(path_of(link)).text)
    assert again.by_id("f-ssh_public_key").text == key.text
    shown = api.ok("GET", f"/magic-links/{link['id']}")["magic_link"]
    assert shown["ssh_public_key"] == key.text.strip()


@pytest.mark.postgres
def test_test_then_save_creates_the_recipients_destination(
    client: TestClient, api: Api, schema: str
) -> None:
    link = new_link(api, host="127.0.0.1")
    path = path_of(link)
    sent = postgres_answers(schema)

    tested = client.post(path + "/test", data=sent, headers={"Accept": "application/json"})
    assert tested.status_code == 200, tested.text
    assert_secure_headers(tested)
    assert SECRET not in tested.text
    result = tested.json()["data"]
    assert result["status"] == "success", result
    assert result["error"] is None
    assert result["display"]["title"] == "Connection successful"

    # Without the page's script, "Test connection" submits the form and shows the result.
    page = Page.parse(client.post(path, data=sent | {"action": "test"}).text)
    assert page.by_id("test-result").get("class") == "result result-success"
    assert "Connection successful" in page.by_id("test-result").text

    saved = client.post(path, data=sent)
    assert saved.status_code == 200, saved.text
    assert_secure_headers(saved)
    assert SECRET not in saved.text
    done = Page.parse(saved.text)
    assert done.one("h1").text == "Your PostgreSQL warehouse is connected"
    assert schema in done.text

    destinations = api.ok("GET", "/destinations")["destinations"]
    assert len(destinations) == 1
    destination = destinations[0]
    assert destination["recipient_id"] == link["recipient_id"]
    assert destination["name"] == "Globex warehouse"
    assert destination["is_enabled"] is True
    assert destination["frequency_minutes"] == 60
    assert destination["postgres"] == {
        "host": "127.0.0.1",
        "port": 5432,
        "database": "postgres",
        "schema": schema,
        "auth_method": "password_auth",
        "password_auth": {"username": "postgres"},
        "use_ssh_tunnel": False,
        "disable_ssl": True,
    } | {k: v for k, v in destination["postgres"].items() if v is None}

    used = api.ok("GET", f"/magic-links/{link['id']}")["magic_link"]
    assert used["has_been_used"] is True
    events = api.ok("GET", "/logs", params={"event_type": "DESTINATION_ADD"})["event_logs"]
    assert [e["resource_id"] for e in events] == [destination["id"]]
    assert events[0]["actor"] == {"actor_id": link["recipient_id"], "type": "recipient"}

    # Used up: a second save, a test and a visit all get the friendly page.
    assert_gone(client.post(path, data=sent))
    assert client.post(path + "/test", data=sent).status_code == 404
    assert_gone(client.get(path))
    assert len(api.ok("GET", "/destinations")["destinations"]) == 1


def test_a_link_used_meanwhile_saves_nothing(client: TestClient, api: Api, sessions: Any) -> None:
    """Two saves racing for one link: the one that finds the link used creates nothing."""
    link = new_link(api)
    token = path_of(link).rsplit("/", 1)[-1]
    assert client.get(path_of(link)).status_code == 200  # the page's key pair exists now
    sent = {k: v if isinstance(v, list) else [v] for k, v in postgres_answers("s").items()}
    with sessions() as session:
        page = onboarding.open_link(session, token=token)
        checked = page.form.check(page.form.answers_from(sent, onboarding.first_answers(page)))
        assert checked.ok, (checked.errors, checked.problems)
        with session_scope(sessions) as other:
            other.execute(
                sa.update(MagicLink)
                .where(MagicLink.id == uuid.UUID(link["id"]))
                .values(has_been_used=True, used_at=utcnow())
            )
        with pytest.raises(NotFound):
            onboarding.save(session, page, checked)
        session.commit()
    assert api.ok("GET", "/destinations")["destinations"] == []
    assert api.ok("GET", "/logs", params={"event_type": "DESTINATION_ADD"})["event_logs"] == []


@pytest.mark.postgres
def test_save_follows_the_redirect_url(client: TestClient, api: Api, schema: str) -> None:
    link = new_link(
        api, redirect_url="https://app.provider.example/done?x=1", set_destination_enabled=False
    )
    form = client.get(path_of(link))
    # The form may be sent on to the provider's page (CSP form-action covers the redirect).
    assert (
        "form-action 'self' https://app.provider.example;"
        in (form.headers["content-security-policy"])
    )
    saved = client.post(path_of(link), data=postgres_answers(schema), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "https://app.provider.example/done?x=1"
    assert_secure_headers(saved)
    (destination,) = api.ok("GET", "/destinations")["destinations"]
    assert destination["is_enabled"] is False
    assert api.ok("GET", f"/magic-links/{link['id']}")["magic_link"]["has_been_used"] is True


@pytest.mark.postgres
def test_a_failed_test_shows_the_error_inline(client: TestClient, api: Api, schema: str) -> None:
    link = new_link(api)
    sent = postgres_answers(schema, port=str(free_port()))
    tested = client.post(path_of(link) + "/test", data=sent, headers={"Accept": "application/json"})
    assert tested.status_code == 200, tested.text
    assert SECRET not in tested.text
    result = tested.json()["data"]
    assert result["status"] == "error"
    assert result["error"]["title"]
    assert result["error"]["message"]
    assert "trace" not in result["error"]
    message = result["error"]["message"]
    assert result["display"] == {
        "ok": False,
        "title": result["error"]["title"],
        "message": message[:1].upper() + message[1:],
    }
    page = Page.parse(client.post(path_of(link), data=sent | {"action": "test"}).text)
    panel = page.by_id("test-result")
    assert panel.get("class") == "result result-error"
    assert result["error"]["title"] in panel.text
    assert api.ok("GET", f"/magic-links/{link['id']}")["magic_link"]["has_been_used"] is False


def test_the_script_gets_field_errors(client: TestClient, api: Api) -> None:
    link = new_link(api)
    tested = client.post(
        path_of(link) + "/test",
        data=postgres_answers("", host=""),
        headers={"Accept": "application/json"},
    )
    assert tested.status_code == 200, tested.text
    result = tested.json()["data"]
    assert result["status"] == "error"
    assert result["field_errors"] == {
        "f-host": "Host must not be empty.",
        "f-schema": "Schema must not be empty.",
    }


# The page turns answers into a destination with a port of the SDK's own code; both ports
# must agree with tests/forms/sdk.py for every vendor and every choice.
RUNS = [
    pytest.param(
        vendor, choices, fill, id=f"{vendor}-{fill}-" + "-".join(map(str, choices.items()))
    )
    for vendor in sorted(registry.destinations())
    for choices in choice_runs(forms.destination_form(), vendor)
    for fill in (False, True)
]
FAKE_KEYS = {"public_key": "ssh-rsa AAAAB3NzaFAKE test", "public_key_pkcs8": "-----BEGIN-----"}


@pytest.mark.parametrize(("vendor", "choices", "fill_optional"), RUNS)
def test_answers_make_what_the_sdk_makes(
    vendor: str, choices: dict[str, Any], fill_optional: bool
) -> None:
    tree = forms.destination_form(vendor)
    start = {
        "vendor": vendor,
        "recipient_id": "r-1",
        "enabled_models": ["*"],
        "frequency_minutes": 0,
        "is_enabled": True,
        "use_ssh_tunnel": False,
        "disable_ssl": False,
        "auth_method": sdk.get_default_auth_method(vendor),
    }
    user = FormUser(
        None,  # type: ignore[arg-type]
        tree,
        start,
        choices,
        fill_optional=fill_optional,
        include_internal=fill_optional,
    )
    user.keys = sdk.KeyEffect(lambda: FAKE_KEYS)
    form = user.fill()
    expected = sdk.to_json(sdk.prepare_destination_with_form(user.answers, form))
    expected.pop("type")

    fields = page_answers.fields_of(tree, include_internal=fill_optional)
    visible = page_answers.shown(fields, user.answers)
    assert sorted(f.path for f in visible) == sorted(
        f["prepared_destination_path"] for f in fields_of(form)
    )
    assert page_answers.prepare(user.answers, visible) == expected
