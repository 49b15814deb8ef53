"""The FastAPI application: middleware, error handlers, routes, OpenAPI per version."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ferry import __version__
from ferry.api import handlers
from ferry.api.cors import AllowedOrigins, CorsMiddleware
from ferry.api.middleware import FerryMiddleware
from ferry.api.openapi import build_openapi
from ferry.api.routes import (
    connections,
    credentials,
    destinations,
    environment,
    forms,
    logs,
    magic_links,
    models,
    products,
    public,
    recipients,
    root,
    signatures,
    sources,
    tokens,
    transfers,
    webhooks,
)
from ferry.api.routes import metrics as metrics_route
from ferry.api.versions import ApiVersion
from ferry.logging import configure_once
from ferry.runtime import Runtime
from ferry.settings import Settings
from ferry.web import magic_link as magic_link_page
from ferry.web import pages
from ferry.web.admin.routes import ROUTERS as ADMIN_ROUTERS

ROUTERS = (
    root.router,
    sources.router,
    models.router,
    products.router,
    recipients.router,
    destinations.router,
    transfers.router,
    credentials.router,
    magic_links.router,
    webhooks.router,
    logs.router,
    connections.router,
    tokens.router,
    environment.router,
    public.router,
    signatures.router,
    forms.router,
    pages.router,
    magic_link_page.router,
)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The API; ``runtime`` shares this process's engine and job sender with the app."""
    app = FastAPI(
        title="Ferry", version=__version__, openapi_url=None, docs_url=None, redoc_url=None
    )
    configure_once(settings.log_level)
    runtime = runtime or Runtime.build(settings)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.engine = runtime.engine
    app.state.sessionmaker = runtime.sessions
    app.state.openapi = {}
    for router in ROUTERS:
        app.include_router(router)
    # Not an API resource (no envelope, no API key, no OpenAPI), so not one of ROUTERS.
    app.include_router(metrics_route.router)
    for router in ADMIN_ROUTERS:  # the Admin UI's pages, signed in with a session cookie
        app.include_router(router, include_in_schema=False)
    handlers.install(app)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        version: ApiVersion = request.state.api_version
        document: dict[str, Any] | None = app.state.openapi.get(version)
        if document is None:
            document = app.state.openapi[version] = build_openapi(ROUTERS, version)
        return JSONResponse(document)

    app.add_middleware(FerryMiddleware, settings=settings)
    # Outermost, so that even errors raised before routing carry CORS headers.
    app.add_middleware(CorsMiddleware, allowed=AllowedOrigins(runtime.sessions, settings))
    return app
