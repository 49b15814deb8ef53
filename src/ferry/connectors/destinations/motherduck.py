"""The MotherDuck destination, self-hosted: ``database`` is the path of a DuckDB file on the
Ferry host, written exactly as the DuckDB destination writes one (types, staging, one
transaction per model), in the config's ``schema``.

A MotherDuck service database (``md:name``) needs MotherDuck's cloud, which this build cannot
reach: checks and writes to one fail with a clear "not available in this build" error.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ferry.connectors import duckdb
from ferry.connectors.destinations.duckdb import DuckDBFamilyDestination
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.motherduck import MotherDuckConnection
from ferry.fields import Short


class MotherDuckDestinationConfig(MotherDuckConnection):
    """A MotherDuck (or local DuckDB) schema to write to."""

    schema_: Short = Field(alias="schema")


@register_destination
class MotherDuckDestination(DuckDBFamilyDestination):
    """MotherDuck."""

    vendor = "motherduck"
    display_name = "MotherDuck"
    config_model = MotherDuckDestinationConfig
    target_fields = ("database", "schema")

    def path(self) -> Path:
        return duckdb.motherduck_path(str(self.config.public_view()["database"]))
