"""The S3-compatible object storage destination (MinIO, Cloudflare R2, Ceph…)."""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import AccessKeys, Selectors
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import ObjectStorageOptions
from ferry.fields import Short


class S3CompatibleDestinationConfig(ObjectStorageOptions):
    """A folder in a bucket of an S3 API endpoint (``host``)."""

    selectors: ClassVar[Selectors] = {"auth_method": {"access_keys": "access_keys"}}

    host: Short
    folder: Short
    bucket_name: Short
    disable_ssl: bool = False
    auth_method: Literal["access_keys"]
    access_keys: AccessKeys | None = None


@register_destination
class S3CompatibleDestination(DestinationConnector):
    """An S3-compatible object store."""

    vendor = "s3_compatible"
    display_name = "S3-compatible storage"
    config_model = S3CompatibleDestinationConfig
    target_fields = ("host", "bucket_name", "folder")
