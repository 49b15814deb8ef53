"""The fields Redshift and Redshift Serverless sources and destinations share."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.config import RedshiftAwsAccessKeys
from ferry.connectors.shapes.common import AwsLogin, ServerAddress
from ferry.fields import Short


class RedshiftConnection(AwsLogin, ServerAddress):
    """A Redshift database; access keys may carry the database password too."""

    aws_access_keys: RedshiftAwsAccessKeys | None = None
    database: Short
    schema_: Short | None = Field(default=None, alias="schema")
