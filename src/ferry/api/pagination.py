"""Cursor pagination of the 2023-12-01 API (spec §5), as keyset queries.

A cursor is standard base64 of compact JSON ``{"id", "last_seen_sort_value"}``, percent-encoded in
``next_url``. Pages are fetched with ``WHERE (sort, id) < (last sort, last id)`` on an index of
``(scope, sort, id)``: page 10,000 costs what page 1 costs. No OFFSET anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import Request
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from ferry.errors import InvalidInput

MAX_PAGE_SIZE = 100
MAX_CURSOR_LENGTH = 512
CURSOR_YEARS = (1970, 9000)
DEFAULT_PAGE_SIZE = 10


@dataclass(frozen=True, slots=True)
class Cursor:
    id: uuid.UUID
    sort_value: datetime

    def encode(self) -> str:
        payload = {"id": str(self.id), "last_seen_sort_value": format_sort_value(self.sort_value)}
        return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        refused = InvalidInput(
            "cursor: is not a cursor this API issued; follow next_url as returned"
        )
        # Cursors Ferry issues are ~120 characters; anything far longer is not one of them.
        if len(raw) > MAX_CURSOR_LENGTH:
            raise refused
        try:
            payload = json.loads(base64.b64decode(raw, validate=True))
            if not isinstance(payload, dict):
                raise refused
            cursor_id = uuid.UUID(str(payload["id"]))
            sort_value = datetime.fromisoformat(str(payload["last_seen_sort_value"]))
        except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
            raise refused from None
        if sort_value.tzinfo is None:
            sort_value = sort_value.replace(tzinfo=UTC)
        # Sort values are creation times: a cursor far outside them was not made here (and
        # would overflow some databases' date arithmetic).
        if not CURSOR_YEARS[0] <= sort_value.year <= CURSOR_YEARS[1]:
            raise refused
        return cls(cursor_id, sort_value)


def format_sort_value(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class PageParams:
    page_size: int
    order: Literal["asc", "desc"]
    cursor: Cursor | None


def page_params(request: Request) -> PageParams:
    """Read ``page_size`` (or the legacy ``count``), ``order`` and ``cursor`` from the query."""
    query = request.query_params
    raw_size = query.get("page_size", query.get("count"))
    if raw_size is None or raw_size == "":
        size = DEFAULT_PAGE_SIZE
    else:
        name = "page_size" if "page_size" in query else "count"
        # ASCII digits only: str.isdigit() also accepts characters such as "²".
        if not re.fullmatch(r"[0-9]{1,4}", raw_size.strip()) or not (
            1 <= int(raw_size) <= MAX_PAGE_SIZE
        ):
            raise InvalidInput(f"{name}: must be an integer from 1 to {MAX_PAGE_SIZE}")
        size = int(raw_size)
    order = query.get("order", "desc") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidInput("order: must be 'asc' or 'desc'")
    raw_cursor = query.get("cursor")
    cursor = Cursor.decode(raw_cursor) if raw_cursor else None
    return PageParams(size, "asc" if order == "asc" else "desc", cursor)


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Any]
    next_cursor: Cursor | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def fetch_page(
    session: Session,
    stmt: Select[Any],
    *,
    sort: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[Any],
    params: PageParams,
) -> Page:
    """One page of ``stmt`` ordered by (sort, key), after the cursor when there is one."""
    descending = params.order == "desc"
    if params.cursor is not None:
        last_sort, last_key = params.cursor.sort_value, params.cursor.id
        if descending:
            stmt = stmt.where(or_(sort < last_sort, and_(sort == last_sort, key < last_key)))
        else:
            stmt = stmt.where(or_(sort > last_sort, and_(sort == last_sort, key > last_key)))
    ordering = (sort.desc(), key.desc()) if descending else (sort.asc(), key.asc())
    rows = list(session.scalars(stmt.order_by(*ordering).limit(params.page_size + 1)))
    if len(rows) <= params.page_size:
        return Page(rows, None)
    rows = rows[: params.page_size]
    last = rows[-1]
    return Page(rows, Cursor(getattr(last, key.key), getattr(last, sort.key)))


def fetch_all(
    session: Session,
    stmt: Select[Any],
    *,
    sort: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[Any],
    order: Literal["asc", "desc"] = "desc",
) -> Page:
    """Everything, as the 2022-01-01 API returned lists."""
    ordering = (sort.desc(), key.desc()) if order == "desc" else (sort.asc(), key.asc())
    return Page(list(session.scalars(stmt.order_by(*ordering))), None)


def next_url(request: Request, cursor: Cursor, public_url: str | None) -> str:
    """The absolute URL of the next page: same path and parameters, the new cursor."""
    params = [
        (k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "cursor"
    ]
    params.append(("cursor", cursor.encode()))
    path = request.scope.get("state", {}).get("original_path") or request.url.path
    base = public_url or f"{request.url.scheme}://{request.url.netloc}"
    return f"{base}{path}?{urlencode(params, quote_via=quote)}"
