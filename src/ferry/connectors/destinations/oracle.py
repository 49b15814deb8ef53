"""The Oracle destination."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.oracle import OracleConnection
from ferry.fields import Short


class OracleDestinationConfig(OracleConnection):
    """An Oracle schema to write to."""

    schema_: Short = Field(alias="schema")
    use_ssh_tunnel: bool


@register_destination
class OracleDestination(DestinationConnector):
    """Oracle Database."""

    vendor = "oracle"
    display_name = "Oracle"
    config_model = OracleDestinationConfig
    target_fields = ("host", "port", "database", "schema")
