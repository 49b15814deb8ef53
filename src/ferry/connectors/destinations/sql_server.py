"""The SQL Server destination.

Prequel's SDK configures SQL Server with the MySQL shape; the API keeps it.
"""

from __future__ import annotations

from ferry.connectors.destinations.mysql import MySQLFamilyDestination
from ferry.connectors.registry import register_destination


@register_destination
class SqlServerDestination(MySQLFamilyDestination):
    """SQL Server."""

    vendor = "sql_server"
    display_name = "SQL Server"
