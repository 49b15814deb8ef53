"""The SQLite source: a database file on the Ferry host."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import LocalDatabaseFile


@register_source
class SqliteSource(SourceConnector):
    """SQLite."""

    vendor = "sqlite"
    display_name = "SQLite"
    config_model = LocalDatabaseFile
