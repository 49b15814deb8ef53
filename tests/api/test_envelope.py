"""The envelope and status codes of docs/api.md "Envelope and errors": every response, success or
failure, is ``{"status", "data", "message"}`` JSON with an honest code and no traceback."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ferry.api.app import ROUTERS, create_app
from ferry.db.engine import session_scope
from ferry.services import organizations
from ferry.settings import Settings
from tests import factories
from tests.conftest import Api, Tenant

MB = 1024 * 1024
DEFAULT_LIMIT = 32 * MB
ENVELOPE_KEYS = {"status", "data", "message"}
PAGE_KEYS = {"has_next", "next_url"}


def check_envelope(response: httpx.Response) -> None:
    """What every response of the API must look like (docs/api.md, spec §4.1)."""
    response.read()
    assert "Traceback" not in response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert ENVELOPE_KEYS <= set(body) <= ENVELOPE_KEYS | PAGE_KEYS, body
    assert isinstance(body["message"], str)
    assert body["message"]
    if response.status_code == 200:
        assert body["status"] == "success", body
        # The one documented exception (spec §4.1): the vendor list sits directly in data.
        vendor_list = response.request.url.path.endswith("/public/destination-vendors")
        assert isinstance(body["data"], list if vendor_list else dict), body
    else:
        assert body["status"] == "error", body
        assert body["data"] is None, body
        assert not set(body) & PAGE_KEYS, body


def checked(client: TestClient) -> TestClient:
    client.event_hooks["response"].append(check_envelope)
    return client


@pytest.fixture(autouse=True)
def _every_response_is_an_envelope(client: TestClient) -> None:
    checked(client)


@contextmanager
def serve(settings: Settings, **changes: Any) -> Iterator[TestClient]:
    """A client of a second app over the same database, built with changed settings."""
    app = create_app(settings.model_copy(update=changes))
    try:
        with TestClient(app, base_url="http://ferry.test", raise_server_exceptions=False) as client:
            yield checked(client)
    finally:
        app.state.engine.dispose()


def new_recipient(api: Api, key: str | None = None) -> str:
    return str(api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]["id"])


def raw(api: Api, method: str, path: str, content: Any, **headers: str) -> httpx.Response:
    sent = {"X-API-KEY": api.key, "Content-Type": "application/json"} | headers
    response: httpx.Response = api.client.request(method, path, content=content, headers=sent)
    return response


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    message: str = response.json()["message"]
    return message


# --- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no-such-route"),
        ("POST", "/destinations/x/y/z"),
        ("GET", "/export/no-such-route"),
        ("DELETE", "/recipients/acme/extra"),
    ],
)
def test_unknown_route_is_404(api: Api, client: TestClient, method: str, path: str) -> None:
    message = api.error(method, path, 404)
    anonymous = client.request(method, path)

    assert "no such route" in message
    assert anonymous.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/destinations"),
        ("DELETE", "/recipients"),
        ("PATCH", "/transfers"),
        ("POST", f"/logs/{uuid.uuid4()}"),
        ("PUT", "/export/sources"),
    ],
)
def test_wrong_method_is_405(api: Api, method: str, path: str) -> None:
    message = api.error(method, path, 405)

    assert "method not allowed" in message


def test_unknown_id_is_404(api: Api) -> None:
    missing = uuid.uuid4()

    message = api.error("GET", f"/destinations/{missing}", 404)

    assert str(missing) in message


# --- authentication -----------------------------------------------------------------------------


def test_missing_key_is_401(client: TestClient) -> None:
    response = client.get("/recipients")

    assert response.status_code == 401
    assert "X-API-KEY" in response.json()["message"]


@pytest.mark.parametrize(
    "key",
    [
        "garbage",
        "sk_staging_" + "0" * 32,
        "sk_prod_" + "f" * 32,
        "sk_staging_" + "a" * 500,
        "Bearer sk_staging_" + "0" * 32,
    ],
)
def test_bad_key_is_401(client: TestClient, key: str) -> None:
    response = client.get("/recipients", headers={"X-API-KEY": key})

    assert response.status_code == 401


def test_key_with_the_other_environments_prefix_is_401(tenant: Tenant) -> None:
    swapped = tenant.staging.key.replace("sk_staging_", "sk_prod_", 1)

    Api(tenant.staging.client, swapped).error("GET", "/", 401)


def test_revoked_key_is_401(tenant: Tenant, sessions: Any) -> None:
    tenant.staging.ok("GET", "/")

    with session_scope(sessions) as session:
        assert organizations.revoke_api_key(session, api_key=tenant.staging.key)

    message = tenant.staging.error("GET", "/recipients", 401)
    assert tenant.staging.key not in message
    tenant.prod.ok("GET", "/recipients")


# --- bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"{bad",
        b'{"recipient": }',
        b'{"recipient": {"id_in_provider_system": "acme"}',
        b"{'recipient': {}}",
        b"\xff\xfe\x00",
    ],
)
def test_malformed_json_is_400(api: Api, content: bytes) -> None:
    message = error_of(raw(api, "POST", "/recipients", content), 400)

    assert "JSON" in message


def test_deeply_nested_json_is_400(api: Api) -> None:
    """Hostile nesting is malformed input, not a server error."""
    for content in (b"[" * 100_000, b'{"recipient": ' + b"[" * 100_000):
        message = error_of(raw(api, "POST", "/recipients", content), 400)
        assert "JSON" in message


@pytest.mark.parametrize("content", [b"[]", b'[{"recipient": {}}]', b'"text"', b"42", b"true"])
def test_non_object_body_is_400(api: Api, content: bytes) -> None:
    message = error_of(raw(api, "POST", "/recipients", content), 400)

    assert "object" in message


@pytest.mark.parametrize(
    "path",
    [
        "/recipients",
        "/destinations",
        "/sources",
        "/models",
        "/products",
        "/webhooks",
        "/magic-links",
        "/recipient-source-credentials",
    ],
)
@pytest.mark.parametrize("content", [b"", b"   ", b"null"])
def test_empty_body_on_create_is_400(api: Api, path: str, content: bytes) -> None:
    message = error_of(raw(api, "POST", path, content), 400)

    assert "required" in message


def test_wrong_types_name_the_field_path(api: Api) -> None:
    recipient_id = new_recipient(api)
    port = factories.postgres_destination(recipient_id)
    port["destination"]["postgres"]["port"] = "abc"
    enabled = factories.postgres_destination(recipient_id, is_enabled="maybe")
    recipient = factories.postgres_destination("not-a-uuid")
    auth = factories.postgres_destination(recipient_id)
    auth["destination"]["postgres"]["password_auth"] = "writer:secret"

    assert "destination.postgres.port" in api.error("POST", "/destinations", 400, json=port)
    assert "destination.is_enabled" in api.error("POST", "/destinations", 400, json=enabled)
    assert "destination.recipient_id" in api.error("POST", "/destinations", 400, json=recipient)
    assert "destination.postgres.password_auth" in api.error(
        "POST", "/destinations", 400, json=auth
    )
    products = factories.recipient("acme", products="default")
    assert "recipient.products" in api.error("POST", "/recipients", 400, json=products)
    assert api.ok("GET", "/destinations")["destinations"] == []


def test_several_problems_are_joined(api: Api) -> None:
    recipient_id = new_recipient(api)
    body = factories.postgres_destination(recipient_id, is_enabled="maybe")
    body["destination"]["postgres"]["port"] = "abc"

    message = api.error("POST", "/destinations", 400, json=body)

    assert "; " in message
    assert "destination.postgres.port" in message
    assert "destination.is_enabled" in message


def test_unknown_fields_are_named(api: Api) -> None:
    recipient_id = new_recipient(api)
    body = factories.postgres_destination(recipient_id, colour="blue")
    body["destination"]["postgres"]["hots"] = "typo.example.com"

    message = api.error("POST", "/destinations", 400, json=body)
    wrapper = api.error("POST", "/recipients", 400, json={"recipeint": {"id": "x"}})
    nested = api.error("POST", "/recipients", 400, json=factories.recipient("acme", nmae="Acme"))

    assert "destination.colour" in message
    assert "destination.postgres.hots" in message
    assert "recipeint" in wrapper
    assert "recipient.nmae" in nested


def test_machine_type_id_is_accepted_and_ignored(api: Api) -> None:
    recipient_id = new_recipient(api)
    body = factories.postgres_destination(recipient_id, machine_type_id=str(uuid.uuid4()))

    created = api.ok("POST", "/destinations", json=body)["destination"]

    assert "machine_type_id" not in created


def test_a_100k_character_name_is_400(api: Api) -> None:
    recipient_id = new_recipient(api)
    long_name = "n" * 100_000

    destination = api.error(
        "POST",
        "/destinations",
        400,
        json=factories.postgres_destination(recipient_id, name=long_name),
    )
    recipient = api.error("POST", "/recipients", 400, json=factories.recipient(long_name))

    assert "destination.name" in destination
    assert "recipient.id_in_provider_system" in recipient
    assert long_name not in destination
    assert long_name not in recipient


def test_out_of_range_integer_is_400(api: Api) -> None:
    body = factories.recipient("acme", default_full_refresh_min_start_time_epoch=10**30)

    message = api.error("POST", "/recipients", 400, json=body)

    assert "recipient.default_full_refresh_min_start_time_epoch" in message
    assert api.ok("GET", "/recipients")["recipients"] == []


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("/logs?min_time=0001-01-01T00:00:00%2B01:00", "min_time"),
        ("/logs?min_time=9999-12-31T23:59:59-01:00", "min_time"),
        ("/transfers?ended_before=0001-01-01T00:00:00%2B01:00", "ended_before"),
        ("/transfers?ended_after=9999-12-31T23:59:59-01:00", "ended_after"),
    ],
)
def test_out_of_range_timestamp_filter_is_400(api: Api, query: str, name: str) -> None:
    message = api.error("GET", query, 400)

    assert name in message


def test_out_of_range_transfer_window_is_400(api: Api) -> None:
    recipient_id = new_recipient(api)
    destination = api.ok(
        "POST", "/destinations", json=factories.postgres_destination(recipient_id)
    )["destination"]
    body = {
        "start_transfer_window_at": "0001-01-01T00:00:00+01:00",
        "end_transfer_window_at": "2020-01-01T00:00:00Z",
    }

    message = api.error("POST", f"/destinations/{destination['id']}/transfer", 400, json=body)

    assert "start_transfer_window_at" in message
    assert api.ok("GET", "/transfers")["transfers"] == []


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/destinations/not-a-uuid", "destination_id"),
        ("DELETE", "/destinations/123", "destination_id"),
        ("GET", "/recipients/acme", "recipient_id"),
        ("GET", "/transfers/zzz", "transfer_id"),
        ("POST", "/transfers/zzz/cancel", "transfer_id"),
        ("GET", "/destinations/not-a-uuid/transfers", "destination_id"),
        ("GET", "/webhooks/1", "webhook_id"),
        ("GET", "/magic-links/abc", "link_id"),
        ("GET", "/recipient-source-credentials/abc", "credential_id"),
        ("GET", "/logs/abc", "log_id"),
        ("GET", "/transfers?destination_id=abc", "destination_id"),
        ("GET", "/destinations?recipient_id=abc", "recipient_id"),
    ],
)
def test_bad_uuid_is_400(api: Api, method: str, path: str, name: str) -> None:
    message = api.error(method, path, 400)

    assert name in message


# --- conflicts ----------------------------------------------------------------------------------


def test_duplicate_id_in_provider_system_is_409(api: Api) -> None:
    first = new_recipient(api, "acme")
    other = new_recipient(api, "globex")

    on_create = api.error("POST", "/recipients", 409, json=factories.recipient("acme"))
    on_update = api.error(
        "PATCH", f"/recipients/{other}", 409, json={"recipient": {"id_in_provider_system": "acme"}}
    )
    inline = factories.postgres_destination(first)
    del inline["destination"]["recipient_id"]
    inline["destination"]["id_in_provider_system"] = "acme"
    on_destination = api.error("POST", "/destinations", 409, json=inline)

    for message in (on_create, on_update, on_destination):
        assert "id_in_provider_system" in message
    assert len(api.ok("GET", "/recipients")["recipients"]) == 2


# --- the body limit -----------------------------------------------------------------------------


def test_body_over_the_limit_is_413_by_content_length(api: Api) -> None:
    response = raw(api, "POST", "/recipients", b" " * (DEFAULT_LIMIT + 1))

    assert response.request.headers["content-length"] == str(DEFAULT_LIMIT + 1)
    assert "32 MB" in error_of(response, 413)


def test_body_over_the_limit_is_413_when_streamed(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(33):
            yield b" " * MB

    response = raw(api, "POST", "/recipients", chunks())

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "32 MB" in error_of(response, 413)


def padded(body: bytes, size: int) -> bytes:
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("streamed", [False, True])
def test_body_limit_boundary(settings: Settings, tenant: Tenant, streamed: bool) -> None:
    limit = 2048
    body = b'{"recipient": {"id_in_provider_system": "edge"}}'

    def send(content: bytes) -> httpx.Response:
        payload: Any = content
        if streamed:
            payload = iter([content[i : i + 500] for i in range(0, len(content), 500)])
        return raw(small, "POST", "/recipients", payload)

    with serve(settings, max_body_bytes=limit) as client:
        small = Api(client, tenant.staging.key)
        error_of(send(padded(body, limit + 1)), 413)
        at_limit = send(padded(body, limit))
        assert at_limit.status_code == 200, at_limit.text
        assert small.ok("GET", "/recipients")["recipients"][0]["id_in_provider_system"] == "edge"


def test_413_leaves_nothing_behind(api: Api) -> None:
    body = b'{"recipient": {"id_in_provider_system": "huge"}}'

    error_of(raw(api, "POST", "/recipients", padded(body, DEFAULT_LIMIT + 1)), 413)

    assert api.ok("GET", "/recipients")["recipients"] == []


# --- deletes ------------------------------------------------------------------------------------


def test_delete_answers_200_with_empty_data(api: Api) -> None:
    source = api.ok("POST", "/sources", json=factories.postgres_source("main"))["source"]
    model = api.ok("POST", "/models", json=factories.model("orders", skip_model_validation=True))[
        "model"
    ]
    product = api.ok("POST", "/products", json={"product": {"product_name": "gold", "models": []}})
    recipient_id = new_recipient(api)
    destination = api.ok(
        "POST", "/destinations", json=factories.postgres_destination(recipient_id)
    )["destination"]
    webhook = api.ok(
        "POST",
        "/webhooks",
        json={
            "webhook": {
                "name": "alerts",
                "vendor": "generic_post",
                "url": "https://hooks.example.com/ferry",
            }
        },
    )["webhook"]
    link = api.ok(
        "POST",
        "/magic-links",
        json={"magic_link": {"vendor": "postgres", "recipient_id": recipient_id}},
    )["magic_link"]
    credential = api.ok(
        "POST",
        "/recipient-source-credentials",
        json={
            "recipient_source_credential": {
                "recipient_id": recipient_id,
                "source_id": source["id"],
                "username": "tenant_reader",
                "password": "tenant-Secret-pw-3",
            }
        },
    )["recipient_source_credential"]

    paths = [
        f"/destinations/{destination['id']}",
        f"/magic-links/{link['id']}",
        f"/recipient-source-credentials/{credential['id']}",
        f"/recipients/{recipient_id}",
        f"/webhooks/{webhook['id']}",
        f"/products/{product['product']['id']}",
        f"/models/{model['id']}",
        f"/sources/{source['id']}",
    ]
    for path in paths:
        response = api.call("DELETE", path)
        assert response.status_code == 200, (path, response.text)
        assert response.content
        assert response.json()["data"] == {}
        api.error("GET", path, 404)


# --- server errors and request ids --------------------------------------------------------------


@pytest.fixture
def broken(settings: Settings) -> Iterator[TestClient]:
    """A client of an app with one extra route that fails the way a bug does."""
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom: internal detail that must not leak")

    try:
        with TestClient(app, base_url="http://ferry.test", raise_server_exceptions=False) as client:
            yield checked(client)
    finally:
        app.state.engine.dispose()


def request_id_in(message: str) -> str:
    found = re.search(r"request id ([A-Za-z0-9._-]+)", message)
    assert found is not None, message
    return found.group(1)


def test_500_is_an_envelope_with_the_request_id(broken: TestClient, api: Api) -> None:
    response = broken.get("/boom", headers={"X-API-KEY": api.key})

    message = error_of(response, 500)
    assert "internal detail" not in response.text
    assert "RuntimeError" not in response.text
    assert request_id_in(message) == response.headers.get("x-request-id")


def test_500_uses_the_clients_request_id(broken: TestClient) -> None:
    response = broken.get("/boom", headers={"X-Request-ID": "client-chosen-id-42"})

    assert request_id_in(error_of(response, 500)) == "client-chosen-id-42"
    assert response.headers.get("x-request-id") == "client-chosen-id-42"


def test_500_request_ids_differ(broken: TestClient) -> None:
    first = request_id_in(error_of(broken.get("/boom"), 500))
    second = request_id_in(error_of(broken.get("/boom"), 500))

    assert first != second


def test_request_id_is_echoed(api: Api) -> None:
    chosen = "req-0123456789abcdef"

    success = api.call("GET", "/", headers={"X-Request-ID": chosen})
    failure = api.call("GET", "/no-such-route", headers={"X-Request-ID": chosen})
    early = api.call("GET", "/", headers={"X-Request-ID": chosen, "X-Prequel-Api-Version": "1"})

    for response in (success, failure, early):
        assert response.headers["x-request-id"] == chosen


def test_a_request_id_is_made_when_none_is_sent(api: Api) -> None:
    first = api.call("GET", "/")
    second = api.call("GET", "/")

    assert first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_unreachable_database_is_503(settings: Settings, tmp_path: Any) -> None:
    missing = tmp_path / "no-such-dir" / "ferry.db"

    with serve(settings, database_url=f"sqlite:///{missing}") as client:
        response = client.get("/", headers={"X-API-KEY": "sk_staging_" + "0" * 32})

    message = error_of(response, 503)
    assert request_id_in(message) == response.headers["x-request-id"]


# --- every route ---------------------------------------------------------------------------------

WRAPPERS = {
    "sources": "source",
    "models": "model",
    "products": "product",
    "recipients": "recipient",
    "destinations": "destination",
    "recipient-source-credentials": "recipient_source_credential",
    "magic-links": "magic_link",
    "webhooks": "webhook",
    "actions": "model",
}
ROUTES = sorted(
    (method, route.path)
    for router in ROUTERS
    for route in router.routes
    for method in getattr(route, "methods", ())
)


def junk_bodies(path: str) -> list[bytes]:
    bodies = [b"", b"{}", b'{"junk": 1}', b"[]", b'"text"', b"{bad"]
    wrapper = WRAPPERS.get(path.strip("/").split("/")[0])
    if wrapper is not None:
        for value in ("x", [], {}, {"vendor": 5}, {"name": 10**30}, {"vendor": "postgres"}):
            bodies.append(json.dumps({wrapper: value}).encode())
    else:
        bodies += [b'{"models": "x"}', b'{"tags": {"a": 1}}', b'{"full_refresh": "yes"}']
    return bodies


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_answers_junk_with_an_envelope(api: Api, method: str, path: str) -> None:
    """Unknown ids, bad ids and junk bodies, in both versions: a 4xx envelope, never a 500."""
    for ident in (str(uuid.uuid4()), "not-a-uuid"):
        target = re.sub(r"\{[^}]+\}", ident, path)
        for version in (None, "2022-01-01"):
            bodies = junk_bodies(path) if method in ("POST", "PATCH", "DELETE") else [b""]
            for content in bodies:
                headers = {} if version is None else {"X-Prequel-Api-Version": version}
                response = raw(api, method, target, content, **headers)
                assert response.status_code < 500, (method, target, version, content)
