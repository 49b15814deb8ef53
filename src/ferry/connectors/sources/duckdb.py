"""The DuckDB source: a database file on the Ferry host."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import LocalDatabaseFile


@register_source
class DuckDBSource(SourceConnector):
    """DuckDB."""

    vendor = "duckdb"
    display_name = "DuckDB"
    config_model = LocalDatabaseFile
