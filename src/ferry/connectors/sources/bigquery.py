"""The BigQuery source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.bigquery import BigQueryConnection
from ferry.fields import Short


class BigQuerySourceConfig(BigQueryConnection):
    """A Google Cloud project to read from; ``region`` is where its queries run."""

    region: Short | None = None


@register_source
class BigQuerySource(SourceConnector):
    """Google BigQuery."""

    vendor = "bigquery"
    display_name = "BigQuery"
    config_model = BigQuerySourceConfig
