"""Every registered vendor's config shape: validation, selectors and secret storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from ferry.connectors import registry
from ferry.connectors.base import Connector, DestinationConnector
from ferry.connectors.config import VendorConfig

# Spec §7.2 plus the two self-hosting vendors (duckdb, sqlite).
# fmt: off
DESTINATION_VENDORS = {
    "postgres", "aurora_postgres", "mysql", "aurora_mysql", "singlestore", "sql_server",
    "planetscale", "snowflake", "bigquery", "redshift", "redshift_serverless", "athena",
    "databricks", "clickhouse", "mongodb", "oracle", "s3", "s3_compatible", "gcs", "abs", "sftp",
    "google_sheets", "motherduck", "mock", "duckdb", "sqlite",
}
SOURCE_VENDORS = {
    "postgres", "aurora_postgres", "mysql", "aurora_mysql", "sqlite", "duckdb", "redshift",
    "redshift_serverless", "bigquery", "snowflake", "s3", "abs", "sftp", "gcs", "athena",
    "clickhouse", "databricks", "mongodb", "sql_server", "oracle", "motherduck",
}
# fmt: on

# A valid value for every sub-object a selector can choose, keyed by field name.
SUB: dict[str, Any] = {
    "password_auth": {"username": "ferry", "password": "pw-1"},
    "aws_iam_role": {"aws_iam_role_arn": "arn:aws:iam::123456789012:role/ferry"},
    "aws_access_keys": {"access_id": "AKIAEXAMPLE", "secret_key": "aws-secret"},
    "gcp_service_account_role": {"service_account_email": "ferry@p.iam.gserviceaccount.com"},
    "gcp_service_account_key": {
        "service_account_key": {"type": "service_account", "private_key": "-----BEGIN…"}
    },
    "federated_gcp_service_account_role": {
        "service_account_email": "ferry@p.iam.gserviceaccount.com",
        "workload_identity_federation_metadata": {
            "type": "external_account",
            "audience": "//iam.googleapis.com/pool",
            "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
            "token_url": "https://sts.googleapis.com/v1/token",
        },
    },
    "gcs_hmac_keys": {"access_key": "GOOGEXAMPLE", "secret": "hmac-secret"},
    "access_keys": {"access_id": "minio", "secret_key": "minio-secret"},
    "azure_service_shared_access_signature": {"shared_access_signature_token": "sv=2022&sig=x"},
    "access_token_auth": {"access_token": "dapi-token"},
    "public_key_auth": {"public_key": "ssh-ed25519 AAAAC3Nza ferry"},
    "ssh_tunnel": {"ssh_tunnel_host": "bastion.example.com", "ssh_tunnel_username": "ferry"},
    "bucket_s3": {
        "bucket_name": "ferry-staging",
        "bucket_region": "us-east-1",
        "aws_access_keys": {"access_id": "AKIAEXAMPLE", "secret_key": "aws-secret"},
    },
    "bucket_gcs": {
        "bucket_name": "ferry-staging",
        "gcs_hmac_keys": {"access_key": "GOOGEXAMPLE", "secret": "hmac-secret"},
    },
    "hive": {
        "bucket_s3": {
            "bucket_name": "ferry-hive",
            "aws_access_keys": {"access_id": "AKIA", "secret_key": "s"},
        }
    },
}
SERVER = {"host": "db.example.com", "port": 5432}
PASSWORD = {"auth_method": "password_auth", "password_auth": SUB["password_auth"]}
AWS_KEYS = {"auth_method": "aws_access_keys", "aws_access_keys": SUB["aws_access_keys"]}
NO_TUNNEL = {"use_ssh_tunnel": False}
MYSQL_DESTINATION = {
    **SERVER,
    **PASSWORD,
    **NO_TUNNEL,
    "connection_database": "mysql",
    "write_database": "acme",
}
REDSHIFT = {**SERVER, "database": "dev", "schema": "acme", **AWS_KEYS}
STAGING_S3 = {"bucket_s3": {"bucket_name": "ferry-staging"}}
ATHENA = {
    "workgroup": "primary",
    "connection_database": "default",
    **AWS_KEYS,
    "bucket_s3": {"bucket_name": "ferry-athena"},
}
SAS = {
    "auth_method": "azure_service_shared_access_signature",
    "azure_service_shared_access_signature": SUB["azure_service_shared_access_signature"],
}
SFTP = {
    "username": "ferry",
    "host": "sftp.example.com",
    "port": 22,
    "auth_method": "public_key_auth",
    "public_key_auth": SUB["public_key_auth"],
}
DATABRICKS = {
    "host": "dbc-1.cloud.databricks.com",
    "port": 443,
    "catalog": "main",
    "http_path": "/sql/1.0/warehouses/abc",
    "auth_method": "access_token_auth",
    "access_token_auth": SUB["access_token_auth"],
}
GCS = {
    "bucket_name": "ferry-out",
    "auth_method": "gcs_hmac_keys",
    "gcs_hmac_keys": SUB["gcs_hmac_keys"],
}
GCP_KEY = {
    "project_id": "acme-data",
    "auth_method": "gcp_service_account_key",
    "gcp_service_account_key": SUB["gcp_service_account_key"],
}
MONGODB = {**SERVER, "port": 27017, "authentication_database": "admin", **PASSWORD}
MOTHERDUCK = {"database": "md:acme", "access_token_auth": SUB["access_token_auth"]}

DESTINATION_SAMPLES: dict[str, dict[str, Any]] = {
    "postgres": {**SERVER, "database": "analytics", "schema": "acme", **PASSWORD, **NO_TUNNEL},
    "aurora_postgres": {
        **SERVER,
        "database": "analytics",
        "schema": "acme",
        **PASSWORD,
        "use_ssh_tunnel": True,
        "ssh_tunnel": SUB["ssh_tunnel"],
    },
    "mysql": MYSQL_DESTINATION,
    "aurora_mysql": MYSQL_DESTINATION,
    "singlestore": MYSQL_DESTINATION,
    "sql_server": MYSQL_DESTINATION,
    "planetscale": MYSQL_DESTINATION,
    "snowflake": {**SERVER, "database": "ANALYTICS", "schema": "ACME", **PASSWORD},
    "bigquery": {**GCP_KEY, "schema": "acme", "bucket_gcs": {"bucket_name": "ferry-staging"}},
    "redshift": {**REDSHIFT, **STAGING_S3, "username": "ferry"},
    "redshift_serverless": {**REDSHIFT, **STAGING_S3, "workgroup": "default"},
    "athena": {**ATHENA, "write_database": "acme"},
    "databricks": {**DATABRICKS, "schema": "acme", "metastore": "hive", "hive": SUB["hive"]},
    "clickhouse": {
        **SERVER,
        "connection_database": "default",
        "write_database": "acme",
        **PASSWORD,
        "bucket_vendor": "bucket_gcs",
        "bucket_gcs": SUB["bucket_gcs"],
    },
    "mongodb": {**MONGODB, "write_database": "acme", **NO_TUNNEL},
    "oracle": {
        **SERVER,
        "database": "ORCL",
        "schema": "ACME",
        **PASSWORD,
        **NO_TUNNEL,
        "ssl_options": {"wallet": "wallet-bytes"},
    },
    "s3": {"folder": "acme", "bucket_name": "ferry-out", "bucket_region": "eu-west-1", **AWS_KEYS},
    "s3_compatible": {
        "host": "minio.example.com:9000",
        "folder": "acme",
        "bucket_name": "ferry-out",
        "auth_method": "access_keys",
        "access_keys": SUB["access_keys"],
    },
    "gcs": {**GCS, "folder": "acme"},
    "abs": {"folder": "acme", "container_name": "out", "storage_account_name": "acmestore", **SAS},
    "sftp": {**SFTP, "folder": "/upload/acme", "file_format": "csv", "csv": {"delimiter": ";"}},
    "google_sheets": {"host": "https://docs.google.com/spreadsheets/d/abc"},
    "motherduck": {**MOTHERDUCK, "schema": "acme"},
    "mock": {"database": "mock", "schema": "acme"},
    "duckdb": {"path": "/var/lib/ferry/acme.duckdb"},
    "sqlite": {"path": "/var/lib/ferry/acme.sqlite"},
}

SOURCE_SAMPLES: dict[str, dict[str, Any]] = {
    "postgres": {**SERVER, "database": "app", **PASSWORD},
    "aurora_postgres": {
        **SERVER,
        "database": "app",
        "schema": "public",
        **PASSWORD,
        "use_ssh_tunnel": True,
        "ssh_tunnel": SUB["ssh_tunnel"],
    },
    "mysql": {**SERVER, "database": "app", **PASSWORD},
    "aurora_mysql": {**SERVER, "database": "app", **PASSWORD},
    "sql_server": {**SERVER, "connection_database": "app", **PASSWORD},
    "sqlite": {"path": "/var/lib/app.sqlite"},
    "duckdb": {"path": "/var/lib/app.duckdb"},
    "redshift": {**REDSHIFT, "username": "ferry"},
    "redshift_serverless": {**REDSHIFT, "workgroup": "default"},
    "bigquery": GCP_KEY,
    "snowflake": {**SERVER, "database": "APP", **PASSWORD},
    "s3": {"bucket_name": "app-exports", **AWS_KEYS},
    "abs": {"bucket_name": "exports", "storage_account_name": "appstore", **SAS},
    "sftp": SFTP,
    "gcs": GCS,
    "athena": ATHENA,
    "clickhouse": {**SERVER, "connection_database": "default", **PASSWORD},
    "databricks": DATABRICKS,
    "mongodb": MONGODB,
    "oracle": {**SERVER, "database": "ORCL", **PASSWORD},
    "motherduck": MOTHERDUCK,
}


def connector(kind: str, vendor: str) -> type[Connector]:
    if kind == "destination":
        return registry.destination_class(vendor)
    return registry.source_class(vendor)


def sample(kind: str, vendor: str) -> dict[str, Any]:
    samples = DESTINATION_SAMPLES if kind == "destination" else SOURCE_SAMPLES
    return dict(samples[vendor])


def unchosen(kind: str, vendor: str) -> dict[str, Any]:
    """Sub-objects the sample's selector values do not choose, with valid contents."""
    model = connector(kind, vendor).config_model
    data = sample(kind, vendor)
    extra = {}
    for selector, choices in model.selectors.items():
        chosen = choices.get(data.get(selector, model.model_fields[selector].default))
        extra |= {field: SUB[field] for field in set(choices.values()) - {chosen, None}}
    return extra


def cases(where: Callable[[str, str], object] | None = None) -> list[Any]:
    """Every (kind, vendor) pair, or those ``where`` holds for, as pytest params."""
    everything = [("destination", v) for v in sorted(DESTINATION_SAMPLES)]
    everything += [("source", v) for v in sorted(SOURCE_SAMPLES)]
    return [pytest.param(k, v, id=f"{k}:{v}") for k, v in everything if not where or where(k, v)]


def fields(kind: str, vendor: str) -> dict[str, Any]:
    return connector(kind, vendor).config_model.model_fields


ALL = cases()


def errors(model: type[VendorConfig], data: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return info.value.errors()


def lookup(tree: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def alias(model: type[VendorConfig], name: str) -> str:
    return model.model_fields[name].alias or name


def test_registered_destinations_are_the_spec_list() -> None:
    assert set(registry.destinations()) == DESTINATION_VENDORS
    assert set(DESTINATION_SAMPLES) == DESTINATION_VENDORS


def test_registered_sources_are_the_spec_list() -> None:
    assert set(registry.sources()) == SOURCE_VENDORS
    assert set(SOURCE_SAMPLES) == SOURCE_VENDORS


@pytest.mark.parametrize(("kind", "vendor"), ALL)
def test_sample_validates_and_round_trips_through_storage(kind: str, vendor: str) -> None:
    cls = connector(kind, vendor)
    assert cls.vendor == vendor
    assert cls.display_name
    config = cls.config_model.model_validate(sample(kind, vendor))

    public, secrets = config.split()

    paths = list(cls.config_model.secret_paths())
    for path in paths:
        assert lookup(public, path) is None, path
    present = {p for p in paths if lookup(config.model_dump(exclude_none=True), p) is not None}
    assert set(secrets) == {".".join(p) for p in present}
    assert cls.config_model.from_stored(public, secrets) == config


@pytest.mark.parametrize(
    ("kind", "without_secrets"),
    # An SFTP login is a public key: nothing in it is secret.
    [
        ("destination", {"google_sheets", "mock", "duckdb", "sqlite", "sftp"}),
        ("source", {"duckdb", "sqlite", "sftp"}),
    ],
)
def test_samples_exercise_secret_splitting(kind: str, without_secrets: set[str]) -> None:
    # Guards the round-trip test above against samples that carry no secret at all.
    vendors = DESTINATION_VENDORS if kind == "destination" else SOURCE_VENDORS
    found = {
        vendor
        for vendor in vendors
        if not connector(kind, vendor).config_model.model_validate(sample(kind, vendor)).split()[1]
    }
    assert found == without_secrets


@pytest.mark.parametrize(("kind", "vendor"), ALL)
def test_missing_required_field_is_named(kind: str, vendor: str) -> None:
    model = connector(kind, vendor).config_model
    required = [alias(model, n) for n, f in model.model_fields.items() if f.is_required()]
    for name in required:
        data = sample(kind, vendor)
        del data[name]
        found = errors(model, data)
        assert [(e["type"], e["loc"]) for e in found] == [("missing", (name,))]


@pytest.mark.parametrize(("kind", "vendor"), cases(lambda k, v: "auth_method" in fields(k, v)))
def test_wrong_auth_method_is_rejected(kind: str, vendor: str) -> None:
    model = connector(kind, vendor).config_model
    found = errors(model, {**sample(kind, vendor), "auth_method": "kerberos"})
    assert [(e["type"], e["loc"]) for e in found] == [("literal_error", ("auth_method",))]


@pytest.mark.parametrize(
    ("kind", "vendor"), cases(lambda k, v: connector(k, v).config_model.selectors)
)
def test_selected_sub_object_is_required(kind: str, vendor: str) -> None:
    model = connector(kind, vendor).config_model
    checked = 0
    for selector, choices in model.selectors.items():
        for value, field in choices.items():
            if field is None or model.model_fields[field].is_required():
                continue
            data = {**sample(kind, vendor), selector: value}
            data.pop(field, None)
            found = errors(model, data)
            assert [e["type"] for e in found] == ["selected_missing"], (selector, value)
            assert field in found[0]["msg"]
            checked += 1
    assert checked


@pytest.mark.parametrize(("kind", "vendor"), cases(unchosen))
def test_sub_objects_not_selected_are_dropped(kind: str, vendor: str) -> None:
    extra = unchosen(kind, vendor)
    config = connector(kind, vendor).config_model.model_validate({**sample(kind, vendor), **extra})
    for field in extra:
        assert getattr(config, field) is None, field
        assert field not in config.public_view()


@pytest.mark.parametrize(("kind", "vendor"), cases(lambda k, v: "port" in fields(k, v)))
def test_port_as_string_is_rejected(kind: str, vendor: str) -> None:
    model = connector(kind, vendor).config_model
    found = errors(model, {**sample(kind, vendor), "port": "5432"})
    assert [(e["type"], e["loc"]) for e in found] == [("int_type", ("port",))]


@pytest.mark.parametrize(("kind", "vendor"), ALL)
def test_unknown_field_is_rejected(kind: str, vendor: str) -> None:
    model = connector(kind, vendor).config_model
    found = errors(model, {**sample(kind, vendor), "hostname": "typo.example.com"})
    assert [(e["type"], e["loc"]) for e in found] == [("extra_forbidden", ("hostname",))]


@pytest.mark.parametrize("vendor", sorted(DESTINATION_SAMPLES))
def test_target_fields_name_set_values(vendor: str) -> None:
    cls = registry.destination_class(vendor)
    assert issubclass(cls, DestinationConnector)
    assert cls.target_fields
    public = cls.config_model.model_validate(DESTINATION_SAMPLES[vendor]).public_view()
    for dotted in cls.target_fields:
        assert lookup(public, tuple(dotted.split("."))) is not None, dotted


@pytest.mark.parametrize(("kind", "vendor"), ALL)
def test_base_renames_name_fields(kind: str, vendor: str) -> None:
    cls = connector(kind, vendor)
    fields = {alias(cls.config_model, n) for n in cls.config_model.model_fields}
    assert set(cls.base_renames) <= fields


def test_athena_keeps_the_base_api_name_of_workgroup() -> None:
    assert registry.destination_class("athena").base_renames == {"workgroup": "username"}
    assert registry.source_class("athena").base_renames == {"workgroup": "username"}


def test_duckdb_schema_defaults_to_main() -> None:
    model = registry.destination_class("duckdb").config_model
    assert model.model_validate({"path": "x.duckdb"}).public_view() == {
        "path": "x.duckdb",
        "schema": "main",
    }


def test_sources_tunnel_is_off_by_default_while_destinations_must_say() -> None:
    base = {**SERVER, "database": "app", **PASSWORD}
    source = registry.source_class("postgres").config_model.model_validate(base)
    assert source.public_view()["use_ssh_tunnel"] is False
    destination = registry.destination_class("postgres").config_model
    found = errors(destination, {**base, "schema": "acme"})
    assert [(e["type"], e["loc"]) for e in found] == [("missing", ("use_ssh_tunnel",))]


def test_oracle_ssl_options_are_optional_with_ssl_on() -> None:
    model = registry.destination_class("oracle").config_model
    data = {k: v for k, v in DESTINATION_SAMPLES["oracle"].items() if k != "ssl_options"}
    assert (
        model.model_validate({**data, "disable_ssl": False}).public_view()["disable_ssl"] is False
    )


def test_motherduck_local_file_needs_no_token() -> None:
    model = registry.destination_class("motherduck").config_model
    config = model.model_validate({"database": "/data/acme.duckdb", "schema": "acme"})
    assert config.public_view()["auth_method"] == "access_token_auth"
    assert config.split()[1] == {}


def test_mock_needs_nothing() -> None:
    assert registry.destination_class("mock").config_model.model_validate({}).public_view() == {}


def test_clickhouse_implicit_bucket_needs_no_bucket_object() -> None:
    model = registry.destination_class("clickhouse").config_model
    data = {**DESTINATION_SAMPLES["clickhouse"], "bucket_vendor": "bucket_implicit"}
    public = model.model_validate(data).public_view()
    assert "bucket_gcs" not in public
    assert "bucket_s3" not in public
