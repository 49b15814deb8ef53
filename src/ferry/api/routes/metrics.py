"""``GET /metrics``: Prometheus metrics (see ``ferry.metrics``).

No API key: a scraper belongs to the operator, not to an organization. Operators keep the path
off the public internet, or set ``FERRY_METRICS_TOKEN`` to require ``Authorization: Bearer``;
``FERRY_METRICS_ENABLED=false`` removes it. Not part of the API: no envelope on success, and no
place in the OpenAPI documents.
"""

from __future__ import annotations

import hmac
import threading

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from ferry import metrics
from ferry.errors import NotFound, Unauthorized
from ferry.settings import Settings

router = APIRouter(include_in_schema=False)
_registry_lock = threading.Lock()


def _registry(request: Request) -> CollectorRegistry:
    state = request.app.state
    with _registry_lock:
        found: CollectorRegistry | None = getattr(state, "metrics_registry", None)
        if found is None:
            found = state.metrics_registry = metrics.registry(state.sessionmaker, state.settings)
    return found


def _authorize(request: Request, settings: Settings) -> None:
    if not settings.metrics_enabled:
        raise NotFound(f"no such route: {request.method} {request.url.path}")
    if settings.metrics_token is None or not settings.metrics_token.get_secret_value():
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise Unauthorized("metrics: send the FERRY_METRICS_TOKEN as Authorization: Bearer")


@router.get("/metrics")
def scrape(request: Request) -> Response:
    """The text exposition format, or OpenMetrics when the scraper asks for it."""
    settings: Settings = request.app.state.settings
    _authorize(request, settings)
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(_registry(request)), media_type=content_type)
