"""The Azure Blob Storage source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.abs import AbsConnection
from ferry.fields import Short


class AbsSourceConfig(AbsConnection):
    """An Azure Blob Storage container (``bucket_name``, as §7.3 names it) to read from."""

    bucket_name: Short


@register_source
class AbsSource(SourceConnector):
    """Azure Blob Storage."""

    vendor = "abs"
    display_name = "Azure Blob Storage"
    config_model = AbsSourceConfig
