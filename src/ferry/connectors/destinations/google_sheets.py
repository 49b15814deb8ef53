"""The Google Sheets destination."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import VendorConfig
from ferry.connectors.registry import register_destination
from ferry.fields import Url


class GoogleSheetsDestinationConfig(VendorConfig):
    """A spreadsheet; Prequel's SDK names its URL ``host`` and publishes no other field."""

    host: Url


@register_destination
class GoogleSheetsDestination(DestinationConnector):
    """Google Sheets."""

    vendor = "google_sheets"
    display_name = "Google Sheets"
    config_model = GoogleSheetsDestinationConfig
    target_fields = ("host",)
