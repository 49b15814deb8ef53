"""The fields a MotherDuck source and destination share."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ferry.connectors.config import AccessTokenAuth, VendorConfig
from ferry.fields import Short


class MotherDuckConnection(VendorConfig):
    """A MotherDuck database (``md:name``), or a local DuckDB file when self-hosting."""

    database: Short
    schema_: Short | None = Field(default=None, alias="schema")
    auth_method: Literal["access_token_auth"] = "access_token_auth"
    # Not selector-enforced: a local file needs no token, and the MotherDuck client can also
    # take it from the host's motherduck_token environment variable.
    access_token_auth: AccessTokenAuth | None = None
