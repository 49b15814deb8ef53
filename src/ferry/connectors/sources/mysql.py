"""MySQL and Aurora MySQL sources."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import DatabaseServer
from ferry.fields import Short


class MySQLSourceConfig(DatabaseServer):
    """A MySQL database to read from."""

    database: Short


class MySQLFamilySource(SourceConnector):
    """A MySQL-compatible source."""

    config_model = MySQLSourceConfig


@register_source
class MySQLSource(MySQLFamilySource):
    """MySQL."""

    vendor = "mysql"
    display_name = "MySQL"


@register_source
class AuroraMySQLSource(MySQLFamilySource):
    """Amazon Aurora MySQL."""

    vendor = "aurora_mysql"
    display_name = "Aurora MySQL"
