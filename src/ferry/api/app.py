"""The FastAPI application: middleware, error handlers, routes, OpenAPI per version."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ferry import __version__
from ferry.api import handlers
from ferry.api.middleware import FerryMiddleware
from ferry.api.openapi import build_openapi
from ferry.api.routes import (
    credentials,
    destinations,
    logs,
    magic_links,
    models,
    products,
    public,
    recipients,
    root,
    sources,
    transfers,
    webhooks,
)
from ferry.api.versions import ApiVersion
from ferry.db.engine import make_engine, make_sessionmaker
from ferry.settings import Settings

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
    public.router,
)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Ferry", version=__version__, openapi_url=None, docs_url=None, redoc_url=None
    )
    engine = make_engine(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine, settings)
    app.state.openapi = {}
    for router in ROUTERS:
        app.include_router(router)
    handlers.install(app)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        version: ApiVersion = request.state.api_version
        document: dict[str, Any] | None = app.state.openapi.get(version)
        if document is None:
            document = app.state.openapi[version] = build_openapi(ROUTERS, version)
        return JSONResponse(document)

    app.add_middleware(FerryMiddleware, settings=settings)
    return app
