"""The Amazon S3 destination."""

from __future__ import annotations

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import AwsLogin, ObjectStorageOptions
from ferry.fields import Short


class S3DestinationConfig(ObjectStorageOptions, AwsLogin):
    """A folder in an S3 bucket."""

    folder: Short
    bucket_name: Short
    bucket_region: Short


@register_destination
class S3Destination(DestinationConnector):
    """Amazon S3."""

    vendor = "s3"
    display_name = "Amazon S3"
    config_model = S3DestinationConfig
    target_fields = ("bucket_name", "folder")
