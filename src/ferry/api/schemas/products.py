"""Product requests."""

from __future__ import annotations

from pydantic import Field

from ferry.api.schemas.common import Input, ModelNameList
from ferry.fields import Name


class ProductIn(Input):
    product_name: Name
    models: ModelNameList = Field(default_factory=list)


class ProductPatch(Input):
    product_name: Name | None = None
    models: ModelNameList | None = None


class ProductCreate(Input):
    product: ProductIn


class ProductUpdate(Input):
    product: ProductPatch
