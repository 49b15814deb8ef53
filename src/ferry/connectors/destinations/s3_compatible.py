"""The S3-compatible object storage destination (MinIO, Cloudflare R2, Ceph…).

Layout, formats, manifests and failure behaviour are those of the object-storage family
(``ferry.connectors.object_storage``). ``host`` is the endpoint, accepted with or without a
scheme, port or path; HTTPS is used unless ``disable_ssl`` (a scheme written in ``host`` does
not override it). Requests use path-style addressing (``https://host/bucket/key``), which every
S3 clone serves, and are signed (SigV4, region ``us-east-1``, which such stores accept) with
``access_keys``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.config import AccessKeys, Selectors
from ferry.connectors.object_storage import S3FamilyDestination, S3Settings, endpoint_url
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import ObjectStorageOptions
from ferry.fields import Short

# Stores that ignore regions still need one to sign with.
SIGNING_REGION = "us-east-1"


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
class S3CompatibleDestination(S3FamilyDestination):
    """An S3-compatible object store."""

    vendor = "s3_compatible"
    display_name = "S3-compatible storage"
    config_model = S3CompatibleDestinationConfig
    target_fields = ("host", "bucket_name", "folder")

    def settings(self) -> S3Settings:
        values = self.config.reveal()
        keys = values["access_keys"]
        return S3Settings(
            bucket=str(values["bucket_name"]),
            access_id=str(keys["access_id"]),
            secret_key=str(keys["secret_key"]),
            region=SIGNING_REGION,
            endpoint_url=endpoint_url(
                str(values["host"]), disable_ssl=bool(values.get("disable_ssl"))
            ),
            path_style=True,
        )

    def where(self) -> str:
        values = self.config.public_view()
        return endpoint_url(str(values["host"]), disable_ssl=bool(values.get("disable_ssl")))
