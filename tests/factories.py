"""Request bodies for the common resources, as a client would send them."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

SOURCE_PASSWORD = "source-Secret-pw-1"
DEST_PASSWORD = "dest-Secret-pw-2"


def postgres_source(name: str = "main", **overrides: Any) -> dict[str, Any]:
    config = {
        "host": "db.internal",
        "port": 5432,
        "database": "app",
        "schema": "public",
        "auth_method": "password_auth",
        "password_auth": {"username": "reader", "password": SOURCE_PASSWORD},
    }
    return {"source": {"vendor": "postgres", "name": name, "postgres": config | overrides}}


def model(name: str = "orders", **overrides: Any) -> dict[str, Any]:
    config = {
        "model_name": name,
        "source_table": f"public.{name}",
        "organization_column": "org_id",
        "columns": [
            {
                "name_in_source": "id",
                "name_in_destination": "id",
                "data_type": "bigint",
                "is_primary_key": True,
            },
            {"name_in_source": "amount", "name_in_destination": "amount", "data_type": "decimal"},
            {
                "name_in_source": "updated_at",
                "name_in_destination": "updated_at",
                "data_type": "timestamp",
                "is_last_modified": True,
            },
        ],
    }
    return {"model": config | overrides}


def recipient(key: str | None = None, **overrides: Any) -> dict[str, Any]:
    ident = key or f"cust-{uuid.uuid4().hex[:8]}"
    return {"recipient": {"name": ident.title(), "id_in_provider_system": ident} | overrides}


def postgres_destination(
    recipient_id: str, *, schema: str | None = None, **overrides: Any
) -> dict[str, Any]:
    config = {
        "host": "warehouse.example.com",
        "port": 5432,
        "database": "analytics",
        "schema": schema or f"s_{uuid.uuid4().hex[:8]}",
        "auth_method": "password_auth",
        "password_auth": {"username": "writer", "password": DEST_PASSWORD},
        "use_ssh_tunnel": False,
    }
    return {
        "destination": {
            "vendor": "postgres",
            "name": "Warehouse",
            "recipient_id": recipient_id,
            "postgres": config,
        }
        | overrides
    }


CREDENTIAL_PASSWORD = "tenant-Secret-pw-3"
WEBHOOK_API_KEY = "integration-Key-4"

# RFC 3339 in UTC with the Z suffix, optionally with fractional seconds.
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def is_rfc3339_utc(value: Any) -> bool:
    return isinstance(value, str) and RFC3339_UTC.match(value) is not None


def product(name: str = "gold", models: list[str] | None = None) -> dict[str, Any]:
    return {"product": {"product_name": name, "models": models if models is not None else []}}


def vendored(
    kind: str, vendor: str, config: dict[str, Any], name: str = "Vendored", **common: Any
) -> dict[str, Any]:
    """A source or destination body of any vendor: ``{kind: {vendor, name, <vendor>: {…}}}``."""
    return {kind: {"vendor": vendor, "name": name, vendor: config} | common}


def credential(recipient_id: str, source_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "recipient_id": recipient_id,
        "source_id": source_id,
        "username": "tenant_reader",
        "password": CREDENTIAL_PASSWORD,
    }
    return {"recipient_source_credential": body | overrides}


def magic_link(recipient_id: str, vendor: str = "postgres", **overrides: Any) -> dict[str, Any]:
    return {"magic_link": {"vendor": vendor, "recipient_id": recipient_id} | overrides}


def webhook(vendor: str = "generic_post", **overrides: Any) -> dict[str, Any]:
    body = {"name": f"{vendor} hook", "vendor": vendor, "url": "https://hooks.example.com/ferry"}
    return {"webhook": body | overrides}


def public_and_secrets(
    config_model: Any, config: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """What a vendor config should read back as (JSON), and the secret strings it must hide."""
    validated = config_model.model_validate(config)
    public, secrets = validated.split()
    leaves: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            leaves.append(value)

    walk(secrets)
    shown = json.loads(json.dumps(public, default=str))
    text = json.dumps(shown)
    # A secret leaf that also occurs in the public part (say "service_account") proves nothing.
    return shown, [leaf for leaf in leaves if leaf not in text]


def unchecked_model(name: str = "orders", **overrides: Any) -> dict[str, Any]:
    """A model body that skips validation against the live source (which tests cannot reach)."""
    return model(name, **overrides) | {"skip_model_validation": True}
