"""The Redshift Serverless source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.sources.redshift import RedshiftFamilySourceConfig
from ferry.fields import Short


class RedshiftServerlessSourceConfig(RedshiftFamilySourceConfig):
    """A Redshift Serverless workgroup."""

    workgroup: Short


@register_source
class RedshiftServerlessSource(SourceConnector):
    """Amazon Redshift Serverless."""

    vendor = "redshift_serverless"
    display_name = "Amazon Redshift Serverless"
    config_model = RedshiftServerlessSourceConfig
