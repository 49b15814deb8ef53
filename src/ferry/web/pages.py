"""Server-rendered pages: templates, static files and the headers every page is sent with."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Coroutine, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException

from ferry.api.envelope import failure
from ferry.errors import FerryError, InvalidInput

log = structlog.get_logger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/static/"
_MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_ASSET_NAME = re.compile(r"^[a-z0-9-]+\.(css|js)$")
# A CSP host source: a scheme, a host and maybe a port; nothing that could end the directive.
_CSP_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
MAX_FORM_FIELDS = 500

FormData = dict[str, list[str]]

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@cache
def _fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """The URL of a static file, versioned by its content so browsers may cache it."""
    return f"{STATIC_PATH}{name}?v={_fingerprint(name)}"


templates.globals["static_url"] = static_url


def security_headers(form_targets: Iterable[str] = ()) -> dict[str, str]:
    """Headers for a page whose URL is a credential: nothing cached, referred, framed or
    run but this server's own files. ``form_targets`` are origins a form may end up at
    (CSP ``form-action`` also governs the redirect after a submit)."""
    targets = " ".join(["'self'", *(o for o in form_targets if _CSP_ORIGIN.match(o))])
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            f"form-action {targets}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


def wants_html(request: Request) -> bool:
    """Whether a person's browser asks: failures go to it as a page, and to programs (the
    page's own script included) as the API's envelope."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def failed_page(
    request: Request, status_code: int, title: str, message: str, template: str = "error.html"
) -> Response:
    if not wants_html(request):
        return JSONResponse(failure(message), status_code=status_code)
    return render(template, {"title": title, "message": message}, status_code=status_code)


class PageRoute(APIRoute):
    """A route answering people, not programs: failures become pages (or, for the page's own
    scripts, the envelope), and every answer carries :func:`security_headers`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except (FerryError, HTTPException) as exc:
                response = _failed(request, exc)
            except Exception:
                request_id = str(getattr(request.state, "request_id", "-"))
                log.exception("page_error", request_id=request_id, path=request.url.path)
                response = _unexpected(request, request_id)
            for name, value in security_headers().items():
                response.headers.setdefault(name, value)
            return response

        return page_handler


def _failed(request: Request, exc: FerryError | HTTPException) -> Response:
    if isinstance(exc, FerryError):
        status, message = exc.http_status, exc.message
    else:
        status, message = exc.status_code, str(exc.detail)
    if status >= 500:
        request_id = str(getattr(request.state, "request_id", "-"))
        log.error("page_error", request_id=request_id, error=message)
        return _unexpected(request, request_id)
    return failed_page(request, status, "This page cannot be shown", message)


def _unexpected(request: Request, request_id: str) -> Response:
    message = f"Something went wrong on our side. Please try again later (request id {request_id})."
    return failed_page(request, 500, "Something went wrong", message)


async def read_form(request: Request) -> FormData:
    """An ``application/x-www-form-urlencoded`` body, each name with its values in order."""
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body:
        return {}
    if kind != "application/x-www-form-urlencoded":
        raise InvalidInput("the form must be sent as application/x-www-form-urlencoded")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form could not be read") from None
    data: FormData = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


router = APIRouter(include_in_schema=False)


@router.get(STATIC_PATH + "{name}")
def static_file(name: str) -> Response:
    """The pages' stylesheets and scripts (only files of this package's ``static`` folder)."""
    path = STATIC_DIR / name
    if not _ASSET_NAME.match(name) or not path.is_file():
        return JSONResponse(failure(f"no such file: {STATIC_PATH}{name}"), status_code=404)
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
