"""Request-level concerns handled before routing, as plain ASGI middleware.

- a request id on every request (echoed in ``X-Request-ID`` and in 500 envelopes);
- the API version from ``X-Prequel-Api-Version`` (unknown → 400, retired base → 410), and the
  ``Deprecation``/``Sunset`` headers on base-version responses;
- the 32 MB body limit (413), enforced on the bytes actually received, not just Content-Length;
- ``/export/...`` paths served as aliases of the plain paths;
- the request's log context (``ferry.logging``), one ``http_request`` line per request, and the
  HTTP metrics (``ferry.metrics``) labelled by route template, never by raw path.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry import logging as logs
from ferry import metrics
from ferry.api.envelope import failure
from ferry.api.versions import BASE_DEPRECATED_AT, HEADER, ApiVersion
from ferry.settings import Settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXPORT_PREFIX = "/export"

log = structlog.get_logger(__name__)


async def send_envelope(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(failure(message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class FerryMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises (Starlette's error middleware)

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._http(scope, receive, send_observed)
        except BaseException:
            # The log context stays: Starlette's error handler, outside, logs the traceback.
            _observe(scope, status, started)
            raise
        _observe(scope, status, started)
        logs.end_request()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming_id = headers.get("x-request-id", "")
        request_id = incoming_id if _REQUEST_ID.match(incoming_id) else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        logs.start_request(request_id)
        extra_headers = [(b"x-request-id", request_id.encode())]

        path: str = scope["path"]
        if path == EXPORT_PREFIX or path.startswith(EXPORT_PREFIX + "/"):
            scope = dict(
                scope,
                path=path[len(EXPORT_PREFIX) :] or "/",
                raw_path=(path[len(EXPORT_PREFIX) :] or "/").encode(),
            )
            state["export_alias"] = True
            state["original_path"] = path

        version, problem = self._version(headers.get(HEADER))
        if problem is not None:
            status, message = problem
            await send_envelope(send, status, message, extra_headers)
            return
        state["api_version"] = version
        state["api_version_explicit"] = HEADER in headers
        if version is ApiVersion.BASE:
            extra_headers += [
                (b"deprecation", BASE_DEPRECATED_AT.encode()),
                (b"sunset", self.settings.base_api_sunset.encode()),
            ]

        if scope["method"] in _BODY_METHODS:
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.settings.max_body_bytes:
                await send_envelope(send, 413, self._too_large(), extra_headers)
                return
            body, too_large = await self._read_body(receive)
            if too_large:
                await send_envelope(send, 413, self._too_large(), extra_headers)
                return
            receive = _replay(body, receive)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *extra_headers])
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # The router sets the matched route on the scope it was given (a copy, for an
            # /export alias); the template, not the path, labels the metrics.
            state["route_template"] = getattr(scope.get("route"), "path", None)

    def _version(self, raw: str | None) -> tuple[ApiVersion, tuple[int, str] | None]:
        default = ApiVersion(self.settings.default_api_version)
        if raw is None or raw.strip() == "":
            chosen = default
        else:
            try:
                chosen = ApiVersion(raw.strip())
            except ValueError:
                supported = ", ".join(v.value for v in ApiVersion)
                return default, (
                    400,
                    f"X-Prequel-Api-Version: unknown API version {raw.strip()!r}; "
                    f"supported versions: {supported}",
                )
        if chosen is ApiVersion.BASE and not self.settings.base_api_enabled:
            return default, (
                410,
                "API version 2022-01-01 is retired on this server; "
                "send X-Prequel-Api-Version: 2023-12-01",
            )
        return chosen, None

    def _too_large(self) -> str:
        limit_mb = self.settings.max_body_bytes / (1024 * 1024)
        return f"request body is larger than the {limit_mb:g} MB limit"

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False


def _observe(scope: Scope, status: int, started: float) -> None:
    route = scope.get("state", {}).get("route_template") or metrics.UNMATCHED
    elapsed = time.perf_counter() - started
    metrics.observe_http(scope["method"], route, status, elapsed)
    log.info(
        "http_request",
        method=scope["method"],
        # The template, not the path: paths can hold secrets (a magic link's token).
        route=route,
        status=status,
        duration_ms=round(elapsed * 1000, 1),
    )


def _replay(body: bytes, original: Receive) -> Receive:
    """Hand the buffered body to the app, then pass through (a later disconnect, say)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
