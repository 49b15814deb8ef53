"""The Admin UI's sign-in: a sealed session cookie, its CSRF token and the same-origin rule.

The cookie (``ferry_admin``) holds, sealed with ``FERRY_SECRET_KEY``: the id of the API key
the operator signed in with (never the key), when the session began and was last used, and
the session's CSRF token. A session ends after :data:`IDLE` without use; every request
re-reads the key, so revoking it ends its sessions at once. Before sign-in the cookie holds
only a CSRF token, which the sign-in form carries.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

from ferry import crypto
from ferry.db.base import utcnow
from ferry.errors import ConfigurationError
from ferry.settings import Settings

COOKIE = "ferry_admin"
PATH = "/admin"
IDLE = timedelta(hours=8)
# Renewing the cookie on every request would rewrite it on each poll; once a minute is enough.
RENEW_AFTER = timedelta(minutes=1)
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No usable session: the person is sent to sign in, then back to ``next_path``."""

    def __init__(self, next_path: str | None) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


class RequestRefused(Exception):
    """A POST that did not come from one of this server's own pages (403)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SessionData:
    csrf: str
    key_id: uuid.UUID | None = None
    organization: str = ""
    environment: str = ""
    key_hint: str = ""
    issued_at: datetime | None = None
    seen_at: datetime | None = None

    @property
    def signed_in(self) -> bool:
        return self.key_id is not None

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"csrf": self.csrf}
        if self.key_id is not None and self.issued_at and self.seen_at:
            payload |= {
                "key": str(self.key_id),
                "org": self.organization,
                "env": self.environment,
                "hint": self.key_hint,
                "iat": int(self.issued_at.timestamp()),
                "seen": int(self.seen_at.timestamp()),
            }
        return payload

    @classmethod
    def from_payload(cls, payload: Any) -> SessionData | None:
        if not isinstance(payload, dict) or not isinstance(payload.get("csrf"), str):
            return None
        if "key" not in payload:
            return cls(csrf=payload["csrf"])
        try:
            return cls(
                csrf=payload["csrf"],
                key_id=uuid.UUID(str(payload["key"])),
                organization=str(payload["org"]),
                environment=str(payload["env"]),
                key_hint=str(payload["hint"]),
                issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
                seen_at=datetime.fromtimestamp(int(payload["seen"]), UTC),
            )
        except (KeyError, TypeError, ValueError):
            return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def anonymous() -> SessionData:
    return SessionData(csrf=new_token())


def signed_in(*, key_id: uuid.UUID, organization: str, environment: str, hint: str) -> SessionData:
    """A new session: a fresh CSRF token, so none from before sign-in stays valid."""
    now = utcnow()
    return SessionData(
        csrf=new_token(),
        key_id=key_id,
        organization=organization,
        environment=environment,
        key_hint=hint,
        issued_at=now,
        seen_at=now,
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def read(request: Request) -> SessionData | None:
    """The request's session, or None (no cookie, not ours, or idle too long)."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return None
    try:
        payload = crypto.sealer(_settings(request)).open(raw)
    except (ConfigurationError, ValueError):
        return None
    data = SessionData.from_payload(payload)
    if data is None:
        return None
    if data.signed_in and (data.seen_at is None or utcnow() - data.seen_at > IDLE):
        return SessionData(csrf=data.csrf)
    return data


def touched(data: SessionData) -> SessionData | None:
    """The session with its idle clock reset, when it is due for renewal (else None)."""
    now = utcnow()
    if not data.signed_in or data.seen_at is None or now - data.seen_at < RENEW_AFTER:
        return None
    return SessionData(
        csrf=data.csrf,
        key_id=data.key_id,
        organization=data.organization,
        environment=data.environment,
        key_hint=data.key_hint,
        issued_at=data.issued_at,
        seen_at=now,
    )


def _secure(request: Request) -> bool:
    """Whether the cookie is for https only: served over https, or behind a proxy that
    terminates it (``FERRY_PUBLIC_URL`` says https)."""
    public = _settings(request).public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def store(request: Request, response: Response, data: SessionData) -> None:
    """Set the cookie: HttpOnly, SameSite=Lax, only under /admin, Secure over https."""
    value = crypto.sealer(_settings(request)).seal(data.as_payload())
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(IDLE.total_seconds()),
        path=PATH,
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )


def clear(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, secure=_secure(request), httponly=True, samesite="lax"
    )


def own_origins(request: Request) -> set[str]:
    """The origins this server's pages are served from."""
    origins = {f"{request.url.scheme}://{request.url.netloc}".lower()}
    public = _settings(request).public_url
    if public:
        parts = urlsplit(public)
        if parts.scheme and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origins


def check_same_origin(request: Request) -> None:
    """A POST must say it comes from one of our own pages: ``Origin``, else ``Referer``."""
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        raise RequestRefused("the form was sent from another site")
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            raise RequestRefused("the request did not say which page it came from")
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin.lower() not in own_origins(request):
        raise RequestRefused("the form was sent from another site")


def check_csrf(data: SessionData, sent: list[str] | None) -> None:
    token = (sent or [""])[-1]
    if not token or not crypto.constant_time_equal(token, data.csrf):
        raise RequestRefused("the form's security token is missing or out of date")


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a path of the Admin UI, nothing else."""
    if not value or len(value) > 2048 or any(c in value for c in "\\\r\n\t\x00"):
        return PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/"):
        return PATH
    if parts.path != PATH and not parts.path.startswith(PATH + "/"):
        return PATH
    if ".." in parts.path.split("/"):
        return PATH
    return value
