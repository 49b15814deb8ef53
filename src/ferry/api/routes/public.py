"""Unauthenticated routes the SDK calls before it has any credentials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ferry.api.envelope import ok
from ferry.connectors import registry

router = APIRouter(prefix="/public", tags=["public"])


@router.get("/destination-vendors")
def destination_vendors() -> dict[str, Any]:
    """The vendor picker's options; the array sits directly in ``data`` (spec §4.1)."""
    vendors = [
        {
            "key": cls.vendor,
            "display": cls.display_name,
            "docs": cls.docs_url,
            "icon_url": None,
            "disabled": False,
        }
        for cls in sorted(registry.destinations().values(), key=lambda c: c.display_name.lower())
    ]
    return ok(vendors, f"{len(vendors)} destination vendors")
