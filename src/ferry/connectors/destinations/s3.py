"""The Amazon S3 destination: Parquet files and manifests in a folder of a bucket.

Layout, formats, manifests and failure behaviour are those of the object-storage family
(``ferry.connectors.object_storage``). Requests go to AWS in ``bucket_region`` with
virtual-hosted addressing, signed with ``aws_access_keys``. The ``aws_iam_role`` method needs
Ferry to assume the recipient's role through web-identity federation, which this build cannot
do: such a destination is stored as given but fails ``check()`` and transfers with
``PRQL-UNAVAILABLE``, naming ``aws_access_keys`` as the way that works.
"""

from __future__ import annotations

from ferry.connectors.object_storage import S3FamilyDestination, S3Settings
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.common import AwsLogin, ObjectStorageOptions
from ferry.errors import ConnectorError
from ferry.fields import Short


class S3DestinationConfig(ObjectStorageOptions, AwsLogin):
    """A folder in an S3 bucket."""

    folder: Short
    bucket_name: Short
    bucket_region: Short


@register_destination
class S3Destination(S3FamilyDestination):
    """Amazon S3."""

    vendor = "s3"
    display_name = "Amazon S3"
    config_model = S3DestinationConfig
    target_fields = ("bucket_name", "folder")

    def settings(self) -> S3Settings:
        values = self.config.reveal()
        if values["auth_method"] != "aws_access_keys":
            raise ConnectorError(
                "IAM role authentication (web-identity federation into the role) is not "
                "available in this build of Ferry; use auth_method aws_access_keys with a key "
                "pair allowed to write to the folder",
                error_code="PRQL-UNAVAILABLE",
                title="Auth method not available in this build",
                blame="host",
            )
        keys = values["aws_access_keys"]
        return S3Settings(
            bucket=str(values["bucket_name"]),
            access_id=str(keys["access_id"]),
            secret_key=str(keys["secret_key"]),
            region=str(values["bucket_region"]),
            endpoint_url=None,
            path_style=False,
        )

    def where(self) -> str:
        return f"Amazon S3 ({self.config.public_view()['bucket_region']})"
