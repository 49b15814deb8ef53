"""The Google Cloud Storage destination."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import ObjectStorageOptions
from ferry.connectors.shapes.gcs import GcsConnection
from ferry.fields import Short


class GcsDestinationConfig(ObjectStorageOptions, GcsConnection):
    """A folder in a GCS bucket."""

    folder: Short


@register_destination
class GcsDestination(DestinationConnector):
    """Google Cloud Storage."""

    vendor = "gcs"
    display_name = "Google Cloud Storage"
    config_model = GcsDestinationConfig
    target_fields = ("bucket_name", "folder")
