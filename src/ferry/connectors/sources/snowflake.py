"""The Snowflake source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.snowflake import SnowflakeConnection


@register_source
class SnowflakeSource(SourceConnector):
    """Snowflake."""

    vendor = "snowflake"
    display_name = "Snowflake"
    config_model = SnowflakeConnection
