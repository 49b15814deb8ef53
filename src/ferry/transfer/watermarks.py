"""Reading and moving watermarks. A watermark moves only after the destination committed the
rows it covers, so a crash can make Ferry re-read rows (upserts make that harmless) but never
skip one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from ferry.db.base import table
from ferry.db.engine import affected
from ferry.db.models import Watermark

NAIVE_TYPES = frozenset({"timestamp without time zone", "timestamp", "datetime"})

_WATERMARK = table(Watermark)
# Prebuilt (every transfer moves one or more).
_MOVE = (
    update(_WATERMARK)
    .where(
        _WATERMARK.c.destination_id == bindparam("b_destination"),
        _WATERMARK.c.model_name == bindparam("b_model"),
    )
    .values(
        value=bindparam("b_value"),
        source_type=bindparam("b_source_type"),
        transfer_id=bindparam("b_transfer_id"),
    )
)
_FIRST = insert(_WATERMARK).values(
    destination_id=bindparam("b_destination"),
    model_name=bindparam("b_model"),
    value=bindparam("b_value"),
    source_type=bindparam("b_source_type"),
    transfer_id=bindparam("b_transfer_id"),
)


def get(session: Session, *, destination_id: uuid.UUID, model_name: str) -> datetime | None:
    """The watermark as an aware UTC datetime (naive source values are UTC)."""
    row = session.get(Watermark, (destination_id, model_name))
    return parse(row.value if row is not None else None)


def parse(stored: str | None) -> datetime | None:
    """A stored watermark as an aware UTC datetime (naive source values are UTC)."""
    if stored is None:
        return None
    value = datetime.fromisoformat(stored)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def put(
    session: Session,
    *,
    destination_id: uuid.UUID,
    model_name: str,
    value: datetime,
    source_type: str,
    transfer_id: uuid.UUID,
) -> None:
    """Store the watermark in the source column's own terms: microseconds, with an offset only
    for time-zone-aware columns."""
    utc = value.astimezone(UTC)
    naive = source_type.lower() in NAIVE_TYPES
    text = (utc.replace(tzinfo=None) if naive else utc).isoformat(timespec="microseconds")
    values = {
        "b_destination": destination_id,
        "b_model": model_name,
        "b_value": text,
        "b_source_type": source_type,
        "b_transfer_id": transfer_id,
    }
    # One transfer per destination at a time (its lease): no other writer races this pair.
    if affected(session, _MOVE, values) == 0:
        session.execute(_FIRST, values)


def clear(session: Session, *, destination_id: uuid.UUID, model_name: str) -> None:
    row = session.get(Watermark, (destination_id, model_name))
    if row is not None:
        session.delete(row)
        session.flush()
