"""The MotherDuck source, self-hosted: ``database`` is the path of a DuckDB file on the Ferry
host, read exactly as the DuckDB source reads one, unqualified tables in ``schema`` when set.

A MotherDuck service database (``md:name``) needs MotherDuck's cloud, which this build cannot
reach: checks and reads of one fail with a clear "not available in this build" error.
"""

from __future__ import annotations

from pathlib import Path

from ferry.connectors import duckdb
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.motherduck import MotherDuckConnection
from ferry.connectors.sources.duckdb import DuckDBFamilySource


@register_source
class MotherDuckSource(DuckDBFamilySource):
    """MotherDuck."""

    vendor = "motherduck"
    display_name = "MotherDuck"
    config_model = MotherDuckConnection

    def path(self) -> Path:
        return duckdb.motherduck_path(str(self.config.public_view()["database"]))

    def default_schema(self) -> str | None:
        schema = self.config.public_view().get("schema")
        return str(schema) if schema else None
