"""Fixtures of the page tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def schema() -> Iterator[str]:
    """A schema name no other test uses, dropped at the end if the test created it."""
    name = f"ml_{uuid.uuid4().hex[:10]}"
    yield name
    engine = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()
