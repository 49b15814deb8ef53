"""Responses in the request's API version. Services give canonical views; this module adapts
them (flat vendor fields, singular ``source_id``) for 2022-01-01."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ferry.api.envelope import ok
from ferry.api.pagination import PageParams, fetch_all, fetch_page, next_url
from ferry.api.vendor_configs import render_vendor
from ferry.api.versions import ApiVersion
from ferry.connectors import registry
from ferry.db.models import Destination, Source, Transfer
from ferry.services import destinations as destination_service
from ferry.services.views import source_view, transfer_view

T = TypeVar("T")


def source(item: Source, version: ApiVersion) -> dict[str, Any]:
    return render_vendor(registry.source_class(item.vendor), source_view(item), version)


def transfer_dict(view: dict[str, Any], version: ApiVersion) -> dict[str, Any]:
    if version.is_base:
        # The base Transfer carried one source.
        return view | {"source_id": view["source_ids"][0] if view["source_ids"] else None}
    return view


def transfer(item: Transfer, version: ApiVersion) -> dict[str, Any]:
    return transfer_dict(transfer_view(item), version)


def destination(item: Destination, version: ApiVersion) -> dict[str, Any]:
    view = destination_service.view(item)
    if view["last_completed_transfer"] is not None:
        view["last_completed_transfer"] = transfer_dict(view["last_completed_transfer"], version)
    return render_vendor(registry.destination_class(item.vendor), view, version)


def listing(
    request: Request,
    session: Session,
    stmt: Select[T],
    *,
    name: str,
    sort: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[Any],
    params: PageParams,
    version: ApiVersion,
    render: Callable[[T], dict[str, Any]],
    complete: bool = False,
) -> dict[str, Any]:
    """A list response: cursor-paginated in 2023-12-01, everything at once in 2022-01-01.

    ``complete``: a caller that asks for no page gets every item, with ``has_next`` false. The
    React SDK reads its recipient's destinations, models and products in one response and
    follows no ``next_url``; those lists are a single recipient's, so they stay small.
    """
    asked_for_a_page = any(p in request.query_params for p in ("page_size", "count", "cursor"))
    if complete and not asked_for_a_page and not version.is_base:
        page = fetch_all(session, stmt, sort=sort, key=key, order=params.order)
        return ok(
            {name: _render_all(page.items, render)}, f"{len(page.items)} {name}", has_next=False
        )
    if version.is_base:
        page = fetch_all(session, stmt, sort=sort, key=key, order=params.order)
        return ok({name: _render_all(page.items, render)}, f"{len(page.items)} {name}")
    page = fetch_page(session, stmt, sort=sort, key=key, params=params)
    url = (
        next_url(request, page.next_cursor, request.app.state.settings.public_url)
        if page.next_cursor
        else None
    )
    return ok(
        {name: _render_all(page.items, render)},
        f"{len(page.items)} {name}",
        has_next=page.has_next,
        next_url=url,
    )


def _render_all(items: Iterable[T], render: Callable[[T], dict[str, Any]]) -> list[dict[str, Any]]:
    return [render(item) for item in items]
