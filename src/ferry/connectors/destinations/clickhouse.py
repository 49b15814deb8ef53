"""The ClickHouse destination."""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import BucketGcsWithKeys, BucketS3WithKeys, Selectors
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.clickhouse import ClickHouseConnection
from ferry.fields import Short


class ClickHouseDestinationConfig(ClickHouseConnection):
    """A ClickHouse database written to, loaded through a staging bucket."""

    selectors: ClassVar[Selectors] = {
        "bucket_vendor": {
            "bucket_s3": "bucket_s3",
            "bucket_gcs": "bucket_gcs",
            "bucket_implicit": None,
        }
    }

    write_database: Short
    bucket_vendor: Literal["bucket_s3", "bucket_gcs", "bucket_implicit"]
    bucket_s3: BucketS3WithKeys | None = None
    bucket_gcs: BucketGcsWithKeys | None = None


@register_destination
class ClickHouseDestination(DestinationConnector):
    """ClickHouse."""

    vendor = "clickhouse"
    display_name = "ClickHouse"
    config_model = ClickHouseDestinationConfig
    target_fields = ("host", "port", "write_database")
