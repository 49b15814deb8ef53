"""What every source and destination connector is: a vendor, a config shape, capabilities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ferry.connectors.config import VendorConfig
from ferry.errors import ConnectorError
from ferry.modelconfig import ModelConfig


class Connector:
    """A vendor: its wire name, its config model and how the API presents it."""

    vendor: ClassVar[str]
    display_name: ClassVar[str]
    config_model: ClassVar[type[VendorConfig]]
    # Field renames of the 2022-01-01 (flat) API: canonical field name → base name.
    base_renames: ClassVar[Mapping[str, str]] = {}
    # False until this build can really connect; the API still accepts the full shape.
    available: ClassVar[bool] = False
    docs_url: ClassVar[str | None] = None

    def __init__(self, config: VendorConfig) -> None:
        self.config = config

    def check(self) -> None:
        """Connect and verify permissions; raise ConnectorError with the reason if it fails."""
        raise self.unavailable()

    @classmethod
    def unavailable(cls) -> ConnectorError:
        return ConnectorError(
            f"the {cls.display_name} ({cls.vendor}) connector is not available in this build; "
            "the configuration is stored and will be used once a connector exists",
            error_code="PRQL-UNAVAILABLE",
            title="Connector not available in this build",
            blame="host",
        )


class SourceConnector(Connector):
    """A provider database that models are read from."""

    def validate_model(self, model: ModelConfig) -> None:  # noqa: ARG002 - overridden by connectors
        """Check a model against the live source (table, columns, types, tenant column)."""
        raise self.unavailable()


class DestinationConnector(Connector):
    """A recipient's warehouse, database or bucket that models are written to."""

    # Dotted config paths naming the place written to; two recipients never share one.
    target_fields: ClassVar[tuple[str, ...]] = ()
