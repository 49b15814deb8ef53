"""Recipient requests."""

from __future__ import annotations

from pydantic import Field

from ferry.api.schemas.common import Input, NameList
from ferry.fields import EpochSeconds, Name


class RecipientIn(Input):
    name: Name | None = None
    id_in_provider_system: Name
    products: NameList | None = None
    default_full_refresh_min_start_time_epoch: EpochSeconds | None = None


class RecipientInBase(RecipientIn):
    # Schema-tenanted sources named the recipient's schema here; 2023-12-01 dropped it.
    schema_: Name | None = Field(default=None, alias="schema")


class RecipientPatch(Input):
    name: Name | None = None
    id_in_provider_system: Name | None = None
    products: NameList | None = None
    default_full_refresh_min_start_time_epoch: EpochSeconds | None = None


class RecipientPatchBase(RecipientPatch):
    schema_: Name | None = Field(default=None, alias="schema")


class RecipientCreate(Input):
    recipient: RecipientIn


class RecipientCreateBase(Input):
    recipient: RecipientInBase


class RecipientUpdate(Input):
    recipient: RecipientPatch


class RecipientUpdateBase(Input):
    recipient: RecipientPatchBase
