"""Sealing credentials with the settings' secret key, from within a unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ferry import crypto
from ferry.settings import Settings


def settings_of(session: Session) -> Settings:
    settings = session.info.get("settings")
    if not isinstance(settings, Settings):
        raise RuntimeError("session was not made by ferry.db.engine.make_sessionmaker")
    return settings


def seal(session: Session, secrets: dict[str, Any]) -> str | None:
    return crypto.sealer(settings_of(session)).seal(secrets) if secrets else None


def unseal(session: Session, sealed: str | None) -> dict[str, Any]:
    return unseal_with(crypto.sealer(settings_of(session)), sealed)


def unseal_with(sealer: crypto.Sealer, sealed: str | None) -> dict[str, Any]:
    if not sealed:
        return {}
    opened = sealer.open(sealed)
    return opened if isinstance(opened, dict) else {}
