"""The Athena destination."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.athena import AthenaConnection
from ferry.fields import Short


class AthenaDestinationConfig(AthenaConnection):
    """A Glue database written to, with its tables' files in ``bucket_s3``."""

    write_database: Short


@register_destination
class AthenaDestination(DestinationConnector):
    """Amazon Athena."""

    vendor = "athena"
    display_name = "Amazon Athena"
    config_model = AthenaDestinationConfig
    # Bucket names are global, so bucket and database name one place across AWS accounts.
    target_fields = ("bucket_s3.bucket_name", "write_database")
    # The base (2022-01-01) API called the workgroup "username" (spec §3.1).
    base_renames: ClassVar[Mapping[str, str]] = {"workgroup": "username"}
