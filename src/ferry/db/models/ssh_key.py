"""SSH key pairs Ferry generates for SFTP and SSH tunnels; the private half never leaves."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, utcnow


class SshKey(IdMixin, Base):
    __tablename__ = "ssh_key"

    # The environment that first used the key in a destination; no other may use it after.
    environment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    public_key: Mapped[str] = mapped_column(String(1024), unique=True)
    public_key_pkcs8: Mapped[str] = mapped_column(Text)
    sealed_private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
