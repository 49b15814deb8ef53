"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:41:35.378002+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ferry.db.base import JSONDoc, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("name", name=op.f("uq_organization_name")),
    )
    op.create_table(
        "environment",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("allowed_origins", JSONDoc, nullable=False),
        sa.Column("settings", JSONDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_environment_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environment")),
        sa.UniqueConstraint(
            "organization_id", "kind", name=op.f("uq_environment_organization_id_kind")
        ),
    )
    op.create_table(
        "api_key",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_api_key_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_key_environment_id"), ["environment_id"], unique=False
        )

    op.create_table(
        "event_log",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("object", JSONDoc, nullable=True),
        sa.Column("previous_object", JSONDoc, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_event_log_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_log")),
    )
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_log_page", ["environment_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_event_log_type", ["environment_id", "event_type", "created_at", "id"], unique=False
        )

    op.create_table(
        "product",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("models", JSONDoc, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_product_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint(
            "environment_id", "product_name", name=op.f("uq_product_environment_id_product_name")
        ),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_page", ["environment_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "recipient",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("id_in_provider_system", sa.String(length=255), nullable=False),
        sa.Column("products", JSONDoc, nullable=False),
        sa.Column("schema", sa.String(length=255), nullable=True),
        sa.Column("default_full_refresh_min_start_time_epoch", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_recipient_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipient")),
        sa.UniqueConstraint(
            "environment_id",
            "id_in_provider_system",
            name=op.f("uq_recipient_environment_id_id_in_provider_system"),
        ),
    )
    with op.batch_alter_table("recipient", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recipient_page", ["environment_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "source",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("config", JSONDoc, nullable=False),
        sa.Column("sealed_secrets", sa.Text(), nullable=True),
        sa.Column("is_reachable", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_source_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        sa.UniqueConstraint("environment_id", "name", name=op.f("uq_source_environment_id_name")),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index(
            "ix_source_page", ["environment_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "webhook",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("api_version", sa.String(length=16), nullable=False),
        sa.Column("events", JSONDoc, nullable=False),
        sa.Column("sealed_secrets", sa.Text(), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_webhook_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_page", ["environment_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "data_model",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=255), nullable=False),
        sa.Column("config", JSONDoc, nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("revision_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_data_model_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_data_model_source_id_source"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_model")),
        sa.UniqueConstraint(
            "environment_id", "model_name", name=op.f("uq_data_model_environment_id_model_name")
        ),
    )
    with op.batch_alter_table("data_model", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_model_page", ["environment_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "destination",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("config", JSONDoc, nullable=False),
        sa.Column("sealed_secrets", sa.Text(), nullable=True),
        sa.Column("target_key", sa.String(length=64), nullable=False),
        sa.Column("products", JSONDoc, nullable=True),
        sa.Column("enabled_models", JSONDoc, nullable=False),
        sa.Column("frequency_minutes", sa.Integer(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("max_concurrent_transfers", sa.Integer(), nullable=False),
        sa.Column("max_concurrent_queries_per_transfer", sa.Integer(), nullable=False),
        sa.Column("last_successful_transfer_ended_at", UTCDateTime(), nullable=True),
        sa.Column("last_completed_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_destination_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipient.id"],
            name=op.f("fk_destination_recipient_id_recipient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destination")),
    )
    with op.batch_alter_table("destination", schema=None) as batch_op:
        batch_op.create_index(
            "ix_destination_page", ["environment_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_destination_recipient", ["recipient_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_destination_target", ["environment_id", "target_key"], unique=False
        )

    op.create_table(
        "recipient_source_credential",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("sealed_secrets", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_recipient_source_credential_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipient.id"],
            name=op.f("fk_recipient_source_credential_recipient_id_recipient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_recipient_source_credential_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipient_source_credential")),
        sa.UniqueConstraint(
            "recipient_id",
            "source_id",
            name=op.f("uq_recipient_source_credential_recipient_id_source_id"),
        ),
    )
    with op.batch_alter_table("recipient_source_credential", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recipient_source_credential_page",
            ["environment_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "magic_link",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("prefill", JSONDoc, nullable=False),
        sa.Column("products", JSONDoc, nullable=False),
        sa.Column("set_destination_enabled", sa.Boolean(), nullable=False),
        sa.Column("redirect_url", sa.String(length=2048), nullable=True),
        sa.Column("has_been_used", sa.Boolean(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("destination_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
            name=op.f("fk_magic_link_destination_id_destination"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_magic_link_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipient.id"],
            name=op.f("fk_magic_link_recipient_id_recipient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_magic_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_magic_link_token_hash")),
    )
    with op.batch_alter_table("magic_link", schema=None) as batch_op:
        batch_op.create_index(
            "ix_magic_link_page", ["environment_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "transfer",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("destination_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("is_full_refresh", sa.Boolean(), nullable=False),
        sa.Column("is_debug_mode", sa.Boolean(), nullable=False),
        sa.Column("models", JSONDoc, nullable=False),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("start_transfer_window_at", UTCDateTime(), nullable=True),
        sa.Column("end_transfer_window_at", UTCDateTime(), nullable=True),
        sa.Column("rows_transferred", sa.BigInteger(), nullable=False),
        sa.Column("delta_rows_transferred", sa.BigInteger(), nullable=False),
        sa.Column("volume_transferred_in_mb", sa.Float(), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("actor_type", sa.String(length=32), nullable=True),
        sa.Column("source_ids", JSONDoc, nullable=False),
        sa.Column("model_metrics", JSONDoc, nullable=False),
        sa.Column("models_snapshot", JSONDoc, nullable=False),
        sa.Column("error", JSONDoc, nullable=True),
        sa.Column("cancel_requested_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destination.id"],
            name=op.f("fk_transfer_destination_id_destination"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environment.id"],
            name=op.f("fk_transfer_environment_id_environment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
    )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transfer_destination_page", ["destination_id", "submitted_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_transfer_destination_status", ["destination_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_transfer_page", ["environment_id", "submitted_at", "id"], unique=False
        )

    # destination <-> transfer reference each other: this key can only come once both exist.
    with op.batch_alter_table("destination", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_destination_last_completed_transfer_id_transfer"),
            "transfer",
            ["last_completed_transfer_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("destination", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_destination_last_completed_transfer_id_transfer"), type_="foreignkey"
        )

    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_index("ix_transfer_page")
        batch_op.drop_index("ix_transfer_destination_status")
        batch_op.drop_index("ix_transfer_destination_page")

    op.drop_table("transfer")
    with op.batch_alter_table("magic_link", schema=None) as batch_op:
        batch_op.drop_index("ix_magic_link_page")

    op.drop_table("magic_link")
    with op.batch_alter_table("recipient_source_credential", schema=None) as batch_op:
        batch_op.drop_index("ix_recipient_source_credential_page")

    op.drop_table("recipient_source_credential")
    with op.batch_alter_table("destination", schema=None) as batch_op:
        batch_op.drop_index("ix_destination_target")
        batch_op.drop_index("ix_destination_recipient")
        batch_op.drop_index("ix_destination_page")

    op.drop_table("destination")
    with op.batch_alter_table("data_model", schema=None) as batch_op:
        batch_op.drop_index("ix_data_model_page")

    op.drop_table("data_model")
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_page")

    op.drop_table("webhook")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index("ix_source_page")

    op.drop_table("source")
    with op.batch_alter_table("recipient", schema=None) as batch_op:
        batch_op.drop_index("ix_recipient_page")

    op.drop_table("recipient")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index("ix_product_page")

    op.drop_table("product")
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.drop_index("ix_event_log_type")
        batch_op.drop_index("ix_event_log_page")

    op.drop_table("event_log")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_environment_id"))

    op.drop_table("api_key")
    op.drop_table("environment")
    op.drop_table("organization")
