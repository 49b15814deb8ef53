"""The fields a ClickHouse source and destination share."""

from __future__ import annotations

from ferry.connectors.shapes.common import PasswordLogin, ServerAddress
from ferry.fields import Short


class ClickHouseConnection(PasswordLogin, ServerAddress):
    """A ClickHouse server or cluster."""

    cluster: Short | None = None
    connection_database: Short
    disable_ssl: bool = False
