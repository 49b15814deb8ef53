"""The Snowflake destination."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.snowflake import SnowflakeConnection
from ferry.fields import Short


class SnowflakeDestinationConfig(SnowflakeConnection):
    """A Snowflake schema to write to."""

    schema_: Short = Field(alias="schema")


@register_destination
class SnowflakeDestination(DestinationConnector):
    """Snowflake."""

    vendor = "snowflake"
    display_name = "Snowflake"
    config_model = SnowflakeDestinationConfig
    target_fields = ("host", "database", "schema")
