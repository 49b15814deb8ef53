"""The fields a PostgreSQL source and destination share."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.shapes.common import DatabaseServer, TimeoutSeconds
from ferry.fields import Short


class PostgresConnection(DatabaseServer):
    """A PostgreSQL database; ``schema`` is optional when reading (tables may be qualified)."""

    database: Short
    schema_: Short | None = Field(default=None, alias="schema")
    connection_timeout_in_seconds: TimeoutSeconds | None = None
