"""The Redshift source, and what Redshift Serverless shares with it."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import SshTunnelOption, TimeoutSeconds
from ferry.connectors.shapes.redshift import RedshiftConnection
from ferry.fields import Short


class RedshiftFamilySourceConfig(SshTunnelOption, RedshiftConnection):
    """A Redshift database to read from."""

    region: Short | None = None
    disable_ssl: bool = False
    connection_timeout_in_seconds: TimeoutSeconds | None = None


class RedshiftSourceConfig(RedshiftFamilySourceConfig):
    """A provisioned Redshift cluster."""

    cluster: Short | None = None
    workgroup: Short | None = None
    username: Short


@register_source
class RedshiftSource(SourceConnector):
    """Amazon Redshift."""

    vendor = "redshift"
    display_name = "Amazon Redshift"
    config_model = RedshiftSourceConfig
