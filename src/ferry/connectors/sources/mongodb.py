"""The MongoDB source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.mongodb import MongoDBConnection


@register_source
class MongoDBSource(SourceConnector):
    """MongoDB."""

    vendor = "mongodb"
    display_name = "MongoDB"
    config_model = MongoDBConnection
