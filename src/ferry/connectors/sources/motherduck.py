"""The MotherDuck source."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.motherduck import MotherDuckConnection


@register_source
class MotherDuckSource(SourceConnector):
    """MotherDuck."""

    vendor = "motherduck"
    display_name = "MotherDuck"
    config_model = MotherDuckConnection
