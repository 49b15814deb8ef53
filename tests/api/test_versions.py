"""API versions (docs/api.md "Versions"): 2023-12-01 by default, 2022-01-01 ("base") on request
with flat vendor fields and whole lists, Deprecation/Sunset on base, 410 once it is switched
off, and the legacy ``/export/...`` aliases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ferry.api.app import create_app
from ferry.db.engine import session_scope
from ferry.db.models import Destination
from ferry.services import destinations as destination_service
from ferry.settings import Settings
from tests import factories
from tests.conftest import Api, Tenant

BASE = "2022-01-01"
CURRENT = "2023-12-01"
HEADER = "X-Prequel-Api-Version"
DEPRECATED_AT = "@1760400000"


@contextmanager
def serve(settings: Settings, **changes: Any) -> Iterator[TestClient]:
    """A client of a second app over the same database, built with changed settings."""
    app = create_app(settings.model_copy(update=changes))
    try:
        with TestClient(app, base_url="http://ferry.test") as client:
            yield client
    finally:
        app.state.engine.dispose()


def flat_postgres(recipient_id: str, **overrides: Any) -> dict[str, Any]:
    """A postgres destination as the base version sent it: vendor fields beside the common ones."""
    return {
        "destination": {
            "vendor": "postgres",
            "name": "Flat warehouse",
            "recipient_id": recipient_id,
            "host": "flat.example.com",
            "port": 5433,
            "database": "analytics",
            "schema": f"s_{uuid.uuid4().hex[:8]}",
            "username": "flat_writer",
            "password": factories.DEST_PASSWORD,
            "use_ssh_tunnel": False,
        }
        | overrides
    }


def athena_flat(recipient_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "destination": {
            "vendor": "athena",
            "name": "Lake",
            "recipient_id": recipient_id,
            "auth_method": "aws_iam_role",
            "aws_iam_role_arn": "arn:aws:iam::123456789012:role/ferry",
            "username": "primary",
            "connection_database": "awsdatacatalog",
            "write_database": "acme",
            "bucket_name": f"lake-{uuid.uuid4().hex[:8]}",
            "bucket_region": "us-east-1",
        }
        | overrides
    }


def athena_nested(recipient_id: str, workgroup: str) -> dict[str, Any]:
    return {
        "destination": {
            "vendor": "athena",
            "name": "Lake",
            "recipient_id": recipient_id,
            "athena": {
                "auth_method": "aws_iam_role",
                "aws_iam_role": {"aws_iam_role_arn": "arn:aws:iam::123456789012:role/ferry"},
                "workgroup": workgroup,
                "connection_database": "awsdatacatalog",
                "write_database": "acme",
                "bucket_s3": {"bucket_name": f"lake-{uuid.uuid4().hex[:8]}"},
            },
        }
    }


def new_recipient(api: Api, key: str | None = None) -> str:
    return str(api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]["id"])


def stored_password(sessions: Any, destination_id: str) -> str:
    with session_scope(sessions) as session:
        row = session.get_one(Destination, uuid.UUID(destination_id))
        config = destination_service.config_of(session, row).reveal()
    return str(config["password_auth"]["password"])


# --- default and explicit 2023-12-01 ------------------------------------------------------------


def test_no_header_speaks_2023_12_01(api: Api) -> None:
    recipient_id = new_recipient(api)
    api.ok("POST", "/destinations", json=factories.postgres_destination(recipient_id))

    response = api.call("GET", "/destinations")

    assert response.status_code == 200
    assert HEADER not in response.request.headers
    body = response.json()
    assert body["has_next"] is False
    assert "next_url" not in body
    (destination,) = body["data"]["destinations"]
    assert destination["postgres"]["password_auth"] == {"username": "writer"}
    assert "host" not in destination
    assert "deprecation" not in response.headers
    assert "sunset" not in response.headers


def test_explicit_2023_12_01_matches_the_default(api: Api) -> None:
    recipient_id = new_recipient(api)
    api.ok("POST", "/destinations", json=factories.postgres_destination(recipient_id))

    explicit = api.call("GET", "/destinations", version=CURRENT)
    default = api.call("GET", "/destinations")

    assert explicit.status_code == 200
    assert explicit.json() == default.json()
    assert "deprecation" not in explicit.headers
    assert "sunset" not in explicit.headers


def test_2023_12_01_refuses_flat_vendor_fields(api: Api) -> None:
    recipient_id = new_recipient(api)

    message = api.error("POST", "/destinations", 400, json=flat_postgres(recipient_id))

    assert "destination.host" in message


# --- 2022-01-01 responses -----------------------------------------------------------------------


def test_base_destination_is_flat_and_hides_the_password(api: Api) -> None:
    recipient_id = new_recipient(api)
    body = factories.postgres_destination(recipient_id)
    body["destination"]["postgres"] |= {
        "use_ssh_tunnel": True,
        "ssh_tunnel": {"ssh_tunnel_host": "bastion.example.com", "ssh_tunnel_username": "hop"},
    }
    created = api.ok("POST", "/destinations", json=body)["destination"]

    response = api.call("GET", f"/destinations/{created['id']}", version=BASE)

    assert response.status_code == 200
    assert factories.DEST_PASSWORD not in response.text
    flat = response.json()["data"]["destination"]
    nested = body["destination"]["postgres"]
    assert flat["host"] == nested["host"]
    assert flat["port"] == nested["port"]
    assert flat["database"] == nested["database"]
    assert flat["schema"] == nested["schema"]
    assert flat["username"] == "writer"
    assert flat["auth_method"] == "password_auth"
    assert flat["use_ssh_tunnel"] is True
    assert flat["ssh_tunnel_host"] == "bastion.example.com"
    assert flat["ssh_tunnel_username"] == "hop"
    assert flat["ssh_tunnel_port"] == 22
    for nested_key in ("postgres", "password_auth", "ssh_tunnel", "password"):
        assert nested_key not in flat
    assert not any(isinstance(value, dict) for value in flat.values())
    assert flat["id"] == created["id"]
    assert flat["recipient_id"] == recipient_id


def test_base_source_is_flat(api: Api) -> None:
    created = api.ok("POST", "/sources", json=factories.postgres_source("main"))["source"]

    one = api.ok("GET", f"/sources/{created['id']}", version=BASE)["source"]
    listed = api.call("GET", "/sources", version=BASE)

    assert one["host"] == "db.internal"
    assert one["username"] == "reader"
    assert "postgres" not in one
    assert "password" not in one
    assert factories.SOURCE_PASSWORD not in listed.text
    assert "has_next" not in listed.json()
    assert listed.json()["data"]["sources"] == [one]


def test_base_lists_are_unpaginated(api: Api) -> None:
    for _ in range(12):
        new_recipient(api)

    base = api.call("GET", "/recipients", version=BASE).json()
    current = api.call("GET", "/recipients", version=CURRENT).json()

    assert len(base["data"]["recipients"]) == 12
    assert "has_next" not in base
    assert "next_url" not in base
    assert len(current["data"]["recipients"]) == 10
    assert current["has_next"] is True


def test_base_transfers_carry_a_singular_source_id(api: Api) -> None:
    recipient_id = new_recipient(api)
    destination = api.ok(
        "POST", "/destinations", json=factories.postgres_destination(recipient_id)
    )["destination"]
    transfer_id = api.ok("POST", f"/destinations/{destination['id']}/transfer")["transfer_id"]

    base = api.ok("GET", f"/transfers/{transfer_id}", version=BASE)["transfer"]
    current = api.ok("GET", f"/transfers/{transfer_id}", version=CURRENT)["transfer"]

    assert "source_id" in base
    assert "source_id" not in current
    assert "source_ids" in current


# --- 2022-01-01 requests ------------------------------------------------------------------------


def test_base_create_nests_flat_fields(api: Api, sessions: Any) -> None:
    recipient_id = new_recipient(api)
    body = flat_postgres(
        recipient_id,
        use_ssh_tunnel=True,
        ssh_tunnel_host="bastion.example.com",
        ssh_tunnel_port=2222,
        ssh_tunnel_username="hop",
    )
    created = api.ok("POST", "/destinations", json=body, version=BASE)["destination"]
    assert created["username"] == "flat_writer"
    assert "password" not in created

    nested = api.ok("GET", f"/destinations/{created['id']}", version=CURRENT)["destination"]

    flat = body["destination"]
    assert nested["postgres"] == {
        "host": flat["host"],
        "port": flat["port"],
        "database": flat["database"],
        "schema": flat["schema"],
        "auth_method": "password_auth",
        "password_auth": {"username": "flat_writer"},
        "use_ssh_tunnel": True,
        "ssh_tunnel": {
            "ssh_tunnel_host": "bastion.example.com",
            "ssh_tunnel_port": 2222,
            "ssh_tunnel_username": "hop",
        },
        "disable_ssl": False,
    }
    assert stored_password(sessions, created["id"]) == factories.DEST_PASSWORD


def test_base_create_names_faulty_flat_fields(api: Api) -> None:
    recipient_id = new_recipient(api)

    wrong_type = api.error(
        "POST", "/destinations", 400, json=flat_postgres(recipient_id, port="x"), version=BASE
    )
    unknown = api.error(
        "POST", "/destinations", 400, json=flat_postgres(recipient_id, hots="x"), version=BASE
    )
    body = flat_postgres(recipient_id)
    del body["destination"]["username"]
    missing = api.error("POST", "/destinations", 400, json=body, version=BASE)

    assert "destination.port" in wrong_type
    assert "destination.hots" in unknown
    assert "destination.username" in missing


def test_base_patch_with_flat_fields(api: Api, sessions: Any) -> None:
    recipient_id = new_recipient(api)
    created = api.ok("POST", "/destinations", json=flat_postgres(recipient_id), version=BASE)
    destination_id = created["destination"]["id"]

    patched = api.ok(
        "PATCH",
        f"/destinations/{destination_id}",
        json={"destination": {"host": "moved.example.com", "username": "renamed"}},
        version=BASE,
    )["destination"]

    assert patched["host"] == "moved.example.com"
    assert patched["username"] == "renamed"
    nested = api.ok("GET", f"/destinations/{destination_id}")["destination"]["postgres"]
    assert nested["host"] == "moved.example.com"
    assert nested["password_auth"] == {"username": "renamed"}
    assert nested["database"] == "analytics"
    assert nested["port"] == 5433
    assert stored_password(sessions, destination_id) == factories.DEST_PASSWORD

    api.ok(
        "PATCH",
        f"/destinations/{destination_id}",
        json={"destination": {"password": "rotated-Secret-9"}},
        version=BASE,
    )
    assert stored_password(sessions, destination_id) == "rotated-Secret-9"
    after = api.ok("GET", f"/destinations/{destination_id}")["destination"]["postgres"]
    assert after == nested

    message = api.error(
        "PATCH",
        f"/destinations/{destination_id}",
        400,
        json={"destination": {"port": "not-a-port"}},
        version=BASE,
    )
    assert "destination.port" in message


def test_base_recipient_accepts_schema(api: Api) -> None:
    body = factories.recipient("schema-tenant", schema="tenant_schema")

    created = api.ok("POST", "/recipients", json=body, version=BASE)["recipient"]
    patched = api.ok(
        "PATCH",
        f"/recipients/{created['id']}",
        json={"recipient": {"schema": "other_schema"}},
        version=BASE,
    )["recipient"]

    assert created["schema"] == "tenant_schema"
    assert patched["schema"] == "other_schema"


def test_2023_12_01_recipient_refuses_schema(api: Api) -> None:
    body = factories.recipient("schema-tenant", schema="tenant_schema")

    on_create = api.error("POST", "/recipients", 400, json=body, version=CURRENT)
    recipient_id = new_recipient(api)
    on_update = api.error(
        "PATCH",
        f"/recipients/{recipient_id}",
        400,
        json={"recipient": {"schema": "tenant_schema"}},
        version=CURRENT,
    )

    assert "recipient.schema" in on_create
    assert "recipient.schema" in on_update
    assert api.ok("GET", "/recipients?id_in_provider_system=schema-tenant")["recipients"] == []


def test_base_magic_link_creates_the_recipient(api: Api) -> None:
    body = {"magic_link": {"vendor": "postgres", "id_in_provider_system": "newco"}}

    link = api.ok("POST", "/magic-links", json=body, version=BASE)["magic_link"]
    again = api.ok("POST", "/magic-links", json=body, version=BASE)["magic_link"]

    recipients = api.ok("GET", "/recipients?id_in_provider_system=newco")["recipients"]
    assert [r["id"] for r in recipients] == [link["recipient_id"]]
    assert link["id_in_provider_system"] == "newco"
    assert again["recipient_id"] == link["recipient_id"]
    assert again["id"] != link["id"]


def test_base_magic_link_carries_products(api: Api) -> None:
    api.ok("POST", "/products", json={"product": {"product_name": "gold", "models": []}})
    body = {
        "magic_link": {"vendor": "postgres", "id_in_provider_system": "newco", "products": ["gold"]}
    }

    link = api.ok("POST", "/magic-links", json=body, version=BASE)["magic_link"]

    assert link["products"] == ["gold"]
    (recipient,) = api.ok("GET", "/recipients?id_in_provider_system=newco")["recipients"]
    assert recipient["id"] == link["recipient_id"]


def test_2023_12_01_magic_link_needs_an_existing_recipient(api: Api) -> None:
    body = {"magic_link": {"vendor": "postgres", "id_in_provider_system": "newco"}}

    message = api.error("POST", "/magic-links", 400, json=body, version=CURRENT)

    assert "magic_link.id_in_provider_system" in message
    assert api.ok("GET", "/recipients?id_in_provider_system=newco")["recipients"] == []


# --- the header ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2024-01-01", "2023-12-1", "latest", "2022-01-01,2023-12-01", "2023-12-01x"]
)
def test_unknown_version_is_400_naming_the_header(api: Api, value: str) -> None:
    response = api.call("GET", "/recipients", headers={HEADER: value})

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["data"] is None
    assert "X-Prequel-Api-Version" in body["message"]
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    "name",
    [
        "X-Prequel-Api-Version",
        "x-prequel-api-version",
        "X-PREQUEL-API-VERSION",
        "x-PrEqUeL-aPi-VeRsIoN",
    ],
)
def test_header_name_in_any_case(api: Api, name: str) -> None:
    api.ok("POST", "/sources", json=factories.postgres_source("main"))

    base = api.call("GET", "/sources", headers={name: BASE})
    unknown = api.call("GET", "/sources", headers={name: "1999-01-01"})

    assert base.status_code == 200
    (source,) = base.json()["data"]["sources"]
    assert source["host"] == "db.internal"
    assert "has_next" not in base.json()
    assert base.headers["deprecation"] == DEPRECATED_AT
    assert unknown.status_code == 400


def test_deprecation_and_sunset_on_base_responses(api: Api, settings: Settings) -> None:
    success = api.call("GET", "/", version=BASE)
    failure = api.call("GET", f"/destinations/{uuid.uuid4()}", version=BASE)
    invalid = api.call("POST", "/recipients", json={"recipient": {}}, version=BASE)

    for response in (success, failure, invalid):
        assert response.headers["deprecation"] == DEPRECATED_AT
        assert response.headers["sunset"] == settings.base_api_sunset
    assert (success.status_code, failure.status_code, invalid.status_code) == (200, 404, 400)
    sunset = parsedate_to_datetime(success.headers["sunset"])
    assert sunset.tzinfo is not None
    assert sunset.year >= 2025


@pytest.mark.parametrize("version", [CURRENT, None])
def test_no_deprecation_headers_outside_base(api: Api, version: str | None) -> None:
    success = api.call("GET", "/", version=version)
    failure = api.call("GET", f"/destinations/{uuid.uuid4()}", version=version)

    for response in (success, failure):
        assert "deprecation" not in response.headers
        assert "sunset" not in response.headers


# --- base switched off --------------------------------------------------------------------------


@pytest.fixture
def retired(settings: Settings, tenant: Tenant) -> Iterator[Api]:
    """The tenant's staging key against an app with 2022-01-01 switched off."""
    with serve(settings, base_api_enabled=False) as client:
        yield Api(client, tenant.staging.key)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/", None),
        ("GET", "/recipients", None),
        ("POST", "/recipients", {"recipient": {"id_in_provider_system": "late", "schema": "s"}}),
        ("GET", "/export/destinations", None),
        ("GET", f"/destinations/{uuid.uuid4()}", None),
    ],
)
def test_base_switched_off_is_410(retired: Api, method: str, path: str, body: Any) -> None:
    message = retired.error(method, path, 410, json=body, version=BASE)

    assert "2023-12-01" in message
    assert retired.ok("GET", "/recipients?id_in_provider_system=late")["recipients"] == []


def test_base_switched_off_leaves_2023_12_01_working(retired: Api) -> None:
    created = retired.ok("POST", "/recipients", json=factories.recipient("acme"), version=CURRENT)

    explicit = retired.call("GET", "/recipients", version=CURRENT)
    default = retired.call("GET", "/recipients")
    legacy = retired.call("GET", "/export/recipients")

    for response in (explicit, default, legacy):
        assert response.status_code == 200
        assert response.json()["data"]["recipients"] == [created["recipient"]]
        assert response.json()["has_next"] is False


# --- /export aliases ----------------------------------------------------------------------------


@pytest.fixture
def exported(api: Api) -> dict[str, str]:
    """An environment with one of everything, and a pending transfer."""
    source = api.ok("POST", "/sources", json=factories.postgres_source("main"))["source"]
    model = api.ok("POST", "/models", json=factories.model("orders", skip_model_validation=True))[
        "model"
    ]
    recipient_id = new_recipient(api, "acme")
    destination = api.ok(
        "POST", "/destinations", json=factories.postgres_destination(recipient_id)
    )["destination"]
    transfer_id = api.ok("POST", f"/destinations/{destination['id']}/transfer")["transfer_id"]
    return {
        "source": source["id"],
        "model": model["id"],
        "recipient": recipient_id,
        "destination": destination["id"],
        "transfer": transfer_id,
    }


EXPORT_PATHS = [
    "/",
    "/destinations",
    "/models",
    "/products",
    "/sources",
    "/recipients",
    "/transfers",
    "/logs",
    "/destinations/{destination}",
    "/destinations/{destination}/transfers?count=5&status=PENDING",
    "/sources/{source}",
    "/models/{model}",
    "/recipients/{recipient}",
    "/transfers/{transfer}",
]


@pytest.mark.parametrize("path", EXPORT_PATHS)
@pytest.mark.parametrize("version", [None, CURRENT, BASE])
def test_export_paths_are_aliases(
    api: Api, exported: dict[str, str], path: str, version: str | None
) -> None:
    plain = path.format(**exported)

    aliased = api.call("GET", "/export" + plain, version=version)
    direct = api.call("GET", plain, version=version)

    assert direct.status_code == 200, direct.text
    assert aliased.status_code == 200, aliased.text
    assert aliased.json() == direct.json()


def test_export_transfers_filter_and_count(api: Api, exported: dict[str, str]) -> None:
    path = f"/export/destinations/{exported['destination']}/transfers?count=5&status=PENDING"

    body = api.call("GET", path).json()

    assert [t["id"] for t in body["data"]["transfers"]] == [exported["transfer"]]
    assert body["data"]["transfers"][0]["status"] == "PENDING"
    assert body["has_next"] is False
    finished = api.call("GET", path.replace("PENDING", "SUCCESS")).json()
    assert finished["data"]["transfers"] == []


def test_export_writes(api: Api) -> None:
    created = api.ok("POST", "/export/recipients", json=factories.recipient("acme"))["recipient"]
    patched = api.ok(
        "PATCH", f"/export/recipients/{created['id']}", json={"recipient": {"name": "Acme Inc"}}
    )["recipient"]
    deleted = api.ok("DELETE", f"/export/recipients/{created['id']}")

    assert patched["name"] == "Acme Inc"
    assert deleted == {}
    api.error("GET", f"/recipients/{created['id']}", 404)


def test_export_next_url_stays_under_export(api: Api) -> None:
    ids = {new_recipient(api) for _ in range(5)}

    seen: list[str] = []
    url: str | None = "/export/recipients?page_size=2"
    while url is not None:
        body = api.call("GET", url).json()
        seen += [r["id"] for r in body["data"]["recipients"]]
        url = body.get("next_url")
        if url is not None:
            assert url.startswith("http://ferry.test/export/recipients?")

    assert sorted(seen) == sorted(ids)


def test_export_root_and_lookalikes(api: Api) -> None:
    assert api.ok("GET", "/export")["environment"] == "staging"
    api.error("GET", "/exportfoo", 404)
    api.error("GET", "/export/no-such-thing", 404)


# --- Athena's workgroup, called username in the base version -----------------------------------


def test_athena_base_username_is_the_workgroup(api: Api) -> None:
    recipient_id = new_recipient(api)

    created = api.ok("POST", "/destinations", json=athena_flat(recipient_id), version=BASE)
    destination_id = created["destination"]["id"]

    assert created["destination"]["username"] == "primary"
    assert "workgroup" not in created["destination"]
    nested = api.ok("GET", f"/destinations/{destination_id}", version=CURRENT)["destination"]
    assert nested["athena"]["workgroup"] == "primary"
    assert "username" not in nested["athena"]

    api.ok(
        "PATCH",
        f"/destinations/{destination_id}",
        json={"destination": {"username": "analytics"}},
        version=BASE,
    )
    nested = api.ok("GET", f"/destinations/{destination_id}", version=CURRENT)["destination"]
    assert nested["athena"]["workgroup"] == "analytics"


def test_athena_workgroup_reads_as_base_username(api: Api) -> None:
    recipient_id = new_recipient(api)
    created = api.ok("POST", "/destinations", json=athena_nested(recipient_id, "etl"))

    flat = api.ok("GET", f"/destinations/{created['destination']['id']}", version=BASE)

    assert flat["destination"]["username"] == "etl"
    assert "workgroup" not in flat["destination"]
    assert "athena" not in flat["destination"]
    listed = api.ok("GET", "/destinations", version=BASE)["destinations"]
    assert [d["username"] for d in listed] == ["etl"]


def test_athena_base_errors_name_username(api: Api) -> None:
    recipient_id = new_recipient(api)
    body = athena_flat(recipient_id)
    del body["destination"]["username"]

    message = api.error("POST", "/destinations", 400, json=body, version=BASE)

    assert "destination.username" in message
    assert "workgroup" not in message
