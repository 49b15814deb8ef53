"""Secrets (passwords, keys, tokens, service-account keys) are write-only: sealed with
FERRY_SECRET_KEY, never returned, logged or audited, yet recoverable by the server
(docs/api.md, Destinations; spec §7.1)."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from ferry import crypto
from ferry import logging as ferry_logging
from ferry.api.app import create_app
from ferry.db.models import ApiKey, Destination, RecipientSourceCredential, Source, Webhook
from ferry.errors import ConfigurationError
from ferry.settings import Settings
from tests import factories
from tests.conftest import Api, Tenant

BASE = "2022-01-01"
CURRENT = "2023-12-01"


def fresh_secret(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex}"


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


def api_key_id(sessions: Any, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    with sessions() as session:
        return str(session.scalar(sa.select(ApiKey.id).where(ApiKey.key_hash == digest)))


# --- the resources that hold secrets ----------------------------------------------------------


def make_recipient(api: Api) -> str:
    return str(api.ok("POST", "/recipients", json=factories.recipient())["recipient"]["id"])


def destination_body(api: Api, vendor: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "destination": {
            "vendor": vendor,
            "name": f"{vendor} warehouse",
            "recipient_id": make_recipient(api),
            vendor: config,
        }
    }


def postgres_config(password: str) -> dict[str, Any]:
    return {
        "host": "warehouse.example.com",
        "port": 5432,
        "database": "analytics",
        "schema": f"s_{uuid.uuid4().hex[:8]}",
        "auth_method": "password_auth",
        "password_auth": {"username": "writer", "password": password},
        "use_ssh_tunnel": False,
    }


def snowflake_config(password: str) -> dict[str, Any]:
    return {
        "host": "acme.snowflakecomputing.com",
        "port": 443,
        "database": "ANALYTICS",
        "schema": f"S_{uuid.uuid4().hex[:8]}",
        "auth_method": "password_auth",
        "password_auth": {"username": "FERRY", "password": password},
    }


def bigquery_config(private_key: str) -> dict[str, Any]:
    return {
        "project_id": "acme-data",
        "schema": f"s_{uuid.uuid4().hex[:8]}",
        "auth_method": "gcp_service_account_key",
        "gcp_service_account_key": {
            "service_account_email": "ferry@acme-data.iam.gserviceaccount.com",
            "service_account_key": {
                "type": "service_account",
                "project_id": "acme-data",
                "private_key_id": "k1",
                "private_key": f"-----BEGIN PRIVATE KEY-----\n{private_key}\n-----END PRIVATE KEY-----\n",
                "client_email": "ferry@acme-data.iam.gserviceaccount.com",
            },
        },
        "bucket_gcs": {"bucket_name": "acme-staging", "bucket_region": "US"},
    }


def abs_config(token: str) -> dict[str, Any]:
    return {
        "storage_account_name": "acmestore",
        "container_name": "exports",
        "folder": f"f_{uuid.uuid4().hex[:8]}",
        "auth_method": "azure_service_shared_access_signature",
        "azure_service_shared_access_signature": {"shared_access_signature_token": token},
    }


def databricks_config(token: str) -> dict[str, Any]:
    return {
        "host": "dbc-1234.cloud.databricks.com",
        "port": 443,
        "schema": f"s_{uuid.uuid4().hex[:8]}",
        "catalog": "main",
        "http_path": "/sql/1.0/warehouses/abc",
        "auth_method": "access_token_auth",
        "access_token_auth": {"access_token": token},
        "metastore": "unity_catalog",
    }


def s3_config(secret_key: str) -> dict[str, Any]:
    return {
        "bucket_name": "acme-exports",
        "bucket_region": "us-east-1",
        "folder": f"f_{uuid.uuid4().hex[:8]}",
        "auth_method": "aws_access_keys",
        "aws_access_keys": {"access_id": "AKIAEXAMPLE", "secret_key": secret_key},
    }


def redshift_config(secret_key: str, password: str) -> dict[str, Any]:
    return {
        "host": "acme.redshift.amazonaws.com",
        "port": 5439,
        "database": "dev",
        "schema": f"s_{uuid.uuid4().hex[:8]}",
        "username": "ferry",
        "auth_method": "aws_access_keys",
        "aws_access_keys": {
            "access_id": "AKIAEXAMPLE",
            "secret_key": secret_key,
            "password": password,
        },
        "bucket_s3": {"bucket_name": "acme-staging", "bucket_region": "us-east-1"},
    }


def oracle_config(wallet: str) -> dict[str, Any]:
    return {
        "host": "oracle.example.com",
        "port": 1521,
        "database": "ORCL",
        "schema": f"S_{uuid.uuid4().hex[:8]}",
        "auth_method": "password_auth",
        "password_auth": {"username": "ferry", "password": f"pw-{wallet}"},
        "use_ssh_tunnel": False,
        "ssl_options": {"wallet": wallet},
    }


def databricks_hive_config(token: str) -> dict[str, Any]:
    """Two secrets, one of them three objects deep."""
    bucket = {
        "bucket_name": "acme-hive",
        "bucket_region": "us-east-1",
        "aws_access_keys": {"access_id": "AKIAHIVE", "secret_key": f"hive-{token}"},
    }
    return databricks_config(token) | {"metastore": "hive", "hive": {"bucket_s3": bucket}}


def clickhouse_config(secret: str) -> dict[str, Any]:
    return {
        "host": "ch.example.com",
        "port": 8443,
        "connection_database": "default",
        "write_database": f"w_{uuid.uuid4().hex[:8]}",
        "auth_method": "password_auth",
        "password_auth": {"username": "ferry", "password": f"pw-{secret}"},
        "bucket_vendor": "bucket_gcs",
        "bucket_gcs": {
            "bucket_name": "acme-ch",
            "gcs_hmac_keys": {"access_key": "GOOGHMAC", "secret": secret},
        },
    }


@dataclass(frozen=True)
class Case:
    """One kind of object holding a secret, and how a client handles it."""

    name: str
    path: str
    item_key: str
    list_key: str
    event: str
    orm: type[Any]
    # The create body, given the caller and the secret.
    body: Callable[[Api, str], dict[str, Any]]
    # A PATCH touching no secret.
    rename: dict[str, Any]
    # A PATCH replacing the secret (and nothing else) with the one given.
    secret_patch: Callable[[str], dict[str, Any]]
    # A non-secret value of the object the responses must still show.
    visible: str

    def __str__(self) -> str:
        return self.name


def vendor_case(
    vendor: str,
    config: Callable[[str], dict[str, Any]],
    secret_part: Callable[[str], dict[str, Any]],
    visible: str,
) -> Case:
    return Case(
        name=f"{vendor}-destination",
        path="/destinations",
        item_key="destination",
        list_key="destinations",
        event="DESTINATION",
        orm=Destination,
        body=lambda api, secret: destination_body(api, vendor, config(secret)),
        rename={"destination": {"name": "renamed"}},
        secret_patch=lambda secret: {"destination": {vendor: secret_part(secret)}},
        visible=visible,
    )


def password_part(secret: str) -> dict[str, Any]:
    return {"password_auth": {"password": secret}}


def credential_body(api: Api, secret: str) -> dict[str, Any]:
    source = api.ok(
        "POST", "/sources", json=factories.postgres_source(f"src_{uuid.uuid4().hex[:6]}")
    )
    return {
        "recipient_source_credential": {
            "recipient_id": make_recipient(api),
            "source_id": source["source"]["id"],
            "username": "tenant_reader",
            "password": secret,
        }
    }


CASES = [
    Case(
        name="postgres-source",
        path="/sources",
        item_key="source",
        list_key="sources",
        event="SOURCE",
        orm=Source,
        body=lambda _api, secret: factories.postgres_source(
            f"src_{uuid.uuid4().hex[:6]}",
            password_auth={"username": "reader", "password": secret},
        ),
        rename={"source": {"name": f"renamed_{uuid.uuid4().hex[:6]}"}},
        secret_patch=lambda secret: {"source": {"postgres": password_part(secret)}},
        visible="db.internal",
    ),
    vendor_case("postgres", postgres_config, password_part, "warehouse.example.com"),
    vendor_case("snowflake", snowflake_config, password_part, "FERRY"),
    vendor_case(
        "bigquery",
        bigquery_config,
        lambda secret: {
            "gcp_service_account_key": {
                "service_account_key": bigquery_config(secret)["gcp_service_account_key"][
                    "service_account_key"
                ]
            }
        },
        "ferry@acme-data.iam.gserviceaccount.com",
    ),
    vendor_case(
        "abs",
        abs_config,
        lambda secret: {
            "azure_service_shared_access_signature": {"shared_access_signature_token": secret}
        },
        "acmestore",
    ),
    vendor_case(
        "databricks",
        databricks_config,
        lambda secret: {"access_token_auth": {"access_token": secret}},
        "/sql/1.0/warehouses/abc",
    ),
    vendor_case(
        "s3",
        s3_config,
        lambda secret: {"aws_access_keys": {"secret_key": secret}},
        "AKIAEXAMPLE",
    ),
    vendor_case(
        "redshift",
        lambda secret: redshift_config(secret, f"pw-{secret}"),
        lambda secret: {"aws_access_keys": {"secret_key": secret, "password": f"pw-{secret}"}},
        "AKIAEXAMPLE",
    ),
    vendor_case(
        "oracle",
        oracle_config,
        lambda secret: {
            "ssl_options": {"wallet": secret},
            "password_auth": {"password": f"pw-{secret}"},
        },
        "oracle.example.com",
    ),
    vendor_case(
        "clickhouse",
        clickhouse_config,
        lambda secret: {
            "password_auth": {"password": f"pw-{secret}"},
            "bucket_gcs": {"gcs_hmac_keys": {"secret": secret}},
        },
        "GOOGHMAC",
    ),
    Case(
        name="databricks-hive-destination",
        path="/destinations",
        item_key="destination",
        list_key="destinations",
        event="DESTINATION",
        orm=Destination,
        body=lambda api, secret: destination_body(
            api, "databricks", databricks_hive_config(secret)
        ),
        rename={"destination": {"name": "renamed"}},
        secret_patch=lambda secret: {
            "destination": {
                "databricks": {
                    "access_token_auth": {"access_token": secret},
                    "hive": {"bucket_s3": {"aws_access_keys": {"secret_key": f"hive-{secret}"}}},
                }
            }
        },
        visible="AKIAHIVE",
    ),
    Case(
        name="recipient-source-credential",
        path="/recipient-source-credentials",
        item_key="recipient_source_credential",
        list_key="recipient_source_credentials",
        event="RECIPIENT_SOURCE_CREDENTIAL",
        orm=RecipientSourceCredential,
        body=credential_body,
        rename={"recipient_source_credential": {"username": "other_reader"}},
        secret_patch=lambda secret: {"recipient_source_credential": {"password": secret}},
        visible="tenant_reader",
    ),
    Case(
        name="webhook",
        path="/webhooks",
        item_key="webhook",
        list_key="webhooks",
        event="WEBHOOK",
        orm=Webhook,
        body=lambda _api, secret: {
            "webhook": {
                "name": "pager",
                "vendor": "pagerduty",
                "url": "https://events.pagerduty.com/v2/enqueue",
                "api_key": secret,
            }
        },
        rename={"webhook": {"name": "pager-renamed"}},
        secret_patch=lambda secret: {"webhook": {"api_key": secret}},
        visible="events.pagerduty.com",
    ),
]
CASE = {case.name: case for case in CASES}


def create(api: Api, case: Case, secret: str) -> tuple[str, Any]:
    """(object id, the raw create response)."""
    response = api.call("POST", case.path, json=case.body(api, secret))
    assert response.status_code == 200, response.text
    return response.json()["data"][case.item_key]["id"], response


def stored(sessions: Any, case: Case, ident: str) -> Any:
    """The row's secrets, unsealed as the server would."""
    with sessions() as session:
        row = session.get(case.orm, uuid.UUID(ident))
        assert row is not None
        sealed = row.sealed_secrets
    return None if sealed is None else crypto.sealer(session.info["settings"]).open(sealed)


def unsealed_text(sessions: Any, case: Case, ident: str) -> str:
    return json.dumps(stored(sessions, case, ident))


def without_timestamps(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k != "updated_at"}


def events_for(api: Api, ident: str) -> list[dict[str, Any]]:
    events = api.ok("GET", "/logs", params={"page_size": 100, "order": "asc"})["event_logs"]
    return [e for e in events if e["resource_id"] == ident]


# --- never in a response ----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_secret_never_appears_in_a_response(api: Api, case: Case) -> None:
    secret = fresh_secret("resp")
    ident, created = create(api, case, secret)
    responses = [created]
    item = f"{case.path}/{ident}"
    for version in (CURRENT, BASE):
        responses += [
            api.call("GET", item, version=version),
            api.call("GET", f"/export{item}", version=version),
            api.call("GET", case.path, version=version),
            api.call("PATCH", item, json=case.rename, version=version),
        ]
    # Replacing the secret answers without the old or the new one.
    replacement = fresh_secret("resp-new")
    responses.append(api.call("PATCH", item, json=case.secret_patch(replacement)))
    responses.append(api.call("GET", case.path, params={"page_size": 100}))
    responses.append(api.call("GET", "/logs", params={"page_size": 100}))
    responses += [api.call("GET", f"/logs/{e['id']}") for e in events_for(api, ident)]
    responses.append(api.call("DELETE", item))
    responses.append(api.call("GET", "/logs", params={"page_size": 100}, version=BASE))
    for response in responses:
        assert response.status_code == 200, (response.request.url, response.text)
        assert secret not in response.text, response.request.url
        assert replacement not in response.text, response.request.url
    # The responses did show the object, just not its secret.
    assert case.visible in created.text
    assert case.visible in responses[1].text


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_secret_is_sealed_in_storage_and_recoverable(
    app: Any, sessions: Any, api: Api, case: Case
) -> None:
    secret = fresh_secret("store")
    ident, _ = create(api, case, secret)
    api.ok("PATCH", f"{case.path}/{ident}", json=case.rename)
    assert secret not in database_text(app)
    assert secret in unsealed_text(sessions, case, ident)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_audit_log_records_every_write_without_the_secret(
    sessions: Any, api: Api, case: Case
) -> None:
    secret, replacement = fresh_secret("audit"), fresh_secret("audit-new")
    ident, _ = create(api, case, secret)
    api.ok("PATCH", f"{case.path}/{ident}", json=case.rename)
    api.ok("PATCH", f"{case.path}/{ident}", json=case.secret_patch(replacement))
    api.ok("DELETE", f"{case.path}/{ident}")
    events = events_for(api, ident)
    assert [e["event_type"] for e in events] == [
        f"{case.event}_ADD",
        f"{case.event}_UPDATE",
        f"{case.event}_UPDATE",
        f"{case.event}_DELETE",
    ]
    added, renamed, rekeyed, deleted = events
    actor = {"actor_id": api_key_id(sessions, api.key), "type": "api_key"}
    for event in events:
        assert event["actor"] == actor
        assert secret not in json.dumps(event)
        assert replacement not in json.dumps(event)
        assert api.ok("GET", f"/logs/{event['id']}")["event_log"] == event
    assert added["previous_object"] is None
    assert added["object"]["id"] == ident
    assert renamed["previous_object"] == added["object"]
    assert renamed["object"]["id"] == ident
    assert renamed["object"] != renamed["previous_object"]
    assert rekeyed["previous_object"] == renamed["object"]
    assert without_timestamps(rekeyed["object"]) == without_timestamps(renamed["object"])
    assert deleted["object"] is None
    assert deleted["previous_object"]["id"] == ident
    assert case.visible in json.dumps(added["object"])


def test_deleting_a_recipient_audits_its_destinations_without_secrets(api: Api) -> None:
    secret = fresh_secret("cascade")
    body = destination_body(api, "snowflake", snowflake_config(secret))
    recipient = body["destination"]["recipient_id"]
    destination = api.ok("POST", "/destinations", json=body)["destination"]["id"]
    api.ok("DELETE", f"/recipients/{recipient}")
    (event,) = [e for e in events_for(api, destination) if e["event_type"] == "DESTINATION_DELETE"]
    assert event["object"] is None
    assert event["previous_object"]["snowflake"]["password_auth"] == {"username": "FERRY"}
    assert secret not in json.dumps(api.ok("GET", "/logs", params={"page_size": 100}))


# --- never in an error ------------------------------------------------------------------------

BAD_PORT = [("postgres", postgres_config), ("snowflake", snowflake_config)]
BAD_PORT += [("databricks", databricks_config), ("clickhouse", clickhouse_config)]


@pytest.mark.parametrize(("vendor", "config"), BAD_PORT, ids=[b[0] for b in BAD_PORT])
def test_validation_errors_do_not_echo_the_secret(
    api: Api, vendor: str, config: Callable[[str], dict[str, Any]]
) -> None:
    secret = fresh_secret("invalid")
    body = destination_body(api, vendor, config(secret) | {"port": "not-a-port"})
    message = api.error("POST", "/destinations", 400, json=body)
    assert f"destination.{vendor}.port" in message
    assert secret not in message


def test_secrets_of_the_wrong_shape_are_not_echoed(api: Api) -> None:
    secret = fresh_secret("shape")
    bodies = [
        # A service-account key must be an object; a string holding it is refused as is.
        bigquery_config("x")
        | {
            "gcp_service_account_key": {
                "service_account_email": "a@b.c",
                "service_account_key": secret,
            }
        },
        postgres_config("x") | {"password_auth": {"username": "u", "password": {"v": secret}}},
        postgres_config("x") | {"password_auth": {"username": "u", "password": secret * 200}},
        postgres_config(secret) | {"unknown": secret},
        postgres_config(secret) | {"password_auth": {"username": "u\x01v", "password": secret}},
    ]
    vendors = ["bigquery", "postgres", "postgres", "postgres", "postgres"]
    for vendor, config in zip(vendors, bodies, strict=True):
        response = api.call("POST", "/destinations", json=destination_body(api, vendor, config))
        assert response.status_code == 400, response.text
        assert secret not in response.text


def test_base_version_errors_do_not_echo_the_secret(api: Api) -> None:
    secret = fresh_secret("flat")
    recipient = make_recipient(api)
    flat = {
        "vendor": "postgres",
        "name": "flat",
        "recipient_id": recipient,
        "host": "h.example.com",
        "port": "nope",
        "database": "d",
        "schema": "s",
        "auth_method": "password_auth",
        "username": "u",
        "password": secret,
        "use_ssh_tunnel": False,
    }
    message = api.error("POST", "/destinations", 400, json={"destination": flat}, version=BASE)
    assert "port" in message
    assert secret not in message


def test_a_base_version_create_seals_the_secret_too(app: Any, sessions: Any, api: Api) -> None:
    secret = fresh_secret("flatcreate")
    flat = {
        "vendor": "postgres",
        "name": "flat",
        "recipient_id": make_recipient(api),
        "host": "flat.example.com",
        "port": 5432,
        "database": "d",
        "schema": "s",
        "auth_method": "password_auth",
        "username": "u",
        "password": secret,
        "use_ssh_tunnel": False,
    }
    response = api.call("POST", "/destinations", json={"destination": flat}, version=BASE)
    assert response.status_code == 200, response.text
    assert secret not in response.text
    assert "password" not in response.json()["data"]["destination"]
    ident = response.json()["data"]["destination"]["id"]
    assert secret not in database_text(app)
    assert stored(sessions, CASE["postgres-destination"], ident) == {
        "password_auth.password": secret
    }


def test_a_patch_with_a_bad_value_does_not_echo_the_stored_secret(api: Api) -> None:
    secret = fresh_secret("stored")
    body = destination_body(api, "postgres", postgres_config(secret))
    ident = api.ok("POST", "/destinations", json=body)["destination"]["id"]
    for patch in (
        {"port": "x"},
        {"password_auth": "not-an-object"},
        {"password_auth": {"extra": 1}},
        {"auth_method": "aws_iam_role"},
    ):
        response = api.call(
            "PATCH", f"/destinations/{ident}", json={"destination": {"postgres": patch}}
        )
        assert response.status_code == 400, response.text
        assert secret not in response.text


# Hosts that make a driver fail in different ways: a malformed address (the driver quotes the
# connection string back), a closed port, a server that refuses the login or the SSL mode.
UNREACHABLE = [
    {"host": "[::1", "port": 5432},
    {"host": "127.0.0.1", "port": 1},
    {"host": "127.0.0.1", "port": 5432},
    {"host": "127.0.0.1", "port": 5432, "disable_ssl": True},
]


@pytest.mark.parametrize("where", UNREACHABLE, ids=["malformed", "closed", "ssl", "login"])
def test_connector_errors_do_not_echo_the_secret(
    log_output: Callable[[], str], api: Api, where: dict[str, Any]
) -> None:
    """Validating a model or testing a connection connects with the stored password; whatever
    the driver says back must not carry it, in any encoding (a password is often URL-quoted)."""
    unique = uuid.uuid4().hex
    secret = f"p@ss/w:rd?#%{unique}"
    name = f"src_{unique[:8]}"
    login = {"username": f"u_{unique[:8]}", "password": secret}
    reach = where | {"database": "ferry_missing", "connection_timeout_in_seconds": 2}
    source = api.ok(
        "POST", "/sources", json=factories.postgres_source(name, **reach, password_auth=login)
    )["source"]
    destination_config = postgres_config(secret) | reach | {"password_auth": login}
    target = destination_body(api, "postgres", destination_config)
    destination = api.ok("POST", "/destinations", json=target)["destination"]
    model = factories.model("orders", source_name=name)
    responses = [
        api.call("POST", "/models", json=model),
        api.call("POST", "/models", json=model | {"skip_model_validation": True}),
        api.call("POST", "/models/orders/validate"),
    ]
    for version in (CURRENT, BASE):
        responses += [
            api.call(
                "POST",
                f"/sources/{source['id']}/test-connection",
                json={"source": {}},
                version=version,
            ),
            api.call(
                "POST",
                f"/destinations/{destination['id']}/test-connection",
                json={"destination": {}},
                version=version,
            ),
        ]
    responses.append(api.call("POST", "/test-destination", json=target))
    assert [r.text for r in responses if r.status_code >= 500] == []
    leaks = [f"{r.request.method} {r.request.url.path}" for r in responses if unique in r.text]
    assert not leaks, leaks
    assert unique not in log_output()


def test_a_connection_test_cannot_read_back_a_stored_password(api: Api) -> None:
    """The secrets of a saved destination may have been entered by its recipient (magic link);
    an overlay that breaks the address must not make the driver recite the stored password."""
    unique = uuid.uuid4().hex
    secret = f"Recipient#Pass/{unique}"
    body = destination_body(api, "postgres", postgres_config(secret))
    ident = api.ok("POST", "/destinations", json=body)["destination"]["id"]
    for host in ("[::1", "bad host", "[fe80::1%"):
        overlay = {"destination": {"postgres": {"host": host}}}
        for version in (CURRENT, BASE):
            flat = {"destination": {"host": host}} if version == BASE else overlay
            response = api.call(
                "POST", f"/destinations/{ident}/test-connection", json=flat, version=version
            )
            assert response.status_code < 500, response.text
            assert unique not in response.text, (host, version)


# --- never in a log line ----------------------------------------------------------------------


class CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of writing (pytest swaps it between phases)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@pytest.fixture
def log_output(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[Callable[[], str]]:
    """Everything logged from here on: the server's structlog lines (every level, rendered as
    in production) and stdlib logging (SQLAlchemy included) alike."""
    saved = structlog.get_config()
    ferry_logging.configure("DEBUG", json_lines=True)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=CurrentStderr()))
    caplog.set_level(logging.DEBUG)

    def text() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err + caplog.text

    try:
        yield text
    finally:
        structlog.configure(**saved)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_secret_is_never_logged(log_output: Callable[[], str], api: Api, case: Case) -> None:
    secret = fresh_secret("log")
    ident, _ = create(api, case, secret)
    item = f"{case.path}/{ident}"
    api.ok("GET", item)
    api.ok("PATCH", item, json=case.rename)
    # A refused request and a delete too: error paths are where echoes usually hide.
    api.call("POST", case.path, json=case.body(api, secret) | {"unexpected": secret})
    api.ok("DELETE", item)
    assert secret not in log_output()


def test_log_capture_sees_the_servers_log_lines(log_output: Callable[[], str]) -> None:
    """The capture above would see a leak: the server's own lines do reach it."""
    structlog.get_logger("ferry.test").warning("probe_line", marker="visible-marker")
    assert "visible-marker" in log_output()


# --- PATCH deep-merges, and auth changes drop the old credentials ------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_patching_only_the_secret_keeps_the_rest(sessions: Any, api: Api, case: Case) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    ident, _ = create(api, case, old)
    item = f"{case.path}/{ident}"
    before = api.ok("GET", item)[case.item_key]
    response = api.call("PATCH", item, json=case.secret_patch(new))
    assert response.status_code == 200, response.text
    assert new not in response.text
    after = api.ok("GET", item)[case.item_key]
    assert without_timestamps(after) == without_timestamps(before)
    opened = unsealed_text(sessions, case, ident)
    assert new in opened
    assert old not in opened


def test_patching_the_password_alone_keeps_everything_else(sessions: Any, api: Api) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, old)
    before = api.ok("GET", f"/destinations/{ident}")["destination"]
    patch = {"destination": {"postgres": {"password_auth": {"password": new}}}}
    after = api.ok("PATCH", f"/destinations/{ident}", json=patch)["destination"]
    assert after["postgres"] == before["postgres"]
    assert stored(sessions, case, ident) == {"password_auth.password": new}
    assert old not in unsealed_text(sessions, case, ident)


def test_patching_the_host_alone_keeps_the_password(sessions: Any, api: Api) -> None:
    secret = fresh_secret("keep")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, secret)
    patch = {"destination": {"postgres": {"host": "moved.example.com"}}}
    after = api.ok("PATCH", f"/destinations/{ident}", json=patch)["destination"]
    assert after["postgres"]["host"] == "moved.example.com"
    assert after["postgres"]["password_auth"] == {"username": "writer"}
    assert after["postgres"]["database"] == "analytics"
    assert stored(sessions, case, ident) == {"password_auth.password": secret}


def test_patching_the_username_alone_keeps_the_password(sessions: Any, api: Api) -> None:
    secret = fresh_secret("keep")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, secret)
    patch = {"destination": {"postgres": {"password_auth": {"username": "someone"}}}}
    after = api.ok("PATCH", f"/destinations/{ident}", json=patch)["destination"]
    assert after["postgres"]["password_auth"] == {"username": "someone"}
    assert stored(sessions, case, ident) == {"password_auth.password": secret}


def test_a_source_patch_deep_merges_too(sessions: Any, api: Api) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["postgres-source"]
    ident, _ = create(api, case, old)
    before = api.ok("GET", f"/sources/{ident}")["source"]["postgres"]
    api.ok("PATCH", f"/sources/{ident}", json={"source": {"postgres": {"host": "db2.internal"}}})
    assert stored(sessions, case, ident) == {"password_auth.password": old}
    patch = {"source": {"postgres": {"password_auth": {"password": new}}}}
    after = api.ok("PATCH", f"/sources/{ident}", json=patch)["source"]["postgres"]
    assert after == before | {"host": "db2.internal"}
    assert stored(sessions, case, ident) == {"password_auth.password": new}


def test_a_base_version_patch_of_flat_fields_merges(sessions: Any, api: Api) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, old)
    api.ok(
        "PATCH",
        f"/destinations/{ident}",
        json={"destination": {"host": "h2.example.com"}},
        version=BASE,
    )
    assert stored(sessions, case, ident) == {"password_auth.password": old}
    after = api.ok(
        "PATCH", f"/destinations/{ident}", json={"destination": {"password": new}}, version=BASE
    )["destination"]
    assert after["host"] == "h2.example.com"
    assert after["username"] == "writer"
    assert "password" not in after
    assert stored(sessions, case, ident) == {"password_auth.password": new}


def test_a_snowflake_password_patch_keeps_the_rest(sessions: Any, api: Api) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["snowflake-destination"]
    ident, _ = create(api, case, old)
    before = api.ok("GET", f"/destinations/{ident}")["destination"]["snowflake"]
    patch = {"destination": {"snowflake": {"password_auth": {"password": new}}}}
    after = api.ok("PATCH", f"/destinations/{ident}", json=patch)["destination"]["snowflake"]
    assert after == before
    assert stored(sessions, case, ident) == {"password_auth.password": new}


def test_patching_a_service_account_key_replaces_the_whole_key(sessions: Any, api: Api) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["bigquery-destination"]
    ident, _ = create(api, case, old)
    replacement = {"type": "service_account", "private_key": new}
    patch = {
        "destination": {
            "bigquery": {"gcp_service_account_key": {"service_account_key": replacement}}
        }
    }
    after = api.ok("PATCH", f"/destinations/{ident}", json=patch)["destination"]["bigquery"]
    assert after["gcp_service_account_key"] == {
        "service_account_email": "ferry@acme-data.iam.gserviceaccount.com"
    }
    # A key file is one secret: the new file replaces the old one, it is not merged into it
    # (a new private key beside the old key's private_key_id is no key at all).
    assert stored(sessions, case, ident) == {
        "gcp_service_account_key.service_account_key": replacement
    }


AUTH_CHANGES = [
    (
        "redshift",
        lambda secret: redshift_config(secret, secret + "-pw"),
        {
            "auth_method": "aws_iam_role",
            "aws_iam_role": {"aws_iam_role_arn": "arn:aws:iam::123456789012:role/ferry"},
        },
        "aws_access_keys",
    ),
    (
        "s3",
        s3_config,
        {
            "auth_method": "aws_iam_role",
            "aws_iam_role": {"aws_iam_role_arn": "arn:aws:iam::123456789012:role/ferry"},
        },
        "aws_access_keys",
    ),
    (
        "bigquery",
        bigquery_config,
        {
            "auth_method": "gcp_service_account_role",
            "gcp_service_account_role": {
                "service_account_email": "ferry@p.iam.gserviceaccount.com"
            },
        },
        "gcp_service_account_key",
    ),
]


@pytest.mark.parametrize(
    ("vendor", "config", "patch", "dropped"), AUTH_CHANGES, ids=[c[0] for c in AUTH_CHANGES]
)
def test_changing_auth_method_drops_the_old_methods_secret(
    app: Any,
    sessions: Any,
    api: Api,
    vendor: str,
    config: Callable[[str], dict[str, Any]],
    patch: dict[str, Any],
    dropped: str,
) -> None:
    secret = fresh_secret("dropped")
    case = CASE["postgres-destination"]
    ident = api.ok("POST", "/destinations", json=destination_body(api, vendor, config(secret)))[
        "destination"
    ]["id"]
    after = api.ok("PATCH", f"/destinations/{ident}", json={"destination": {vendor: patch}})[
        "destination"
    ][vendor]
    assert after["auth_method"] == patch["auth_method"]
    assert dropped not in after
    assert secret not in unsealed_text(sessions, case, ident)
    assert secret not in database_text(app)
    # Switching back needs the credentials again: the old ones are gone for good.
    message = api.error(
        "PATCH",
        f"/destinations/{ident}",
        400,
        json={"destination": {vendor: {"auth_method": config("x")["auth_method"]}}},
    )
    assert dropped in message


def test_changing_vendor_drops_the_old_vendors_secret(app: Any, sessions: Any, api: Api) -> None:
    secret, new = fresh_secret("pg"), fresh_secret("sf")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, secret)
    patch = {"destination": {"vendor": "snowflake", "snowflake": snowflake_config(new)}}
    after = api.ok("PATCH", f"/destinations/{ident}", json=patch)["destination"]
    assert after["vendor"] == "snowflake"
    assert "postgres" not in after
    assert stored(sessions, case, ident) == {"password_auth.password": new}
    assert secret not in database_text(app)


def test_credential_patches_keep_or_replace_the_password(sessions: Any, api: Api) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["recipient-source-credential"]
    ident, _ = create(api, case, old)
    path = f"{case.path}/{ident}"
    api.ok("PATCH", path, json={"recipient_source_credential": {"username": "renamed"}})
    assert stored(sessions, case, ident) == {"password": old}
    patched = api.ok("PATCH", path, json={"recipient_source_credential": {"password": new}})
    assert patched["recipient_source_credential"]["username"] == "renamed"
    assert stored(sessions, case, ident) == {"password": new}


def test_webhook_patches_keep_replace_or_clear_the_api_key(sessions: Any, api: Api) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["webhook"]
    ident, created = create(api, case, old)
    assert created.json()["data"]["webhook"]["has_api_key"] is True
    path = f"/webhooks/{ident}"
    api.ok("PATCH", path, json={"webhook": {"name": "renamed"}})
    assert stored(sessions, case, ident) == {"api_key": old}
    api.ok("PATCH", path, json={"webhook": {"api_key": new}})
    assert stored(sessions, case, ident) == {"api_key": new}
    # pagerduty needs its key; a generic webhook can drop it.
    api.error("PATCH", path, 400, json={"webhook": {"api_key": None}})
    cleared = api.ok("PATCH", path, json={"webhook": {"vendor": "generic_post", "api_key": None}})[
        "webhook"
    ]
    assert cleared["has_api_key"] is False
    assert stored(sessions, case, ident) is None


# --- magic links ------------------------------------------------------------------------------


def test_a_magic_link_token_is_stored_hashed_and_sealed_and_never_audited(
    app: Any, sessions: Any, api: Api
) -> None:
    recipient = make_recipient(api)
    created = api.ok(
        "POST",
        "/magic-links",
        json={"magic_link": {"vendor": "postgres", "recipient_id": recipient}},
    )["magic_link"]
    token = created["link"].rsplit("/", 1)[1]
    assert len(token) >= 32
    assert token not in database_text(app)
    assert hashlib.sha256(token.encode()).hexdigest() in database_text(app)
    api.ok("DELETE", f"/magic-links/{created['id']}")
    events = events_for(api, created["id"])
    assert [e["event_type"] for e in events] == ["MAGIC_LINK_CREATE", "MAGIC_LINK_DELETE"]
    assert events[0]["previous_object"] is None
    assert events[1]["object"] is None
    assert token not in json.dumps(events)


# --- key rotation -----------------------------------------------------------------------------


@dataclass
class Rotated:
    new_key: str
    old_key: str
    settings: Settings
    api: Api


@pytest.fixture
def rotated(settings: Settings, tenant: Tenant) -> Iterator[Rotated]:
    """A second server on the same database, with a new key listed before the old one."""
    assert settings.secret_key is not None
    old = settings.secret_key.get_secret_value()
    new = Fernet.generate_key().decode()
    rotated_settings = Settings(
        database_url=settings.database_url,
        secret_key=f"{new},{old}",
        broker_url=None,
        public_url=None,
    )
    application = create_app(rotated_settings)
    try:
        with TestClient(application, base_url="http://ferry.test") as client:
            yield Rotated(new, old, rotated_settings, Api(client, tenant.staging.key))
    finally:
        application.state.engine.dispose()


def sealed_column(sessions: Any, case: Case, ident: str) -> str:
    with sessions() as session:
        row = session.get(case.orm, uuid.UUID(ident))
        assert row is not None
        return str(row.sealed_secrets)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_objects_sealed_with_the_old_key_still_read_and_update(
    sessions: Any, api: Api, rotated: Rotated, case: Case
) -> None:
    secret, replacement = fresh_secret("rotate"), fresh_secret("rotated")
    ident, _ = create(api, case, secret)
    item = f"{case.path}/{ident}"
    assert rotated.api.ok("GET", item)[case.item_key]["id"] == ident
    assert ident in [o["id"] for o in rotated.api.ok("GET", case.path)[case.list_key]]
    rotated.api.ok("PATCH", item, json=case.rename)
    both = crypto.Sealer([rotated.new_key, rotated.old_key])
    assert secret in json.dumps(both.open(sealed_column(sessions, case, ident)))
    # Changing the secret through the rotated server seals it with the new key.
    rotated.api.ok("PATCH", item, json=case.secret_patch(replacement))
    sealed = sealed_column(sessions, case, ident)
    assert replacement in json.dumps(crypto.Sealer([rotated.new_key]).open(sealed))
    with pytest.raises(ConfigurationError):
        crypto.Sealer([rotated.old_key]).open(sealed)
    # The server that knows only the old key still reads the object (no secret needed).
    assert api.ok("GET", item)[case.item_key]["id"] == ident


def test_a_password_patch_through_the_rotated_server(
    sessions: Any, api: Api, rotated: Rotated
) -> None:
    old, new = fresh_secret("old"), fresh_secret("new")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, old)
    patch = {"destination": {"postgres": {"host": "rotated.example.com"}}}
    rotated.api.ok("PATCH", f"/destinations/{ident}", json=patch)
    opened = crypto.Sealer([rotated.new_key]).open(sealed_column(sessions, case, ident))
    assert opened == {"password_auth.password": old}
    patch = {"destination": {"postgres": {"password_auth": {"password": new}}}}
    after = rotated.api.ok("PATCH", f"/destinations/{ident}", json=patch)["destination"]
    assert after["postgres"]["host"] == "rotated.example.com"
    opened = crypto.Sealer([rotated.new_key]).open(sealed_column(sessions, case, ident))
    assert opened == {"password_auth.password": new}


def test_magic_links_sealed_with_the_old_key_still_show(api: Api, rotated: Rotated) -> None:
    recipient = make_recipient(api)
    created = api.ok(
        "POST",
        "/magic-links",
        json={"magic_link": {"vendor": "postgres", "recipient_id": recipient}},
    )["magic_link"]
    shown = rotated.api.ok("GET", f"/magic-links/{created['id']}")["magic_link"]
    assert shown["link"] == created["link"]


def test_sealer_rotate_re_encrypts_with_the_newest_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    value = {"password_auth.password": fresh_secret("v"), "nested": {"k": [1, 2]}}
    token = crypto.Sealer([old]).seal(value)
    both = crypto.Sealer([new, old])
    assert both.open(token) == value
    rotated = both.rotate(token)
    assert rotated != token
    assert crypto.Sealer([new]).open(rotated) == value
    assert both.open(rotated) == value
    with pytest.raises(ConfigurationError):
        crypto.Sealer([old]).open(rotated)
    # Sealing always uses the first key.
    assert crypto.Sealer([new]).open(both.seal(value)) == value
    assert value["password_auth.password"] not in token
    assert value["password_auth.password"] not in rotated


def test_rotating_every_row_lets_the_old_key_go(
    app: Any, sessions: Any, api: Api, rotated: Rotated
) -> None:
    """The operator's rotation: re-seal the stored rows with the new key, then drop the old."""
    secret = fresh_secret("rowrotate")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, secret)
    sealer = crypto.Sealer([rotated.new_key, rotated.old_key])
    engine: sa.Engine = app.state.engine
    table = Destination.__table__
    with engine.begin() as connection:
        token = connection.execute(
            sa.select(table.c.sealed_secrets).where(table.c.id == uuid.UUID(ident))
        ).scalar_one()
        connection.execute(
            table.update()
            .where(table.c.id == uuid.UUID(ident))
            .values(sealed_secrets=sealer.rotate(token))
        )
    new_only = Settings(
        database_url=rotated.settings.database_url,
        secret_key=rotated.new_key,
        broker_url=None,
        public_url=None,
    )
    application = create_app(new_only)
    try:
        with TestClient(application, base_url="http://ferry.test") as client:
            Api(client, api.key).ok(
                "PATCH",
                f"/destinations/{ident}",
                json={"destination": {"postgres": {"host": "after-rotation.example.com"}}},
            )
    finally:
        application.state.engine.dispose()
    opened = crypto.Sealer([rotated.new_key]).open(sealed_column(sessions, case, ident))
    assert opened == {"password_auth.password": secret}


def test_a_missing_key_is_a_500_with_a_request_id_and_no_secret(
    log_output: Callable[[], str], app: Any, api: Api
) -> None:
    """A server whose key list lost the sealing key cannot open the secrets: a server fault,
    reported like every 500 (docs/api.md: the message carries the request id)."""
    secret = fresh_secret("lost")
    case = CASE["postgres-destination"]
    ident, _ = create(api, case, secret)
    lost = Settings(
        database_url=app.state.settings.database_url,
        secret_key=Fernet.generate_key().decode(),
        broker_url=None,
        public_url=None,
    )
    application = create_app(lost)
    try:
        with TestClient(application, base_url="http://ferry.test") as client:
            stranger = Api(client, api.key)
            # Reading needs no secret.
            assert stranger.ok("GET", f"/destinations/{ident}")["destination"]["id"] == ident
            response = stranger.call(
                "PATCH",
                f"/destinations/{ident}",
                json={"destination": {"postgres": {"host": "x.example.com"}}},
            )
    finally:
        application.state.engine.dispose()
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "error"
    assert secret not in response.text
    request_id = response.headers["x-request-id"]
    assert request_id in body["message"]
    logged = log_output()
    assert request_id in logged
    assert secret not in logged
