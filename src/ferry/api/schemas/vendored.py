"""Request shapes of the vendor-shaped resources (sources and destinations), built from the
connector registry so that a new vendor module is all it takes to accept a new vendor.

2023-12-01: ``{"vendor": "postgres", "name": …, "postgres": {…}}`` — the object under the key
named by ``vendor`` is required and validated by that vendor's model; other vendors' keys are
refused. 2022-01-01: the same common fields with the vendor's fields flat beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Self, cast

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic_core import PydanticCustomError

from ferry.api.schemas.common import Input
from ferry.connectors.base import Connector
from ferry.connectors.config import VendorConfig
from ferry.errors import InvalidInput
from ferry.fields import Port, PublicKey, Short


class VendoredIn(Input):
    """Base of the dynamic 2023-12-01 create models."""

    if TYPE_CHECKING:  # fields the dynamic subclasses define
        vendor: str
        name: str

    @model_validator(mode="after")
    def _one_vendor_object(self) -> Self:
        vendor = getattr(self, "vendor", None)
        if vendor is None:
            return self
        extra = [
            v
            for v in type(self).model_fields
            if v in _vendor_keys(type(self)) and v != vendor and getattr(self, v) is not None
        ]
        if extra:
            raise PydanticCustomError(
                "vendor_mismatch",
                "{field}: does not match vendor {vendor}",
                {"field": extra[0], "vendor": repr(vendor)},
            )
        if getattr(self, vendor, None) is None:
            raise PydanticCustomError(
                "selected_missing",
                "{field} is required when {selector} is {value}",
                {"field": vendor, "selector": "vendor", "value": repr(vendor)},
            )
        return self

    def vendor_config(self) -> VendorConfig:
        config: VendorConfig = getattr(self, self.vendor)
        return config

    def common(self) -> dict[str, Any]:
        keys = _vendor_keys(type(self))
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k not in keys}


class VendoredPatch(Input):
    """Base of the dynamic 2023-12-01 PATCH models."""

    if TYPE_CHECKING:  # fields the dynamic subclasses define
        vendor: str | None
        name: str | None

    def vendor_patch(self, vendor: str, *, kind: str) -> dict[str, Any] | None:
        """The partial object of ``vendor``; another vendor's object is a mistake, not noise."""
        others = sorted(
            k
            for k in _vendor_keys(type(self))
            if k != vendor and getattr(self, k, None) is not None
        )
        if others:
            raise InvalidInput(f"{kind}.{others[0]}: does not match vendor {vendor!r}")
        patch: dict[str, Any] | None = getattr(self, vendor, None)
        return patch


def _vendor_keys(model: type[BaseModel]) -> frozenset[str]:
    return getattr(model, "__vendor_keys__", frozenset())


def vendored_create(
    name: str, common: type[BaseModel], connectors: Mapping[str, type[Connector]]
) -> type[VendoredIn]:
    vendors = tuple(sorted(connectors))
    fields: dict[str, Any] = {"vendor": (Literal[vendors], ...)}
    fields |= {vendor: (cls.config_model | None, None) for vendor, cls in connectors.items()}
    bases: tuple[type[Any], ...] = (VendoredIn, common)
    model: type[VendoredIn] = cast(Any, create_model)(name, __base__=bases, **fields)
    model.__vendor_keys__ = frozenset(vendors)  # type: ignore[attr-defined]
    return model


def vendored_patch(
    name: str, common: type[BaseModel], connectors: Mapping[str, type[Connector]]
) -> type[VendoredPatch]:
    """PATCH: every field optional; a vendor object may be partial (deep-merged later)."""
    vendors = tuple(sorted(connectors))
    fields: dict[str, Any] = {"vendor": (Literal[vendors] | None, None)}
    fields |= dict.fromkeys(vendors, (dict[str, Any] | None, None))
    bases: tuple[type[Any], ...] = (VendoredPatch, common)
    model: type[VendoredPatch] = cast(Any, create_model)(name, __base__=bases, **fields)
    model.__vendor_keys__ = frozenset(vendors)  # type: ignore[attr-defined]
    return model


class FlatFields(BaseModel):
    """The flat vendor fields of the 2022-01-01 API, as the SDK's ``Destination`` type lists
    them; each vendor accepts the subset its shape has (checked when nesting)."""

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, serialize_by_alias=True)

    host: Short | None = None
    port: Port | None = None
    cluster: Short | None = None
    database: Short | None = None
    schema_: Short | None = Field(default=None, alias="schema")
    username: Short | None = None
    user: Short | None = None
    password: str | None = None
    service_account_key: dict[str, Any] | str | None = None
    auth_method: Short | None = None
    bucket_auth_method: Short | None = None
    file_format: Short | None = None
    aws_iam_role_arn: Short | None = None
    service_account_email: Short | None = None
    workload_identity_federation_metadata: dict[str, Any] | None = None
    bucket_vendor: Short | None = None
    bucket_name: Short | None = None
    bucket_region: Short | None = None
    access_id: Short | None = None
    access_key: Short | None = None
    secret_key: str | None = None
    access_token: str | None = None
    use_ssh_tunnel: bool | None = None
    ssh_tunnel_host: Short | None = None
    ssh_tunnel_port: Port | None = None
    ssh_tunnel_username: Short | None = None
    ssh_public_key: PublicKey | None = None
    disable_ssl: bool | None = None
    metastore: Short | None = None
    authentication_database: Short | None = None
    catalog: Short | None = None
    connection_database: Short | None = None
    container_name: Short | None = None
    delimiter: Short | None = None
    folder: Short | None = None
    http_path: Short | None = None
    project_id: Short | None = None
    public_key: PublicKey | None = None
    secret: str | None = None
    shared_access_signature_token: str | None = None
    storage_account_name: Short | None = None
    wallet: str | None = None
    workgroup: Short | None = None
    write_database: Short | None = None
    connection_timeout_in_seconds: int | None = None


def flat_part(model: BaseModel, common: type[BaseModel]) -> dict[str, Any]:
    """The vendor fields of a flat (base) request: everything sent but the common fields."""
    common_keys = {f.alias or name for name, f in common.model_fields.items()} | {"vendor"}
    return {
        k: v
        for k, v in model.model_dump(exclude_unset=True, by_alias=True).items()
        if k not in common_keys
    }
