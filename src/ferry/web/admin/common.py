"""What every Admin UI page shares: the route class, the signed-in operator, rendering with
the layout's context, list pages and display helpers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ferry import __version__
from ferry.api.deps import DbSession
from ferry.api.envelope import failure
from ferry.api.pagination import Cursor, Page, PageParams, fetch_page
from ferry.db.models import Transfer
from ferry.scope import Scope
from ferry.services import organizations
from ferry.settings import Settings
from ferry.web.admin import session as sessions
from ferry.web.admin.session import LoginRequired, RequestRefused, SessionData
from ferry.web.pages import FormData, PageRoute, failed_page, read_form, render, templates

PAGE_SIZE = 25
LOGIN_PATH = sessions.PATH + "/login"
STATUS_LABELS = {
    "PENDING": "Pending",
    "RUNNING": "Running",
    "SUCCESS": "Succeeded",
    "PARTIAL_FAILURE": "Partly failed",
    "ERROR": "Failed",
    "CANCELLED": "Cancelled",
    "EXPIRED": "Expired",
    "ORPHANED": "Orphaned",
}
# What a page says after the POST that led to it (``?done=…``): fixed texts, never echoed input.
NOTICES = {
    "source-added": "Source added.",
    "source-saved": "Source saved.",
    "model-added": "Model added.",
    "recipient-added": "Recipient added.",
    "destination-added": "Destination added.",
    "destination-saved": "Destination saved.",
    "enabled": "Destination enabled: it transfers on its schedule again.",
    "disabled": "Destination disabled: no transfer starts on its schedule.",
    "started": "Transfer started.",
    "already-running": "A transfer of this destination is already in progress; here it is.",
    "cancelled": "Transfer cancelled.",
    "cancel-requested": "Cancellation requested: the transfer stops at its next checkpoint.",
}


def login_url(next_path: str | None) -> str:
    if not next_path or next_path == sessions.PATH:
        return LOGIN_PATH
    return f"{LOGIN_PATH}?{urlencode({'next': next_path})}"


class _SessionAware(APIRoute):
    """Turns a missing session into a trip to the sign-in page, a refused POST into a 403
    page, and keeps the session cookie fresh."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def admin_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                if request.method == "GET" and request.headers.get("accept", "").startswith(
                    "application/json"
                ):
                    response = JSONResponse(failure("sign in again"), status_code=401)
                else:
                    response = RedirectResponse(login_url(exc.next_path), status_code=303)
                sessions.clear(request, response)
            except RequestRefused as exc:
                message = f"Ferry refused this request: {exc.reason}. Go back, reload the page and try again."
                response = failed_page(request, 403, "Request refused", message)
            else:
                renewed: SessionData | None = getattr(request.state, "admin_renewed", None)
                if renewed is not None:
                    sessions.store(request, response, renewed)
            # The sign-out form and every other POST must name their origin (see session.py).
            response.headers["Referrer-Policy"] = "same-origin"
            return response

        return admin_handler


class AdminRoute(PageRoute, _SessionAware):
    """A page of the Admin UI (``PageRoute``'s failure pages and headers, plus the session)."""


Posted = Annotated[FormData, Depends(read_form)]


@dataclass(frozen=True)
class Admin:
    """The signed-in operator: the environment its API key opens, and the session."""

    request: Request
    scope: Scope
    session: SessionData
    form: FormData

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings

    @property
    def base_url(self) -> str:
        return self.settings.public_url or f"{self.request.url.scheme}://{self.request.url.netloc}"

    def value(self, name: str, default: str = "") -> str:
        """The last value the submitted form holds for ``name``."""
        return (self.form.get(name) or [default])[-1]

    def values(self, name: str) -> list[str]:
        return list(self.form.get(name) or [])

    def page(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        section: str,
        status_code: int = 200,
    ) -> Response:
        full = {
            "admin": self.session,
            "csrf_field": sessions.CSRF_FIELD,
            "section": section,
            "version": __version__,
            "status_labels": STATUS_LABELS,
            "notice": NOTICES.get(self.request.query_params.get("done", "")),
            **context,
        }
        return render(template, full, status_code=status_code)


def current_admin(request: Request, session: DbSession, form: Posted) -> Admin:
    """The operator of a request, or LoginRequired; a POST must also carry the session's CSRF
    token and come from one of this server's pages."""
    data = sessions.read(request)
    back = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    next_path = back if request.method == "GET" else None
    if data is None or data.key_id is None:
        raise LoginRequired(next_path)
    scope = organizations.scope_for_key_id(session, key_id=data.key_id)
    if scope is None:
        raise LoginRequired(next_path)
    if request.method != "GET":
        sessions.check_same_origin(request)
        sessions.check_csrf(data, form.get(sessions.CSRF_FIELD))
    request.state.admin_renewed = sessions.touched(data)
    return Admin(request, scope, data, form)


CurrentAdmin = Annotated[Admin, Depends(current_admin)]


def see_other(path: str, **query: str) -> RedirectResponse:
    """After a successful POST: the next page, by GET (a reload does not post again)."""
    shown = {k: v for k, v in query.items() if v}
    return RedirectResponse(path + (f"?{urlencode(shown)}" if shown else ""), status_code=303)


def page_of(
    session: Session,
    stmt: Select[Any],
    *,
    sort: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[Any],
    cursor: str | None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of a list, newest first, after ``cursor`` (the API's keyset pagination)."""
    params = PageParams(size, "desc", Cursor.decode(cursor) if cursor else None)
    return fetch_page(session, stmt, sort=sort, key=key, params=params)


def next_link(request: Request, page: Page) -> str | None:
    if page.next_cursor is None:
        return None
    query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    query["cursor"] = page.next_cursor.encode()
    return f"{request.url.path}?{urlencode(query)}"


def when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def duration(transfer: Transfer) -> str:
    start = transfer.started_at
    if start is None:
        return "—"
    end = transfer.ended_at
    if end is None:
        return "running"
    return seconds_text((end - start).total_seconds())


def seconds_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


templates.filters["when"] = when
templates.filters["number"] = number
templates.globals["duration"] = duration
