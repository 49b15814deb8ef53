"""The two API versions. Every difference between them is visible in this module.

The vendor-shaped objects of 2023-12-01 are canonical. 2022-01-01 requests are nested on the way
in (so validation exists once) and responses flattened on the way out, by one generic rule over
the vendor's config model plus a small per-vendor rename map (``Connector.base_renames``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from ferry.connectors.config import ConfigModel, VendorConfig


class ApiVersion(StrEnum):
    BASE = "2022-01-01"
    V2023_12_01 = "2023-12-01"

    @property
    def is_base(self) -> bool:
        return self is ApiVersion.BASE


HEADER = "x-prequel-api-version"
# When the base version was deprecated by the API it imitates (RFC 9745 Deprecation header).
BASE_DEPRECATED_AT = "@1760400000"  # 2025-10-14T00:00:00Z

# Sub-objects that the flat API carried whole (as one JSON value) instead of field by field.
OPAQUE_IN_BASE = frozenset({"workload_identity_federation_metadata"})


def _submodel(annotation: Any) -> type[ConfigModel] | None:
    """The config sub-model a field holds, if any (``X | None`` unwrapped)."""
    candidates = get_args(annotation) if get_origin(annotation) is not None else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, ConfigModel):
            return candidate
    return None


def _field_key(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    return field.alias or name


def flatten(
    model: type[VendorConfig], public: Mapping[str, Any], renames: Mapping[str, str]
) -> dict[str, Any]:
    """Vendor-shaped → flat: every leaf of every sub-object is lifted to the top."""
    flat: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], node_model: type[BaseModel]) -> None:
        for name in node_model.model_fields:
            key = _field_key(node_model, name)
            if key not in node:
                continue
            sub = _submodel(node_model.model_fields[name].annotation)
            value = node[key]
            if sub is not None and key not in OPAQUE_IN_BASE and isinstance(value, Mapping):
                walk(value, sub)
            else:
                flat.setdefault(renames.get(key, key), value)

    walk(public, model)
    return flat


def base_field_names(model: type[VendorConfig], renames: Mapping[str, str]) -> set[str]:
    """Every flat field name a vendor accepts in the base version."""
    names: set[str] = set()

    def walk(node_model: type[BaseModel]) -> None:
        for name in node_model.model_fields:
            key = _field_key(node_model, name)
            sub = _submodel(node_model.model_fields[name].annotation)
            if sub is not None and key not in OPAQUE_IN_BASE:
                walk(sub)
            else:
                names.add(renames.get(key, key))

    walk(model)
    return names


def nest(
    model: type[VendorConfig], flat: Mapping[str, Any], renames: Mapping[str, str]
) -> dict[str, Any]:
    """Flat → vendor-shaped: each field goes where the vendor model has it.

    A flat field can fit several sub-objects (``bucket_name`` in both ``bucket_s3`` and
    ``bucket_gcs``); the vendor's selectors (``auth_method``, ``bucket_vendor``…) keep only the
    chosen one. The base API let clients omit ``auth_method``: the vendor's first method is
    assumed, as the SDK's forms do.
    """

    def build(node_model: type[BaseModel]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        selectors: Mapping[str, Mapping[Any, str | None]] = getattr(node_model, "selectors", {})
        for name in node_model.model_fields:
            key = _field_key(node_model, name)
            sub = _submodel(node_model.model_fields[name].annotation)
            if sub is not None and key not in OPAQUE_IN_BASE:
                built = build(sub)
                if built:
                    out[key] = built
            elif renames.get(key, key) in flat:
                out[key] = flat[renames.get(key, key)]
        for selector, choices in selectors.items():
            if selector not in out and choices:
                out[selector] = False if set(choices) == {True, False} else next(iter(choices))
            chosen = choices.get(out[selector])
            for option in choices.values():
                if option is not None and option != chosen:
                    out.pop(option, None)
        return out

    return build(model)


def base_location(loc: tuple[int | str, ...], renames: Mapping[str, str]) -> tuple[int | str, ...]:
    """Where a canonical validation error sits in a flat (base) request: its leaf name."""
    for part in reversed(loc):
        if isinstance(part, str):
            return (renames.get(part, part),)
    return ()
