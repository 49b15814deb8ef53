"""Migrations run forwards and backwards on the test's database engine, and match the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from ferry.db import migrate
from ferry.db.base import Base
from ferry.settings import Settings


@pytest.fixture
def empty_database(settings: Settings, tmp_path: object) -> Iterator[Settings]:
    if settings.is_sqlite:
        yield settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/m.db"})
        return
    name = f"ferry_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(settings.database_url).set(database=name)
    try:
        yield settings.model_copy(
            update={"database_url": url.render_as_string(hide_password=False)}
        )
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_downgrade_upgrade(empty_database: Settings) -> None:
    config = migrate.alembic_config(empty_database)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = sa.create_engine(empty_database.database_url)
    with engine.connect() as connection:
        left = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
    assert left == set()
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert not compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert not migrate.pending(empty_database, engine)
    engine.dispose()
