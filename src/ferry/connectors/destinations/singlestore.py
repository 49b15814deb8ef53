"""The SingleStore destination.

SingleStore speaks the MySQL protocol, so it takes the MySQL shape.
"""

from __future__ import annotations

from ferry.connectors.destinations.mysql import MySQLFamilyDestination
from ferry.connectors.registry import register_destination


@register_destination
class SingleStoreDestination(MySQLFamilyDestination):
    """SingleStore."""

    vendor = "singlestore"
    display_name = "SingleStore"
