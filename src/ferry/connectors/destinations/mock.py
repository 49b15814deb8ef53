"""The mock destination that Prequel's SDK offers for testing forms."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.config import VendorConfig
from ferry.connectors.registry import register_destination
from ferry.fields import Short


class MockDestinationConfig(VendorConfig):
    """Names of a database and schema, both optional."""

    schema_: Short | None = Field(default=None, alias="schema")
    database: Short | None = None


@register_destination
class MockDestination(DestinationConnector):
    """A test destination."""

    vendor = "mock"
    display_name = "Mock"
    config_model = MockDestinationConfig
    target_fields = ("database", "schema")
