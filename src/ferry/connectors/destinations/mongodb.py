"""The MongoDB destination."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.mongodb import MongoDBConnection
from ferry.fields import Short


class MongoDBDestinationConfig(MongoDBConnection):
    """A MongoDB database written to."""

    write_database: Short
    use_ssh_tunnel: bool


@register_destination
class MongoDBDestination(DestinationConnector):
    """MongoDB."""

    vendor = "mongodb"
    display_name = "MongoDB"
    config_model = MongoDBDestinationConfig
    target_fields = ("host", "port", "write_database")
