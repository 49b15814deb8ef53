"""Scoped reads. Every query of an environment's objects goes through this package.

Each function takes the caller's ``Scope``: rows of other organizations and environments are
invisible here (an unknown id and another tenant's id are indistinguishable), and a recipient's
scoped token narrows recipient-owned objects further. There is no unscoped ``get(id)``.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Mapped, Session

from ferry.db.models import DataModel, Destination, Product, Recipient
from ferry.scope import Scope

# What a recipient's scoped token may read besides its own objects: the model catalogue.
_CATALOGUE = (DataModel, Product)


class EnvironmentOwned(Protocol):
    environment_id: Mapped[uuid.UUID]
    id: Mapped[uuid.UUID]


T = TypeVar("T", bound=Any)


def select_in(model: type[T], *, scope: Scope) -> Select[T]:
    """All rows of ``model`` visible to ``scope``."""
    stmt = select(model).where(model.environment_id == scope.environment_id)
    recipient_id = scope.recipient_id
    if recipient_id is None or model in _CATALOGUE:
        return stmt
    if model is Recipient:
        return stmt.where(model.id == recipient_id)
    if hasattr(model, "recipient_id"):
        return stmt.where(model.recipient_id == recipient_id)
    if hasattr(model, "destination_id"):
        owned = select(Destination.id).where(Destination.recipient_id == recipient_id)
        return stmt.where(model.destination_id.in_(owned))
    return stmt.where(false())


def get_in(session: Session, model: type[T], *, scope: Scope, ident: uuid.UUID) -> T | None:
    found: T | None = session.scalar(select_in(model, scope=scope).where(model.id == ident))
    return found
