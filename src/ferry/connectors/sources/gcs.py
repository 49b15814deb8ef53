"""The Google Cloud Storage source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.gcs import GcsConnection


@register_source
class GcsSource(SourceConnector):
    """Google Cloud Storage."""

    vendor = "gcs"
    display_name = "Google Cloud Storage"
    config_model = GcsConnection
