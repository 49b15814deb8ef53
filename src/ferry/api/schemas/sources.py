"""Source requests, for both API versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ConfigDict

from ferry.api.schemas.common import Input
from ferry.api.schemas.vendored import (
    FlatFields,
    VendoredIn,
    VendoredPatch,
    vendored_create,
    vendored_patch,
)
from ferry.connectors import registry
from ferry.fields import Name


class SourceCommon(Input):
    name: Name


class SourcePatchCommon(Input):
    name: Name | None = None


if TYPE_CHECKING:  # mypy sees the bases; at run time the models come from the registry
    SourceIn = VendoredIn
    SourcePatch = VendoredPatch
    SourceTestIn = VendoredIn
else:
    SourceTestIn = vendored_create("SourceTestIn", SourcePatchCommon, registry.sources())
    SourceIn = vendored_create("SourceIn", SourceCommon, registry.sources())
    SourcePatch = vendored_patch("SourcePatch", SourcePatchCommon, registry.sources())


class SourceInBase(FlatFields, SourceCommon):
    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, serialize_by_alias=True)
    vendor: Name


class SourcePatchBase(FlatFields, SourcePatchCommon):
    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, serialize_by_alias=True)
    vendor: Name | None = None


class SourceCreate(Input):
    source: SourceIn


class SourceCreateBase(Input):
    source: SourceInBase


class SourceUpdate(Input):
    source: SourcePatch


class SourceUpdateBase(Input):
    source: SourcePatchBase


class SourceTest(Input):
    source: SourceTestIn


class SourceTestBase(Input):
    source: SourcePatchBase


class SourceOverlay(Input):
    """Changed fields to test a saved source with (nothing: test it as saved)."""

    source: SourcePatch | None = None


class SourceOverlayBase(Input):
    source: SourcePatchBase | None = None
