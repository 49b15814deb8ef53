"""The public key that verifies webhook signatures (spec §6.1 #60, §9.11, A.7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ferry import webhooks
from ferry.api.deps import DbSession
from ferry.api.envelope import ok
from ferry.services.views import iso

router = APIRouter(prefix="/public/signatures", tags=["public"])


@router.get("/webhook-public-key")
def webhook_public_key(session: DbSession) -> dict[str, Any]:
    """The current signing key as PEM in ``public_key``; ``keys`` lists it first, then keys
    it replaced recently, which may still verify deliveries made before the rotation."""
    keys = webhooks.published(session)
    return ok(
        {
            "public_key": keys[0].public_key,
            "key_id": keys[0].key_id,
            "keys": [
                {"key_id": k.key_id, "public_key": k.public_key, "created_at": iso(k.created_at)}
                for k in keys
            ],
        },
        "webhook signing public key",
    )
