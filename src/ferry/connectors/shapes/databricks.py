"""The fields a Databricks source and destination share."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ferry.connectors.config import AccessTokenAuth, Selectors
from ferry.connectors.shapes.common import ServerAddress
from ferry.fields import Short


class DatabricksConnection(ServerAddress):
    """A Databricks SQL warehouse (``http_path``) and catalog, reached with a personal token."""

    selectors: ClassVar[Selectors] = {"auth_method": {"access_token_auth": "access_token_auth"}}

    schema_: Short | None = Field(default=None, alias="schema")
    catalog: Short
    http_path: Short
    auth_method: Literal["access_token_auth"]
    access_token_auth: AccessTokenAuth | None = None
