"""Signing in to the Admin UI with an API key, and signing out."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from ferry import __version__
from ferry.api.deps import DbSession
from ferry.db.models import ApiKey, Organization
from ferry.errors import Unauthorized
from ferry.services import organizations
from ferry.web.admin import session as sessions
from ferry.web.admin.common import AdminRoute, CurrentAdmin, Posted, see_other
from ferry.web.pages import render

router = APIRouter(prefix=sessions.PATH, route_class=AdminRoute, include_in_schema=False)

BAD_KEY = "This API key is not valid: check that it is complete and has not been revoked."


def _login_page(
    request: Request,
    data: sessions.SessionData,
    *,
    next_path: str,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "csrf": data.csrf,
        "csrf_field": sessions.CSRF_FIELD,
        "next": next_path,
        "error": error,
        "notice": notice,
        "version": __version__,
    }
    response = render("admin/login.html", context, status_code=status_code)
    sessions.store(request, response, data)
    return response


@router.get("/login")
def login_form(
    request: Request, session: DbSession, next: str | None = None, signed_out: str | None = None
) -> Response:
    next_path = sessions.safe_next(next)
    data = sessions.read(request)
    if (
        data is not None
        and data.key_id is not None
        and organizations.scope_for_key_id(session, key_id=data.key_id) is not None
    ):
        return see_other(next_path)
    fresh = data if data is not None and not data.signed_in else sessions.anonymous()
    notice = "You are signed out." if signed_out else None
    return _login_page(request, fresh, next_path=next_path, notice=notice)


@router.post("/login")
def login(request: Request, session: DbSession, posted: Posted) -> Response:
    sessions.check_same_origin(request)
    next_path = sessions.safe_next((posted.get("next") or [""])[-1])
    data = sessions.read(request)
    if data is None:
        # No cookie came back (it expired, or cookies are off): a new form, not an error page.
        notice = "Your sign-in form had expired. Please enter your API key again."
        return _login_page(
            request, sessions.anonymous(), next_path=next_path, notice=notice, status_code=400
        )
    sessions.check_csrf(data, posted.get(sessions.CSRF_FIELD))
    api_key = (posted.get("api_key") or [""])[-1].strip()
    if not api_key:
        return _login_page(
            request, data, next_path=next_path, error="Enter an API key.", status_code=400
        )
    try:
        scope = organizations.authenticate(session, api_key=api_key)
    except Unauthorized:
        return _login_page(request, data, next_path=next_path, error=BAD_KEY, status_code=401)
    key = session.get_one(ApiKey, uuid.UUID(str(scope.actor_id)))
    organization = session.get_one(Organization, scope.organization_id)
    started = sessions.signed_in(
        key_id=key.id,
        organization=organization.name,
        environment=scope.environment,
        hint=key.hint,
    )
    response = see_other(next_path)
    sessions.store(request, response, started)
    return response


@router.post("/logout")
def logout(request: Request, admin: CurrentAdmin) -> Response:
    del admin  # the dependency checked the session and the form's CSRF token
    request.state.admin_renewed = None
    response = see_other(sessions.PATH + "/login", signed_out="1")
    sessions.clear(request, response)
    return response
