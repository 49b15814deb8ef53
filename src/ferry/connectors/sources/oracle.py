"""The Oracle source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.oracle import OracleConnection


@register_source
class OracleSource(SourceConnector):
    """Oracle Database."""

    vendor = "oracle"
    display_name = "Oracle"
    config_model = OracleConnection
