"""Transfers end to end: a real PostgreSQL source with several tenants, real destinations, the
API to configure them and the engine (or real Celery workers) to run them."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Context, Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from ferry import transfer
from ferry.settings import Settings
from tests.conftest import Api

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
TENANTS = ("acme", "globex", "initech", "empty_co")  # empty_co has no rows

SOURCE_DDL = """
CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL,
    title TEXT,
    amount NUMERIC(38, 10),
    quantity INTEGER,
    is_paid BOOLEAN,
    shipped_on DATE,
    details JSONB,
    attachment BYTEA,
    updated_at TIMESTAMPTZ
);
CREATE INDEX orders_tenant_modified ON orders (org_id, updated_at);
"""

COLUMNS = (
    "id",
    "org_id",
    "title",
    "amount",
    "quantity",
    "is_paid",
    "shipped_on",
    "details",
    "attachment",
    "updated_at",
)


def order_model(**overrides: Any) -> dict[str, Any]:
    columns = [
        {
            "name_in_source": "id",
            "name_in_destination": "id",
            "data_type": "bigint",
            "is_primary_key": True,
        },
        {"name_in_source": "title", "name_in_destination": "title", "data_type": "text"},
        {"name_in_source": "amount", "name_in_destination": "amount", "data_type": "decimal"},
        {"name_in_source": "quantity", "name_in_destination": "quantity", "data_type": "integer"},
        {"name_in_source": "is_paid", "name_in_destination": "paid", "data_type": "boolean"},
        {"name_in_source": "shipped_on", "name_in_destination": "shipped_on", "data_type": "date"},
        {"name_in_source": "details", "name_in_destination": "details", "data_type": "json"},
        {"name_in_source": "attachment", "name_in_destination": "attachment", "data_type": "bytes"},
        {
            "name_in_source": "updated_at",
            "name_in_destination": "updated_at",
            "data_type": "timestamp",
            "is_last_modified": True,
        },
    ]
    return {
        "model": {
            "model_name": "orders",
            "source_table": "public.orders",
            "organization_column": "org_id",
            "columns": columns,
        }
        | overrides
    }


@dataclass
class Database:
    name: str
    engine: sa.Engine

    def execute(
        self, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text(sql), params or {})

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(sa.text(sql), params or {})]

    def config(self, **extra: Any) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": 5432,
            "database": self.name,
            "auth_method": "password_auth",
            "password_auth": {"username": "postgres", "password": "unused-password"},
            "disable_ssl": True,
        } | extra


def fresh_database(prefix: str = "ferry_x") -> Iterator[Database]:
    """A new, empty PostgreSQL database, dropped after use."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(f"{PG}/{name}")
    try:
        yield Database(name, engine)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def edge_rows(tenant: str, start: int, count: int, stamp: datetime) -> list[dict[str, Any]]:
    rows = []
    for i in range(start, start + count):
        rows.append(
            {
                "id": i,
                "org_id": tenant,
                "title": None if i % 7 == 0 else f"{tenant} ✓ 注文 #{i} 🚀 \"quoted\" 'single'",
                "amount": None if i % 11 == 0 else Decimal(f"{i}123456789012345678.0123456789"),
                "quantity": -i if i % 2 else i,
                "is_paid": None if i % 5 == 0 else i % 2 == 0,
                "shipped_on": date(2024, 1 + i % 12, 1 + i % 28),
                "details": json.dumps({"i": i, "tags": ["a", "ü"], "nested": {"ok": True}}),
                "attachment": None if i % 3 == 0 else bytes([i % 256, 0, 255]),
                "updated_at": stamp,
            }
        )
    return rows


INSERT = (
    "INSERT INTO orders (id, org_id, title, amount, quantity, is_paid, shipped_on, details, "
    "attachment, updated_at) VALUES (:id, :org_id, :title, :amount, :quantity, :is_paid, "
    ":shipped_on, CAST(:details AS JSONB), :attachment, :updated_at)"
)


def source_rows() -> list[dict[str, Any]]:
    """The source table's initial rows: 120 per tenant but the last (which has none)."""
    base = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    for n, tenant in enumerate(TENANTS[:3]):
        rows += edge_rows(tenant, 1000 * (n + 1), 120, base)
    # One 1 MB text, distinct microseconds, and a NULL last-modified value.
    rows[0]["title"] = "é" * (1024 * 1024 // 2)
    for k, row in enumerate(rows):
        row["updated_at"] = base.replace(microsecond=k) if k % 4 else base
    rows[5]["updated_at"] = None
    return rows


@pytest.fixture
def source_db() -> Iterator[Database]:
    for database in fresh_database():
        database.execute(SOURCE_DDL)
        database.execute(INSERT, source_rows())
        yield database


@pytest.fixture
def dest_db() -> Iterator[Database]:
    yield from fresh_database()


def canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize(Context(prec=100)))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def checksum(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> tuple[int, str]:
    """Row count and an order-independent digest over every column."""
    total = 0
    for row in rows:
        digest = hashlib.sha256(json.dumps([canonical(row[c]) for c in columns]).encode())
        total ^= int.from_bytes(digest.digest()[:16], "big")
    return len(rows), f"{total:032x}"


SOURCE_AS_DESTINATION = (
    "id",
    "title",
    "amount",
    "quantity",
    "is_paid",
    "shipped_on",
    "details",
    "attachment",
    "updated_at",
)
DESTINATION_COLUMNS = (
    "id",
    "title",
    "amount",
    "quantity",
    "paid",
    "shipped_on",
    "details",
    "attachment",
    "updated_at",
)


def source_slice(source: Database, tenant: str) -> tuple[int, str]:
    rows = source.rows("SELECT * FROM orders WHERE org_id = :t", {"t": tenant})
    return checksum(rows, SOURCE_AS_DESTINATION)


def destination_slice(dest: Database, schema: str, table: str = "orders") -> tuple[int, str]:
    rows = dest.rows(f'SELECT * FROM "{schema}"."{table}"')
    return checksum(
        [
            dict(zip(SOURCE_AS_DESTINATION, (r[c] for c in DESTINATION_COLUMNS), strict=True))
            for r in rows
        ],
        SOURCE_AS_DESTINATION,
    )


@dataclass
class Setup:
    api: Api
    destinations: dict[str, str]  # tenant → destination id
    schemas: dict[str, str]  # tenant → destination schema
    model_id: str


@pytest.fixture
def setup(api: Api, source_db: Database, dest_db: Database) -> Setup:
    api.ok(
        "POST",
        "/sources",
        json={
            "source": {
                "vendor": "postgres",
                "name": "app",
                "postgres": source_db.config(schema="public"),
            }
        },
    )
    model = api.ok("POST", "/models", json=order_model())["model"]
    destinations, schemas = {}, {}
    for tenant in TENANTS:
        recipient = api.ok(
            "POST",
            "/recipients",
            json={"recipient": {"name": tenant.title(), "id_in_provider_system": tenant}},
        )["recipient"]
        schemas[tenant] = f"out_{tenant}"
        made = api.ok(
            "POST",
            "/destinations",
            json={
                "destination": {
                    "vendor": "postgres",
                    "name": f"{tenant} warehouse",
                    "recipient_id": recipient["id"],
                    "postgres": dest_db.config(schema=schemas[tenant], use_ssh_tunnel=False),
                }
            },
        )
        destinations[tenant] = made["destination"]["id"]
    return Setup(api, destinations, schemas, model["id"])


@pytest.fixture
def run_transfer(app: Any, settings: Settings) -> Callable[..., dict[str, Any]]:
    """Request a transfer through the API and run it with the engine; the final transfer."""

    def run(api: Api, destination_id: str, **body: Any) -> dict[str, Any]:
        requested = api.ok("POST", f"/destinations/{destination_id}/transfer", json=body)
        transfer.run(
            app.state.sessionmaker,
            uuid.UUID(requested["transfer_id"]),
            worker="test-worker",
            settings=settings,
        )
        return api.ok("GET", f"/transfers/{requested['transfer_id']}")["transfer"]

    return run
