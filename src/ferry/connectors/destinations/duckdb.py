"""The DuckDB destination: a database file on the Ferry host (not a Prequel vendor)."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import LocalDatabaseFile
from ferry.fields import Short


class DuckDBDestinationConfig(LocalDatabaseFile):
    """A schema in a DuckDB file."""

    schema_: Short = Field(default="main", alias="schema")


@register_destination
class DuckDBDestination(DestinationConnector):
    """DuckDB."""

    vendor = "duckdb"
    display_name = "DuckDB"
    config_model = DuckDBDestinationConfig
    target_fields = ("path", "schema")
