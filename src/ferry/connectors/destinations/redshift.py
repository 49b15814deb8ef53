"""The Redshift destination, and what Redshift Serverless shares with it."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import BucketS3
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.redshift import RedshiftConnection
from ferry.fields import Short


class RedshiftFamilyDestinationConfig(RedshiftConnection):
    """A Redshift schema to write to, loaded through an S3 staging bucket."""

    schema_: Short = Field(alias="schema")
    bucket_s3: BucketS3


class RedshiftDestinationConfig(RedshiftFamilyDestinationConfig):
    """A provisioned Redshift cluster."""

    cluster: Short | None = None
    username: Short


@register_destination
class RedshiftDestination(DestinationConnector):
    """Amazon Redshift."""

    vendor = "redshift"
    display_name = "Amazon Redshift"
    config_model = RedshiftDestinationConfig
    target_fields = ("host", "port", "database", "schema")
