"""The fields a Snowflake source and destination share."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.shapes.common import PasswordLogin, ServerAddress
from ferry.fields import Short


class SnowflakeConnection(PasswordLogin, ServerAddress):
    """A Snowflake account (``host`` is the account URL's host) and database."""

    database: Short
    schema_: Short | None = Field(default=None, alias="schema")
