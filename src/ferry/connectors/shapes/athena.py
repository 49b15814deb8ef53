"""The fields an Athena source and destination share."""

from __future__ import annotations

from ferry.connectors.config import BucketS3
from ferry.connectors.shapes.common import AwsLogin
from ferry.fields import Short


class AthenaConnection(AwsLogin):
    """An Athena workgroup; ``bucket_s3`` receives query results, so readers need it too."""

    workgroup: Short
    connection_database: Short
    bucket_s3: BucketS3
