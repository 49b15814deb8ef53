"""scoped tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:20:36.822082+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ferry.db.base import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scoped_token",
        sa.Column("jti", sa.Uuid(), nullable=False),
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("origin", sa.String(length=2048), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_scoped_token_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipient.id"],
            name=op.f("fk_scoped_token_recipient_id_recipient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_scoped_token")),
    )
    with op.batch_alter_table("scoped_token", schema=None) as batch_op:
        batch_op.create_index("ix_scoped_token_origin", ["origin", "expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scoped_token", schema=None) as batch_op:
        batch_op.drop_index("ix_scoped_token_origin")

    op.drop_table("scoped_token")
