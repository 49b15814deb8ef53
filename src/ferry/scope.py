"""Who is asking, and in which data plane: passed to every service call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """One organization environment, and the actor acting in it.

    ``recipient_id`` is set for a recipient's scoped token: such a caller sees only that
    recipient's objects.
    """

    organization_id: uuid.UUID
    environment_id: uuid.UUID
    environment: str
    actor_type: str
    actor_id: str | None
    recipient_id: uuid.UUID | None = None
    # A scoped token's binding: the digest of the destination details it was minted for (None:
    # a read-only token) and the application origin it belongs to.
    destination_digest: str | None = None
    origin: str | None = None

    @property
    def is_recipient(self) -> bool:
        return self.recipient_id is not None
