"""The BigQuery destination."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import BucketGcs
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.bigquery import BigQueryConnection
from ferry.fields import Short


class BigQueryDestinationConfig(BigQueryConnection):
    """A BigQuery dataset (``schema``), loaded through a GCS staging bucket."""

    schema_: Short = Field(alias="schema")
    bucket_gcs: BucketGcs


@register_destination
class BigQueryDestination(DestinationConnector):
    """Google BigQuery."""

    vendor = "bigquery"
    display_name = "BigQuery"
    config_model = BigQueryDestinationConfig
    target_fields = ("project_id", "schema")
