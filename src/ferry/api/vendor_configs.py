"""Parsing vendor objects from requests of either version, naming faulty fields as sent."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ferry.api.versions import ApiVersion, base_field_names, base_location, flatten, nest
from ferry.connectors.base import Connector
from ferry.connectors.config import VendorConfig, deep_merge
from ferry.errors import InvalidInput
from ferry.services.vendors import ConfigBuilder
from ferry.validation import describe, message_for


def parse_config(
    connector: type[Connector], data: dict[str, Any], *, kind: str, version: ApiVersion
) -> VendorConfig:
    """Validate a vendor object: nested (2023-12-01) or flat fields (2022-01-01)."""
    renames = connector.base_renames
    if version.is_base:
        allowed = base_field_names(connector.config_model, renames)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise InvalidInput(
                f"{kind}.{unknown[0]}: is not a known field of {connector.vendor} {kind}s"
            )
        data = nest(connector.config_model, data, renames)
    try:
        return connector.config_model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if not version.is_base:
            raise InvalidInput(message_for(errors, (kind, connector.vendor))) from None
        flat_errors = []
        for error in errors:
            loc, _ = describe(error)
            flat_errors.append(
                {
                    **error,
                    "loc": base_location(loc, renames),
                    "type": "missing" if error["type"] == "selected_missing" else error["type"],
                }
            )
        raise InvalidInput(message_for(flat_errors, (kind,))) from None


def patch_builder(patch: dict[str, Any], *, kind: str, version: ApiVersion) -> ConfigBuilder[Any]:
    """How a PATCH changes a vendor object: a deep merge over the current one.

    The SDK sends only the changed leaves (``{"snowflake": {"password_auth": {"password":
    "new"}}}``); base clients send changed flat fields.
    """

    def build(connector: type[Connector], current: dict[str, Any] | None) -> VendorConfig:
        if version.is_base:
            flat = flatten(connector.config_model, current or {}, connector.base_renames)
            return parse_config(connector, {**flat, **patch}, kind=kind, version=version)
        leaves = frozenset(connector.config_model.secret_paths())
        merged = deep_merge(current or {}, patch, leaves)
        return parse_config(connector, merged, kind=kind, version=version)

    return build


def render_vendor(
    connector: type[Connector], view: dict[str, Any], version: ApiVersion
) -> dict[str, Any]:
    """A source/destination view in the request's version (flat for the base version)."""
    if not version.is_base:
        return view
    flat_view = {k: v for k, v in view.items() if k != connector.vendor}
    return flat_view | flatten(
        connector.config_model, view.get(connector.vendor, {}), connector.base_renames
    )
