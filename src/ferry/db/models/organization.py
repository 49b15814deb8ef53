"""Organizations, their two environments (data planes) and the API keys that open them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ferry.db.base import Base, IdMixin, JSONDoc, utcnow


class EnvironmentKind(StrEnum):
    STAGING = "staging"
    PROD = "prod"


class Organization(IdMixin, Base):
    """A provider: the company sharing data with its customers."""

    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    environments: Mapped[list[Environment]] = relationship(
        back_populates="organization", lazy="raise"
    )


class Environment(IdMixin, Base):
    """One data plane of an organization; every resource belongs to exactly one."""

    __tablename__ = "environment"
    __table_args__ = (UniqueConstraint("organization_id", "kind"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    # Browser origins allowed to call the API with a scoped token (CORS, SDK).
    allowed_origins: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="environments", lazy="raise")


class ApiKey(IdMixin, Base):
    """A server-side API key; only its SHA-256 is stored."""

    __tablename__ = "api_key"

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The last four characters, so an operator can tell keys apart without the secret.
    hint: Mapped[str] = mapped_column(String(8))
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    environment: Mapped[Environment] = relationship(lazy="raise")
