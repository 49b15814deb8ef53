"""Alembic, driven from code: `ferry migrate`, `ferry serve` on SQLite, and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ferry.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def project_root(settings: Settings) -> Path:
    """Where alembic.ini and migrations/ are: the source checkout, or FERRY_MIGRATIONS_DIR's
    parent in an installed deployment (an image copies them there)."""
    if settings.migrations_dir:
        return Path(settings.migrations_dir).resolve().parent
    return PROJECT_ROOT


def alembic_config(settings: Settings) -> Config:
    root = project_root(settings)
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    # ConfigParser interpolation would choke on '%' in a URL-encoded password.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def pending(settings: Settings, engine: Engine) -> bool:
    """True when the database is not at the newest migration."""
    script = ScriptDirectory.from_config(alembic_config(settings))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != set(script.get_heads())
