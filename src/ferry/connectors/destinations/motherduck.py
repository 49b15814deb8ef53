"""The MotherDuck destination."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.motherduck import MotherDuckConnection
from ferry.fields import Short


class MotherDuckDestinationConfig(MotherDuckConnection):
    """A MotherDuck (or local DuckDB) schema to write to."""

    schema_: Short = Field(alias="schema")


@register_destination
class MotherDuckDestination(DestinationConnector):
    """MotherDuck."""

    vendor = "motherduck"
    display_name = "MotherDuck"
    config_model = MotherDuckDestinationConfig
    target_fields = ("database", "schema")
