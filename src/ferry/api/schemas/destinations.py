"""Destination requests, for both API versions."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field

from ferry.api.schemas.common import Input, ModelNameList, NameList
from ferry.api.schemas.vendored import (
    FlatFields,
    VendoredIn,
    VendoredPatch,
    vendored_create,
    vendored_patch,
)
from ferry.connectors import registry
from ferry.fields import Name

Limit = Annotated[int, Field(ge=1, le=100)]


class DestinationSettings(Input):
    recipient_id: uuid.UUID | None = None
    id_in_provider_system: Name | None = None
    products: NameList | None = None
    enabled_models: ModelNameList | None = None
    frequency_minutes: int | None = None
    is_enabled: bool | None = None
    max_concurrent_transfers: Limit | None = None
    max_concurrent_queries_per_transfer: Limit | None = None
    # Compute sizing in the hosted product; accepted for compatibility, no effect here.
    machine_type_id: uuid.UUID | None = None


class DestinationCommon(DestinationSettings):
    name: Name


class DestinationPatchCommon(DestinationSettings):
    name: Name | None = None


if TYPE_CHECKING:  # mypy sees the bases; at run time the models come from the registry
    DestinationIn = VendoredIn
    DestinationPatch = VendoredPatch
    DestinationTestIn = VendoredIn
else:
    # A connection test needs the vendor object; a name or recipient is optional.
    DestinationTestIn = vendored_create(
        "DestinationTestIn", DestinationPatchCommon, registry.destinations()
    )
    DestinationIn = vendored_create("DestinationIn", DestinationCommon, registry.destinations())
    DestinationPatch = vendored_patch(
        "DestinationPatch", DestinationPatchCommon, registry.destinations()
    )


class DestinationInBase(FlatFields, DestinationCommon):
    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, serialize_by_alias=True)
    vendor: Name


class DestinationPatchBase(FlatFields, DestinationPatchCommon):
    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, serialize_by_alias=True)
    vendor: Name | None = None


class DestinationCreate(Input):
    destination: DestinationIn


class DestinationCreateBase(Input):
    destination: DestinationInBase


class DestinationUpdate(Input):
    destination: DestinationPatch


class DestinationUpdateBase(Input):
    destination: DestinationPatchBase


class DestinationTest(Input):
    destination: DestinationTestIn


class DestinationTestBase(Input):
    destination: DestinationPatchBase


class DestinationOverlay(Input):
    """Changed fields to test a saved destination with (nothing: test it as saved)."""

    destination: DestinationPatch | None = None


class DestinationOverlayBase(Input):
    destination: DestinationPatchBase | None = None
