"""Real destinations for the conformance tests: each case makes a connector pointing at a
fresh, throwaway place (schema, database or file) and reads rows back for comparison."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ferry.connectors import registry
from ferry.connectors.base import DestinationConnector

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class DestinationCase:
    vendor: str
    connector: DestinationConnector
    # Every row of a table, as plain Python values, and the _transfer_status rows.
    rows: Callable[[str], list[dict[str, Any]]]
    status: Callable[[], dict[str, datetime]]
    column_types: Callable[[str], dict[str, str]]


def normalize(value: Any) -> Any:
    """One representation per value, whatever the destination returned."""
    if isinstance(value, Decimal):
        # The default context keeps 28 digits; numeric(38, 10) needs more.
        return value.normalize(Context(prec=200))
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, date):
        return value
    return value


@contextmanager
def postgres_case(tmp_path: Path) -> Iterator[DestinationCase]:
    name = f"ferry_dst_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(PG_SERVER.rsplit("/", 1)[0] + f"/{name}")
    schema = "tenant_out"
    cls = registry.destination_class("postgres")
    connector = cls(
        cls.config_model.model_validate(
            {
                "host": "127.0.0.1",
                "port": 5432,
                "database": name,
                "schema": schema,
                "auth_method": "password_auth",
                "password_auth": {"username": "postgres", "password": "unused"},
                "disable_ssl": True,
                "use_ssh_tunnel": False,
            }
        )
    )

    def rows(table: str) -> list[dict[str, Any]]:
        with engine.connect() as connection:
            result = connection.execute(sa.text(f'SELECT * FROM "{schema}"."{table}"'))
            return [{k: normalize(v) for k, v in row._mapping.items()} for row in result]

    def status() -> dict[str, datetime]:
        with engine.connect() as connection:
            result = connection.execute(
                sa.text(
                    f'SELECT data_model_name, transfer_last_updated_at FROM "{schema}"._transfer_status'
                )
            )
            return {r[0]: normalize(r[1]) for r in result}

    def column_types(table: str) -> dict[str, str]:
        with engine.connect() as connection:
            result = connection.execute(
                sa.text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = :s AND table_name = :t"
                ),
                {"s": schema, "t": table},
            )
            return {r[0]: r[1] for r in result}

    try:
        yield DestinationCase("postgres", connector, rows, status, column_types)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Every SQL destination vendor has a case; the conformance tests run them all.
CASES: dict[str, Callable[[Path], Any]] = {"postgres": postgres_case}

from tests.connectors.embedded_cases import (  # noqa: E402
    duckdb_destination_case,
    motherduck_destination_case,
    sqlite_destination_case,
)

CASES["sqlite"] = sqlite_destination_case
CASES["duckdb"] = duckdb_destination_case
CASES["motherduck"] = motherduck_destination_case

from tests.connectors.mysql_cases import mysql_case  # noqa: E402

CASES["mysql"] = mysql_case
