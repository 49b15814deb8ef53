"""transfer runtime

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:07:12.983586+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ferry.db.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ssh_key",
        sa.Column("environment_id", sa.Uuid(), nullable=True),
        sa.Column("public_key", sa.String(length=1024), nullable=False),
        sa.Column("public_key_pkcs8", sa.Text(), nullable=False),
        sa.Column("sealed_private_key", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_ssh_key_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ssh_key")),
        sa.UniqueConstraint("public_key", name=op.f("uq_ssh_key_public_key")),
    )
    op.create_table(
        "watermark",
        sa.Column("destination_id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
            name=op.f("fk_watermark_destination_id_destination"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("destination_id", "model_name", name=op.f("pk_watermark")),
    )
    with op.batch_alter_table("destination", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_holder", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_scheduled_at", UTCDateTime(), nullable=True))

    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("retry_of_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_transfer_status_submitted", ["status", "submitted_at"], unique=False
        )
        batch_op.create_index(
            "uq_transfer_active_destination",
            ["destination_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('PENDING', 'RUNNING')"),
            sqlite_where=sa.text("status IN ('PENDING', 'RUNNING')"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_transfer_retry_of_id_transfer"),
            "transfer",
            ["retry_of_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_transfer_retry_of_id_transfer"), type_="foreignkey")
        batch_op.drop_index(
            "uq_transfer_active_destination",
            postgresql_where=sa.text("status IN ('PENDING', 'RUNNING')"),
            sqlite_where=sa.text("status IN ('PENDING', 'RUNNING')"),
        )
        batch_op.drop_index("ix_transfer_status_submitted")
        batch_op.drop_column("retry_of_id")
        batch_op.drop_column("attempt")
        batch_op.drop_column("worker")
        batch_op.drop_column("heartbeat_at")

    with op.batch_alter_table("destination", schema=None) as batch_op:
        batch_op.drop_column("last_scheduled_at")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_holder")

    op.drop_table("watermark")
    op.drop_table("ssh_key")
