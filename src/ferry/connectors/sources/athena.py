"""The Athena source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.athena import AthenaConnection


@register_source
class AthenaSource(SourceConnector):
    """Amazon Athena."""

    vendor = "athena"
    display_name = "Amazon Athena"
    config_model = AthenaConnection
    # The base (2022-01-01) API called the workgroup "username" (spec §3.1).
    base_renames: ClassVar[Mapping[str, str]] = {"workgroup": "username"}
