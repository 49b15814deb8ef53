"""destination placement

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:12:40.118204+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ferry.connectors import registry
from ferry.db.base import JSONDoc

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("destination") as batch:
        batch.add_column(sa.Column("placement_key", sa.String(length=64), nullable=True))
        batch.create_index(
            "ix_destination_placement", ["environment_id", "placement_key"], unique=False
        )
    # The key is a digest of the public config, which the row holds in clear.
    destination = sa.table(
        "destination",
        sa.column("id", sa.Uuid()),
        sa.column("vendor", sa.String()),
        sa.column("config", JSONDoc),
        sa.column("placement_key", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(destination.c.id, destination.c.vendor, destination.c.config)
    )
    for ident, vendor, config in rows.all():
        try:
            key = registry.destination_class(vendor).placement_key(config)
        except Exception:  # a vendor this build no longer knows: no grouping for it
            key = None
        if key is not None:
            connection.execute(
                destination.update().where(destination.c.id == ident).values(placement_key=key)
            )


def downgrade() -> None:
    with op.batch_alter_table("destination") as batch:
        batch.drop_index("ix_destination_placement")
        batch.drop_column("placement_key")
