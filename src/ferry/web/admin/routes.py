"""Every router of the Admin UI, in the order the app includes them."""

from __future__ import annotations

from ferry.web.admin import auth, catalogue, destinations, overview, recipients, sources, transfers

# Fixed paths (``/new``) come before the ``/{id}`` paths that would otherwise match them.
ROUTERS = (
    auth.router,
    overview.router,
    sources.router,
    catalogue.router,
    recipients.router,
    destinations.router,
    transfers.router,
)
