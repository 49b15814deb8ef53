"""Products: named sets of models that recipients subscribe to."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from ferry.db import queries
from ferry.db.base import table
from ferry.db.models import DataModel, Destination, MagicLink, Product, Recipient
from ferry.errors import Conflict, InvalidInput
from ferry.scope import Scope
from ferry.services import audit
from ferry.services.lookup import require
from ferry.services.views import product_view

DEFAULT_PRODUCT = "default"
ALL_MODELS = "*"
# A product list containing this name means every product (the SDK examples use it).
ALL_PRODUCTS = "all"


def ensure_default(session: Session, *, environment_id: uuid.UUID) -> None:
    """Each environment starts with a ``default`` product holding every model."""
    exists = session.scalar(
        select(Product.id).where(
            Product.environment_id == environment_id, Product.product_name == DEFAULT_PRODUCT
        )
    )
    if exists is None:
        session.add(
            Product(
                environment_id=environment_id, product_name=DEFAULT_PRODUCT, models=[ALL_MODELS]
            )
        )
        session.flush()


def get(session: Session, *, scope: Scope, product: str | uuid.UUID) -> Product:
    return require(
        session, Product, scope=scope, ident=product, kind="product", name_column="product_name"
    )


def list_stmt(session: Session, *, scope: Scope) -> Select[Product]:
    """Every product; for a recipient's scoped token, the products it subscribes to."""
    stmt = queries.select_in(Product, scope=scope)
    subscribed = subscribed_products(session, scope=scope)
    if subscribed is not None:
        stmt = stmt.where(Product.product_name.in_(subscribed))
    return stmt


def subscribed_products(session: Session, *, scope: Scope) -> list[str] | None:
    """The products a recipient scope may see (None: every product)."""
    if scope.recipient_id is None:
        return None
    recipient = session.get_one(Recipient, scope.recipient_id)
    names = list(recipient.products or [DEFAULT_PRODUCT])
    return None if ALL_PRODUCTS in names else names


def _model_names(session: Session, scope: Scope) -> set[str]:
    return set(
        session.scalars(
            select(DataModel.model_name).where(DataModel.environment_id == scope.environment_id)
        )
    )


def _check_models(session: Session, scope: Scope, models: list[str], field: str) -> list[str]:
    unique = list(dict.fromkeys(models))
    unknown = [m for m in unique if m != ALL_MODELS and m not in _model_names(session, scope)]
    if unknown:
        raise InvalidInput(f"{field}: unknown model {unknown[0]!r}")
    return unique


def create(session: Session, *, scope: Scope, data: dict[str, Any]) -> Product:
    name = data["product_name"]
    if (
        session.scalar(list_stmt(session, scope=scope).where(Product.product_name == name))
        is not None
    ):
        raise Conflict(f"product_name: a product named {name!r} already exists")
    product = Product(
        environment_id=scope.environment_id,
        product_name=name,
        models=_check_models(session, scope, data.get("models", []), "product.models"),
    )
    session.add(product)
    session.flush()
    audit.record(session, scope, "PRODUCT_ADD", resource_id=product.id, obj=product_view(product))
    return product


def update(
    session: Session, *, scope: Scope, product: str | uuid.UUID, data: dict[str, Any]
) -> Product:
    found = get(session, scope=scope, product=product)
    previous = product_view(found)
    if "product_name" in data and data["product_name"] != found.product_name:
        if found.product_name == DEFAULT_PRODUCT:
            raise InvalidInput("product.product_name: the default product cannot be renamed")
        clash = session.scalar(
            list_stmt(session, scope=scope).where(Product.product_name == data["product_name"])
        )
        if clash is not None:
            raise Conflict(f"product_name: a product named {data['product_name']!r} already exists")
        _rename_references(session, scope, found.product_name, data["product_name"])
        found.product_name = data["product_name"]
    if "models" in data:
        found.models = _check_models(session, scope, data["models"], "product.models")
    session.flush()
    audit.record(
        session,
        scope,
        "PRODUCT_UPDATE",
        resource_id=found.id,
        obj=product_view(found),
        previous=previous,
    )
    return found


def delete(session: Session, *, scope: Scope, product: str | uuid.UUID) -> None:
    found = get(session, scope=scope, product=product)
    if found.product_name == DEFAULT_PRODUCT:
        raise Conflict("the default product cannot be deleted; change its models instead")
    users = _references(session, scope, found.product_name)
    if users:
        raise Conflict(
            f"product {found.product_name!r} is used by {', '.join(users[:5])}"
            + (f" and {len(users) - 5} more" if len(users) > 5 else "")
            + "; remove it from them first"
        )
    previous = product_view(found)
    session.delete(found)
    session.flush()
    audit.record(session, scope, "PRODUCT_DELETE", resource_id=found.id, previous=previous)


def _holders(session: Session, scope: Scope) -> list[Recipient | Destination | MagicLink]:
    """Every object of the environment that names products."""
    return [
        *session.scalars(select(Recipient).where(Recipient.environment_id == scope.environment_id)),
        *session.scalars(
            select(Destination).where(Destination.environment_id == scope.environment_id)
        ),
        *session.scalars(select(MagicLink).where(MagicLink.environment_id == scope.environment_id)),
    ]


def _references(session: Session, scope: Scope, name: str) -> list[str]:
    return [
        f"{type(holder).__name__.lower()} {holder.id}"
        for holder in _holders(session, scope)
        if name in (holder.products or [])
    ]


def _rename_references(session: Session, scope: Scope, old: str, new: str) -> None:
    """A renamed product keeps its subscribers: their product lists follow the new name."""
    for holder in _holders(session, scope):
        if holder.products and old in holder.products:
            holder.products = [new if p == old else p for p in holder.products]


def check_names(session: Session, *, scope: Scope, names: Iterable[str], field: str) -> list[str]:
    """Product names given by a client, each checked to exist (``all`` is always fine)."""
    unique = list(dict.fromkeys(names))
    wanted = [n for n in unique if n != ALL_PRODUCTS]
    known = set(
        session.scalars(
            select(Product.product_name).where(
                Product.environment_id == scope.environment_id, Product.product_name.in_(wanted)
            )
        )
    )
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise InvalidInput(f"{field}: unknown product {unknown[0]!r}")
    return unique


# Prebuilt (statement construction costs more than running these): a worker asks for every
# transfer.
_PRODUCT, _MODEL = table(Product), table(DataModel)
_PRODUCT_MODELS = select(_PRODUCT.c.product_name, _PRODUCT.c.models).where(
    _PRODUCT.c.environment_id == bindparam("environment_id")
)
_MODEL_NAMES = (
    select(_MODEL.c.model_name)
    .where(_MODEL.c.environment_id == bindparam("environment_id"))
    .order_by(_MODEL.c.created_at, _MODEL.c.id)
)


def models_of(session: Session, *, scope: Scope, product_names: Iterable[str]) -> list[str]:
    """The model names a list of products covers, in model creation order."""
    names = set(product_names)
    subscribed = subscribed_products(session, scope=scope)
    environment = {"environment_id": scope.environment_id}
    wanted = {
        model
        for product, product_models in session.execute(_PRODUCT_MODELS, environment)
        if (subscribed is None or product in subscribed)
        and (ALL_PRODUCTS in names or product in names)
        for model in product_models
    }
    all_models = session.scalars(_MODEL_NAMES, environment).all()
    if ALL_MODELS in wanted:
        return list(all_models)
    return [m for m in all_models if m in wanted]


def validate(session: Session, *, scope: Scope, product: str) -> dict[str, Any]:
    """Check that every model a product names exists (POST /products/{name}/validate)."""
    found = get(session, scope=scope, product=product)
    _check_models(session, scope, list(found.models), f"product {found.product_name!r} models")
    return {
        "product_name": found.product_name,
        "is_valid": True,
        "models": models_of(session, scope=scope, product_names=[found.product_name]),
    }
