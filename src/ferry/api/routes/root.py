"""Liveness: ``GET /`` answers 200 for a valid key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ferry import __version__
from ferry.api.deps import ApiScope
from ferry.api.envelope import ok

router = APIRouter(tags=["status"])


@router.get("/")
def liveness(scope: ApiScope) -> dict[str, Any]:
    return ok(
        {
            "organization_id": str(scope.organization_id),
            "environment": scope.environment,
            "version": __version__,
        },
        "Ferry is up",
    )
