"""The SQLite destination: a database file on the Ferry host (not a Prequel vendor)."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import LocalDatabaseFile


@register_destination
class SqliteDestination(DestinationConnector):
    """SQLite."""

    vendor = "sqlite"
    display_name = "SQLite"
    config_model = LocalDatabaseFile
    target_fields = ("path",)
