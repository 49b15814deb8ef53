"""Finding one scoped object by id (or by name, where names are unique) or failing with 404."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import LoaderOption

from ferry.db import queries
from ferry.errors import NotFound
from ferry.scope import Scope

T = TypeVar("T", bound=Any)


def as_uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def require(
    session: Session,
    model: type[T],
    *,
    scope: Scope,
    ident: str | uuid.UUID,
    kind: str,
    name_column: str | None = None,
    options: tuple[LoaderOption, ...] = (),
) -> T:
    """The object ``ident`` names in the scope: an id, or a unique name where one exists."""
    stmt = queries.select_in(model, scope=scope).options(*options)
    as_id = as_uuid(ident)
    if as_id is not None:
        found = session.scalar(stmt.where(model.id == as_id))
    elif name_column is not None:
        found = session.scalar(stmt.where(getattr(model, name_column) == str(ident)))
    else:
        found = None
    if found is None:
        raise NotFound.of(kind, ident)
    result: T = found
    return result
