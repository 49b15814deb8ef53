"""API keys: their format, the header that carries them, how they are stored, and who they
open (docs/api.md, Authentication and tenancy; spec §2.1)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ferry.db.engine import session_scope
from ferry.db.models import ApiKey
from ferry.errors import InvalidInput
from ferry.services import organizations
from tests import factories
from tests.conftest import Api, Tenant

KEY_FORMAT = {
    "staging": re.compile(r"^sk_staging_[0-9a-f]{32}$"),
    "prod": re.compile(r"^sk_prod_[0-9a-f]{32}$"),
}
# Every route an API key opens, one read each: none may answer without a valid key.
PROTECTED_READS = (
    "/",
    "/sources",
    "/models",
    "/products",
    "/recipients",
    "/destinations",
    "/transfers",
    "/recipient-source-credentials",
    "/magic-links",
    "/webhooks",
    "/logs",
    f"/destinations/{uuid.UUID(int=1)}",
    "/export/destinations",
)


def key_hex(key: str) -> str:
    return key.rsplit("_", 1)[1]


def database_text(app: Any) -> str:
    """Every row of every table of the metadata database, as one searchable text."""
    engine: sa.Engine = app.state.engine
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    lines = []
    with engine.connect() as connection:
        for table in sorted(metadata.tables.values(), key=lambda t: t.name):
            for row in connection.execute(sa.select(table)):
                values = [
                    json.dumps(v, default=str) if isinstance(v, dict | list) else str(v)
                    for v in row
                ]
                lines.append(f"{table.name}: {' | '.join(values)}")
    return "\n".join(lines)


def liveness(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/", headers=headers)


def assert_unauthorized(response: Any) -> str:
    assert response.status_code == 401, (response.status_code, response.text)
    body = response.json()
    assert body["status"] == "error"
    assert body["data"] is None
    assert body["message"]
    return str(body["message"])


# --- format -----------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_issued_keys_have_the_documented_format(sessions: Any, environment: str) -> None:
    org = f"org-{uuid.uuid4().hex[:10]}"
    with session_scope(sessions) as session:
        keys = [
            organizations.create_api_key(session, org_name=org, environment=environment)
            for _ in range(3)
        ]
    for key in keys:
        assert KEY_FORMAT[environment].match(key), key
    assert len(set(keys)) == 3


def test_tenant_keys_have_the_format_of_their_environment(tenant: Tenant) -> None:
    assert KEY_FORMAT["staging"].match(tenant.staging.key)
    assert KEY_FORMAT["prod"].match(tenant.prod.key)


def test_keys_for_an_unknown_environment_are_refused(sessions: Any) -> None:
    with pytest.raises(InvalidInput, match="staging"), session_scope(sessions) as session:
        organizations.create_api_key(session, org_name="org-x", environment="dev")


def test_the_key_prefix_selects_the_environment(tenant: Tenant) -> None:
    staging = tenant.staging.ok("GET", "/")
    prod = tenant.prod.ok("GET", "/")
    assert staging["environment"] == "staging"
    assert prod["environment"] == "prod"
    assert staging["organization_id"] == prod["organization_id"]


def test_each_organization_is_its_own(make_tenant: Any) -> None:
    first, second = make_tenant(), make_tenant()
    assert (
        first.staging.ok("GET", "/")["organization_id"]
        != (second.staging.ok("GET", "/")["organization_id"])
    )


# --- the header -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["X-API-KEY", "x-api-key", "X-Api-Key", "X-API-Key", "x-API-kEy"]
)
def test_the_header_name_is_case_insensitive(
    client: TestClient, tenant: Tenant, header: str
) -> None:
    response = liveness(client, {header: tenant.staging.key})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["environment"] == "staging"
    response = client.get("/recipients", headers={header: tenant.prod.key})
    assert response.status_code == 200, response.text


def test_a_write_with_a_lowercase_header_lands_in_the_keys_environment(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        "/recipients", json=factories.recipient("lower"), headers={"x-api-key": tenant.prod.key}
    )
    assert response.status_code == 200, response.text
    created = response.json()["data"]["recipient"]["id"]
    assert [r["id"] for r in tenant.prod.ok("GET", "/recipients")["recipients"]] == [created]
    assert tenant.staging.ok("GET", "/recipients")["recipients"] == []


@pytest.mark.parametrize("path", PROTECTED_READS)
def test_every_route_needs_a_key(client: TestClient, path: str) -> None:
    message = assert_unauthorized(client.get(path))
    assert "X-API-KEY" in message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/sources"),
        ("POST", "/recipients"),
        ("POST", "/destinations"),
        ("PATCH", f"/recipients/{uuid.UUID(int=1)}"),
        ("DELETE", f"/webhooks/{uuid.UUID(int=1)}"),
    ],
)
def test_writes_need_a_key(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={"recipient": {"id_in_provider_system": "x"}})
    assert_unauthorized(response)


def test_public_routes_need_no_key(client: TestClient) -> None:
    response = client.get("/public/destination-vendors")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "sk_staging_",
        "sk_staging_" + "0" * 32,
        "sk_prod_" + "f" * 32,
        "pk_staging_" + "a" * 32,
        "Bearer sk_staging_" + "a" * 32,
        "sk_staging_" + "a" * 500,
        "not a key at all",
    ],
)
def test_unknown_keys_are_refused(client: TestClient, tenant: Tenant, value: str) -> None:
    response = liveness(client, {"X-API-KEY": value})
    assert_unauthorized(response)
    if value.strip():
        assert value.strip() not in response.text


def test_a_key_with_surrounding_spaces_still_works(client: TestClient, tenant: Tenant) -> None:
    response = liveness(client, {"X-API-KEY": f"  {tenant.staging.key} "})
    assert response.status_code == 200, response.text


def test_a_key_in_another_letter_case_is_another_key(client: TestClient, tenant: Tenant) -> None:
    upper = tenant.staging.key.replace(
        key_hex(tenant.staging.key), key_hex(tenant.staging.key).upper()
    )
    if upper != tenant.staging.key:
        assert_unauthorized(liveness(client, {"X-API-KEY": upper}))


@pytest.mark.parametrize(
    ("source", "forged_prefix"), [("staging", "sk_prod_"), ("prod", "sk_staging_")]
)
def test_a_key_with_an_altered_prefix_is_refused(
    client: TestClient, tenant: Tenant, source: str, forged_prefix: str
) -> None:
    key = getattr(tenant, source).key
    forged = forged_prefix + key_hex(key)
    assert_unauthorized(liveness(client, {"X-API-KEY": forged}))
    assert_unauthorized(client.get("/recipients", headers={"X-API-KEY": forged}))
    # The genuine key is untouched by the attempt.
    assert liveness(client, {"X-API-KEY": key}).status_code == 200


def test_refusals_do_not_say_why(client: TestClient, sessions: Any, make_tenant: Any) -> None:
    """Unknown, forged and revoked keys get the same answer: a caller learns nothing."""
    tenant = make_tenant()
    revoked = tenant.prod.key
    with session_scope(sessions) as session:
        assert organizations.revoke_api_key(session, api_key=revoked)
    messages = {
        assert_unauthorized(liveness(client, {"X-API-KEY": value}))
        for value in (
            "sk_staging_" + uuid.uuid4().hex,
            "sk_prod_" + key_hex(tenant.staging.key),
            revoked,
        )
    }
    assert len(messages) == 1, messages


# --- bearer tokens on API-key routes ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/destinations", "/recipients", "/logs"])
def test_a_bearer_token_without_a_key_is_told_to_use_the_key(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Authorization": "Bearer some.scoped.token"})
    message = assert_unauthorized(response)
    assert "X-API-KEY" in message
    assert "scoped token" in message.lower() or "api key" in message.lower()


def test_a_bearer_token_next_to_a_valid_key_does_not_matter(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.get(
        "/", headers={"Authorization": "Bearer junk", "X-API-KEY": tenant.staging.key}
    )
    assert response.status_code == 200, response.text


def test_a_missing_key_names_the_header(client: TestClient) -> None:
    message = assert_unauthorized(client.get("/recipients"))
    assert "X-API-KEY" in message


# --- revocation -------------------------------------------------------------------------------


def test_revoked_keys_are_refused(client: TestClient, sessions: Any, tenant: Tenant) -> None:
    tenant.staging.ok("POST", "/recipients", json=factories.recipient())
    with session_scope(sessions) as session:
        assert organizations.revoke_api_key(session, api_key=tenant.staging.key) is True
    assert_unauthorized(liveness(client, {"X-API-KEY": tenant.staging.key}))
    assert_unauthorized(client.get("/recipients", headers={"X-API-KEY": tenant.staging.key}))
    response = client.post(
        "/recipients", json=factories.recipient(), headers={"X-API-KEY": tenant.staging.key}
    )
    assert_unauthorized(response)
    # The other environment's key is a different key and still works.
    assert tenant.prod.ok("GET", "/")["environment"] == "prod"


def test_revoking_twice_or_an_unknown_key_reports_nothing_to_do(
    sessions: Any, tenant: Tenant
) -> None:
    with session_scope(sessions) as session:
        assert organizations.revoke_api_key(session, api_key=tenant.prod.key) is True
    with session_scope(sessions) as session:
        assert organizations.revoke_api_key(session, api_key=tenant.prod.key) is False
        assert not organizations.revoke_api_key(session, api_key="sk_prod_" + uuid.uuid4().hex)


def test_revoking_one_key_leaves_the_others_of_the_environment(
    client: TestClient, sessions: Any, tenant: Tenant
) -> None:
    with session_scope(sessions) as session:
        second = organizations.create_api_key(
            session, org_name=tenant.name, environment="staging", name="second"
        )
    created = Api(client, second).ok("POST", "/recipients", json=factories.recipient())["recipient"]
    with session_scope(sessions) as session:
        organizations.revoke_api_key(session, api_key=tenant.staging.key)
    assert_unauthorized(liveness(client, {"X-API-KEY": tenant.staging.key}))
    # Both keys open the same environment: what one created, the other sees.
    listed = Api(client, second).ok("GET", "/recipients")["recipients"]
    assert [r["id"] for r in listed] == [created["id"]]


# --- storage ----------------------------------------------------------------------------------


def api_key_row(app: Any, key: str) -> dict[str, Any]:
    digest = hashlib.sha256(key.encode()).hexdigest()
    with app.state.engine.connect() as connection:
        row = connection.execute(
            sa.select(ApiKey.__table__).where(ApiKey.__table__.c.key_hash == digest)
        ).one()
    return dict(row._mapping)


def test_only_the_sha256_of_a_key_is_stored(app: Any, tenant: Tenant) -> None:
    for key in (tenant.staging.key, tenant.prod.key):
        row = api_key_row(app, key)
        assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
        for column, value in row.items():
            text = str(value)
            assert key not in text, column
            assert key_hex(key) not in text, column
        # The hint is just enough to tell keys apart, never enough to use one.
        assert len(row["hint"]) <= 4
        assert key.endswith(row["hint"])


def test_no_key_appears_anywhere_in_the_database(app: Any, tenant: Tenant) -> None:
    # Use both keys so that every write a request can make (last use, audit log) has happened.
    tenant.staging.ok("POST", "/recipients", json=factories.recipient())
    tenant.prod.ok("POST", "/sources", json=factories.postgres_source())
    dump = database_text(app)
    for key in (tenant.staging.key, tenant.prod.key):
        assert key not in dump
        assert key_hex(key) not in dump
        assert key_hex(key)[:16] not in dump
        assert key_hex(key)[16:] not in dump


def test_use_of_a_key_is_recorded(app: Any, tenant: Tenant) -> None:
    assert api_key_row(app, tenant.staging.key)["last_used_at"] is None
    tenant.staging.ok("GET", "/")
    assert api_key_row(app, tenant.staging.key)["last_used_at"] is not None
    assert api_key_row(app, tenant.prod.key)["last_used_at"] is None


def test_revocation_is_stored_on_the_row(app: Any, sessions: Any, tenant: Tenant) -> None:
    assert api_key_row(app, tenant.prod.key)["revoked_at"] is None
    with session_scope(sessions) as session:
        organizations.revoke_api_key(session, api_key=tenant.prod.key)
    assert api_key_row(app, tenant.prod.key)["revoked_at"] is not None


def test_the_audit_actor_is_the_key_id_not_the_key(app: Any, tenant: Tenant) -> None:
    created = tenant.staging.ok("POST", "/recipients", json=factories.recipient())["recipient"]
    events = tenant.staging.ok("GET", "/logs")["event_logs"]
    (event,) = [e for e in events if e["resource_id"] == created["id"]]
    row = api_key_row(app, tenant.staging.key)
    assert event["actor"] == {"actor_id": str(row["id"]), "type": "api_key"}
    assert tenant.staging.key not in json.dumps(events)
