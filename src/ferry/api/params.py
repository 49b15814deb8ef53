"""Query-string filters shared by list routes, with errors that name the parameter."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from ferry.errors import InvalidInput
from ferry.fields import utc_datetime

MAX_LIST_ITEMS = 100


def csv_list(value: str | None, *, name: str) -> list[str] | None:
    """``a,b,c`` (repeated parameters are joined by the caller's framework) → list."""
    if value is None or value.strip() == "":
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise InvalidInput(f"{name}: at most {MAX_LIST_ITEMS} values")
    return items


def timestamp(value: str | None, *, name: str) -> datetime | None:
    """RFC 3339, or unix seconds."""
    if value is None or value.strip() == "":
        return None
    raw = value.strip()
    try:
        if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", raw):
            return datetime.fromtimestamp(float(raw), tz=UTC)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return utc_datetime(parsed)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(f"{name}: must be an RFC 3339 date-time or unix seconds") from None


def tag_pairs(value: str | None, *, name: str = "include_tags") -> list[tuple[str, str]] | None:
    """``key.value,key2.value2`` → [(key, value), …]."""
    items = csv_list(value, name=name)
    if items is None:
        return None
    pairs = []
    for item in items:
        key, dot, tag_value = item.partition(".")
        if not dot or not key:
            raise InvalidInput(f"{name}: {item!r} is not a key.value pair")
        pairs.append((key, tag_value))
    return pairs


def uuid_param(value: str | None, *, name: str) -> uuid.UUID | None:
    if value is None or value.strip() == "":
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(f"{name}: must be a UUID") from None
