"""Real sources for the conformance tests: each case makes a connector on a fresh database
holding the same fixture table, and can run SQL there (to update rows, hold a transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ferry.connectors import registry
from ferry.connectors.base import SourceConnector

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# The fixture table, in portable SQL: three tenants, one of them with no rows.
ROWS = [
    # id, org, amount, note, updated_at (seconds after 2024-01-01T00:00:00Z; None = NULL)
    (1, "acme", "10.50", "a", 10),
    (2, "acme", "20.25", "b", 20),
    (3, "acme", "30.00", None, 20),
    (4, "globex", "1.00", "g", 15),
    (5, "acme", "5.00", "late", None),
    (6, "globex", "2.00", "h", 30),
]


@dataclass
class SourceCase:
    vendor: str
    connector: SourceConnector
    # Run statements on the source (autocommitted).
    execute: Callable[[str], None]
    # Hold a transaction open on the source while the block runs (for the horizon).
    open_transaction: Callable[[], AbstractContextManager[None]]
    # The type names the source reports for the fixture's updated_at and amount columns.
    timestamp_type: str
    table: str = "orders"


def create_sql(timestamp: str, decimal: str) -> list[str]:
    values = ", ".join(
        f"({i}, '{org}', {amount}, {'NULL' if note is None else repr(note)}, "
        + ("NULL" if seconds is None else f"TIMESTAMP '2024-01-01 00:00:{seconds:02d}'")
        + ")"
        for i, org, amount, note, seconds in ROWS
    )
    return [
        f"CREATE TABLE orders (id BIGINT PRIMARY KEY, org_id VARCHAR(64) NOT NULL, "
        f"amount {decimal}, note TEXT, updated_at {timestamp})",
        f"INSERT INTO orders (id, org_id, amount, note, updated_at) VALUES {values}",
    ]


@contextmanager
def postgres_case(tmp_path: Path) -> Iterator[SourceCase]:
    name = f"ferry_src_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(
        PG_SERVER.rsplit("/", 1)[0] + f"/{name}", isolation_level="AUTOCOMMIT"
    )

    def execute(sql: str) -> None:
        with engine.connect() as connection:
            connection.execute(sa.text(sql))

    @contextmanager
    def open_transaction() -> Iterator[None]:
        with engine.connect().execution_options(isolation_level="READ COMMITTED") as conn:
            transaction = conn.begin()
            conn.execute(sa.text("SELECT 1"))
            yield
            transaction.rollback()

    for statement in create_sql("TIMESTAMPTZ", "NUMERIC(12, 2)"):
        execute(statement)
    cls = registry.source_class("postgres")
    connector = cls(
        cls.config_model.model_validate(
            {
                "host": "127.0.0.1",
                "port": 5432,
                "database": name,
                "schema": "public",
                "auth_method": "password_auth",
                "password_auth": {"username": "postgres", "password": "unused"},
                "disable_ssl": True,
            }
        )
    )
    try:
        yield SourceCase(
            "postgres", connector, execute, open_transaction, "timestamp with time zone"
        )
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Every SQL source vendor has a case; the conformance tests run them all.
CASES: dict[str, Callable[[Path], Any]] = {"postgres": postgres_case}

from tests.connectors.embedded_cases import (  # noqa: E402
    duckdb_source_case,
    motherduck_source_case,
    sqlite_source_case,
)

CASES["sqlite"] = sqlite_source_case
CASES["duckdb"] = duckdb_source_case
CASES["motherduck"] = motherduck_source_case

from tests.connectors.mysql_cases import mysql_source_case  # noqa: E402

CASES["mysql"] = mysql_source_case
