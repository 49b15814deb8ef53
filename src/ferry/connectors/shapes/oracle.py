"""The fields an Oracle source and destination share."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.config import SslOptions
from ferry.connectors.shapes.common import DatabaseServer
from ferry.fields import Short


class OracleConnection(DatabaseServer):
    """An Oracle database; ``ssl_options`` (a wallet) is optional even with SSL on."""

    database: Short
    schema_: Short | None = Field(default=None, alias="schema")
    ssl_options: SslOptions | None = None
