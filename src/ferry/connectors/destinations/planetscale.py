"""The PlanetScale destination.

PlanetScale is MySQL (Vitess), so it takes the MySQL shape.
"""

from __future__ import annotations

from ferry.connectors.destinations.mysql import MySQLFamilyDestination
from ferry.connectors.registry import register_destination


@register_destination
class PlanetScaleDestination(MySQLFamilyDestination):
    """PlanetScale."""

    vendor = "planetscale"
    display_name = "PlanetScale"
