"""PostgreSQL and Aurora PostgreSQL destinations."""

from __future__ import annotations

from pydantic import Field

from ferry.connectors.base import DestinationConnector
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.postgres import PostgresConnection
from ferry.fields import Short


class PostgresDestinationConfig(PostgresConnection):
    """A PostgreSQL schema to write to."""

    schema_: Short = Field(alias="schema")
    use_ssh_tunnel: bool


class PostgresFamilyDestination(DestinationConnector):
    """A PostgreSQL-compatible destination."""

    config_model = PostgresDestinationConfig
    target_fields = ("host", "port", "database", "schema")


@register_destination
class PostgresDestination(PostgresFamilyDestination):
    """PostgreSQL."""

    vendor = "postgres"
    display_name = "PostgreSQL"


@register_destination
class AuroraPostgresDestination(PostgresFamilyDestination):
    """Amazon Aurora PostgreSQL."""

    vendor = "aurora_postgres"
    display_name = "Aurora PostgreSQL"
