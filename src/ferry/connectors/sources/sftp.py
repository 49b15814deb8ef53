"""The SFTP source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.sftp import SftpConnection


@register_source
class SftpSource(SourceConnector):
    """SFTP."""

    vendor = "sftp"
    display_name = "SFTP"
    config_model = SftpConnection
