"""The Azure Blob Storage destination."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import Csv
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.abs import AbsConnection
from ferry.connectors.shapes.common import ObjectStorageOptions
from ferry.fields import Short


class AbsDestinationConfig(ObjectStorageOptions, AbsConnection):
    """A folder in an Azure Blob Storage container."""

    folder: Short
    container_name: Short
    csv: Csv | None = None


@register_destination
class AbsDestination(DestinationConnector):
    """Azure Blob Storage."""

    vendor = "abs"
    display_name = "Azure Blob Storage"
    config_model = AbsDestinationConfig
    target_fields = ("storage_account_name", "container_name", "folder")
