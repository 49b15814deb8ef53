"""MySQL and Aurora MySQL destinations, and the shape that MySQL-like vendors reuse."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import DatabaseServer
from ferry.fields import Short


class MySQLDestinationConfig(DatabaseServer):
    """A MySQL server: a database to connect to and the database written to."""

    connection_database: Short
    write_database: Short
    use_ssh_tunnel: bool


class MySQLFamilyDestination(DestinationConnector):
    """A destination configured with the MySQL shape."""

    config_model = MySQLDestinationConfig
    target_fields = ("host", "port", "write_database")


@register_destination
class MySQLDestination(MySQLFamilyDestination):
    """MySQL."""

    vendor = "mysql"
    display_name = "MySQL"


@register_destination
class AuroraMySQLDestination(MySQLFamilyDestination):
    """Amazon Aurora MySQL."""

    vendor = "aurora_mysql"
    display_name = "Aurora MySQL"
