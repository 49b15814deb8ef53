"""The Amazon S3 source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.common import AwsLogin, SshTunnelOption
from ferry.fields import Short


class S3SourceConfig(SshTunnelOption, AwsLogin):
    """An S3 bucket to read files from."""

    bucket_name: Short
    region: Short | None = None
    bucket_host: Short | None = None


@register_source
class S3Source(SourceConnector):
    """Amazon S3."""

    vendor = "s3"
    display_name = "Amazon S3"
    config_model = S3SourceConfig
