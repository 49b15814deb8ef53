"""Models (one exported table each) and products (named sets of models)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ferry.db.base import Base, IdMixin, JSONDoc, TimestampMixin, new_id


class DataModel(IdMixin, TimestampMixin, Base):
    __tablename__ = "data_model"
    __table_args__ = (
        UniqueConstraint("environment_id", "model_name"),
        Index("ix_data_model_page", "environment_id", "created_at", "id"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    model_name: Mapped[str] = mapped_column(String(255))
    # The model configuration exactly as published (columns, source_table, …), minus model_name.
    config: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("source.id", ondelete="SET NULL")
    )
    # A new revision id on every change, reported in transfers' models_snapshot.
    revision_id: Mapped[uuid.UUID] = mapped_column(default=new_id)


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("environment_id", "product_name"),
        Index("ix_product_page", "environment_id", "created_at", "id"),
    )

    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environment.id", ondelete="CASCADE")
    )
    product_name: Mapped[str] = mapped_column(String(255))
    # Model names; "*" stands for every model of the environment.
    models: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
