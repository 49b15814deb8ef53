"""CORS for browsers calling the API with a scoped token (the React SDK).

Allowed origins are ``FERRY_CORS_ORIGINS``, each environment's ``allowed_origins`` (see
``/environment``), and the origins live scoped tokens were minted for. A preflight carries no
credentials, so it is answered against all of them; the real request is then held to its
token's own origin when the token is verified. Refused preflights get a 403 envelope and no CORS
headers, so the browser blocks the call.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry.api.envelope import failure, ok
from ferry.db.models import Environment
from ferry.services import tokens
from ferry.settings import Settings

ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-APP-ID, X-Prequel-Api-Version, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, Deprecation, Sunset"
CACHE_SECONDS = 5.0
MISS_REFRESH_SECONDS = 1.0


PUBLIC_PATHS = ("/public/", "/export/public/")
PUBLIC_ACTIONS = frozenset({"/actions/generate-ssh-key", "/export/actions/generate-ssh-key"})


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PATHS) or path in PUBLIC_ACTIONS


def normalize(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def host_of(origin: str) -> str:
    return normalize(origin).split("://", 1)[-1]


class AllowedOrigins:
    """The set of origins browsers may call from, refreshed every few seconds."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.configured = {normalize(o) for o in settings.cors_origins}
        self._loaded_at = 0.0
        self._exact: set[str] = set()
        self._hosts: set[str] = set()
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        with self.sessions() as session:
            lists = session.scalars(select(Environment.allowed_origins)).all()
            granted = tokens.granted_origins(session)
        exact = set(self.configured) | {normalize(o) for row in lists for o in row or []}
        # A token's origin may be written without a scheme ("app.example.co"), as the SDK's
        # X-APP-ID allows: it then stands for that host on any scheme.
        hosts = {host_of(o) for o in granted if "://" not in o}
        exact |= {normalize(o) for o in granted if "://" in o}
        self._exact, self._hosts = exact, hosts

    def __call__(self, origin: str) -> bool:
        with self._lock:
            age = time.monotonic() - self._loaded_at
            if age > CACHE_SECONDS or (age > MISS_REFRESH_SECONDS and not self._holds(origin)):
                # A miss refreshes at once (rate-limited): an origin just allowed works now.
                self._refresh()
                self._loaded_at = time.monotonic()
            return self._holds(origin)

    def _holds(self, origin: str) -> bool:
        return normalize(origin) in self._exact or host_of(origin) in self._hosts


class CorsMiddleware:
    def __init__(self, app: ASGIApp, allowed: Callable[[str], bool]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        # The routes the SDK calls without credentials serve anyone, from any page.
        allowed = is_public(scope["path"]) or self.allowed(origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await _preflight(send, origin, allowed)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        await self.app(scope, receive, with_cors)


async def _preflight(send: Send, origin: str, allowed: bool) -> None:
    if allowed:
        body = json.dumps(ok({}, "preflight accepted")).encode()
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
        ]
        status = 200
    else:
        body = json.dumps(
            failure(
                f"origin {origin} may not call this API from a browser; add "
                "it to the environment's allowed origins"
            )
        ).encode()
        headers, status = [(b"vary", b"Origin")], 403
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
