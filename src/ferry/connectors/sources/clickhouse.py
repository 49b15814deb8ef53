"""The ClickHouse source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.clickhouse import ClickHouseConnection


@register_source
class ClickHouseSource(SourceConnector):
    """ClickHouse."""

    vendor = "clickhouse"
    display_name = "ClickHouse"
    config_model = ClickHouseConnection
