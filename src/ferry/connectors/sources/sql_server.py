"""The SQL Server source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import DatabaseServer
from ferry.fields import Short


class SqlServerSourceConfig(DatabaseServer):
    """A SQL Server database, named like the destination's (MySQL-shaped) fields."""

    connection_database: Short


@register_source
class SqlServerSource(SourceConnector):
    """SQL Server."""

    vendor = "sql_server"
    display_name = "SQL Server"
    config_model = SqlServerSourceConfig
