"""The Redshift Serverless destination."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.destinations.redshift import RedshiftFamilyDestinationConfig
from ferry.connectors.registry import register_destination
from ferry.fields import Short


class RedshiftServerlessDestinationConfig(RedshiftFamilyDestinationConfig):
    """A Redshift Serverless workgroup."""

    workgroup: Short


@register_destination
class RedshiftServerlessDestination(DestinationConnector):
    """Amazon Redshift Serverless."""

    vendor = "redshift_serverless"
    display_name = "Amazon Redshift Serverless"
    config_model = RedshiftServerlessDestinationConfig
    target_fields = ("host", "port", "database", "schema")
