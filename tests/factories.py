"""Request bodies for the common resources, as a client would send them."""

from __future__ import annotations

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
