"""PostgreSQL and Aurora PostgreSQL sources."""

from __future__ import annotations

from ferry.connectors.base import SourceConnector
from ferry.connectors.registry import register_source
from ferry.connectors.shapes.postgres import PostgresConnection


class PostgresFamilySource(SourceConnector):
    """A PostgreSQL-compatible source."""

    config_model = PostgresConnection


@register_source
class PostgresSource(PostgresFamilySource):
    """PostgreSQL."""

    vendor = "postgres"
    display_name = "PostgreSQL"


@register_source
class AuroraPostgresSource(PostgresFamilySource):
    """Amazon Aurora PostgreSQL."""

    vendor = "aurora_postgres"
    display_name = "Aurora PostgreSQL"
