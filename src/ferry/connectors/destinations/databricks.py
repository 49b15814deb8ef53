"""The Databricks destination."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import BucketS3WithKeys, ConfigModel, Selectors
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.databricks import DatabricksConnection
from ferry.fields import Short


class HiveMetastore(ConfigModel):
    """The S3 bucket a Hive-metastore workspace loads from; Unity Catalog needs none."""

    bucket_vendor: Literal["bucket_s3"] = "bucket_s3"
    bucket_s3: BucketS3WithKeys


class DatabricksDestinationConfig(DatabricksConnection):
    """A Databricks schema to write to."""

    selectors: ClassVar[Selectors] = {"metastore": {"hive": "hive", "unity_catalog": None}}

    schema_: Short = Field(alias="schema")
    metastore: Literal["hive", "unity_catalog"]
    hive: HiveMetastore | None = None


@register_destination
class DatabricksDestination(DestinationConnector):
    """Databricks."""

    vendor = "databricks"
    display_name = "Databricks"
    config_model = DatabricksDestinationConfig
    target_fields = ("host", "catalog", "schema")
