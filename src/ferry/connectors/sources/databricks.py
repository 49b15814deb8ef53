"""The Databricks source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.databricks import DatabricksConnection


@register_source
class DatabricksSource(SourceConnector):
    """Databricks."""

    vendor = "databricks"
    display_name = "Databricks"
    config_model = DatabricksConnection
