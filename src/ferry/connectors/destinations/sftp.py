"""The SFTP destination."""

from __future__ import annotations

from typing import Literal

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import Csv
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.sftp import SftpConnection
from ferry.fields import Short


class SftpDestinationConfig(SftpConnection):
    """A folder on an SFTP server that receives CSV files."""

    folder: Short
    file_format: Literal["csv"]
    csv: Csv
    disable_manifest: bool = False


@register_destination
class SftpDestination(DestinationConnector):
    """SFTP."""

    vendor = "sftp"
    display_name = "SFTP"
    config_model = SftpDestinationConfig
    target_fields = ("host", "port", "folder")
