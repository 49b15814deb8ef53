"""Products (spec §6.1 #37–41). Paths take a product's id or its name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ferry.api import render
from ferry.api.deps import AnyScope, ApiScope, ApiVersionDep, DbSession, Pagination, body
from ferry.api.envelope import ok
from ferry.api.schemas.products import ProductCreate, ProductUpdate
from ferry.db.models import Product
from ferry.services import products
from ferry.services.views import product_view

router = APIRouter(prefix="/products", tags=["products"])


@router.get("")
def list_products(
    request: Request, session: DbSession, scope: AnyScope, version: ApiVersionDep, page: Pagination
) -> dict[str, Any]:
    return render.listing(
        request,
        session,
        products.list_stmt(session, scope=scope),
        name="products",
        sort=Product.created_at,
        key=Product.id,
        params=page,
        version=version,
        render=product_view,
        complete=scope.is_recipient,
    )


@router.post("")
def create_product(
    session: DbSession, scope: ApiScope, payload: ProductCreate = body(ProductCreate)
) -> dict[str, Any]:
    created = products.create(session, scope=scope, data=payload.product.model_dump())
    return ok({"product": product_view(created)}, "product created")


@router.get("/{product_id}")
def get_product(product_id: str, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    return ok({"product": product_view(products.get(session, scope=scope, product=product_id))})


@router.patch("/{product_id}")
def update_product(
    product_id: str,
    session: DbSession,
    scope: ApiScope,
    payload: ProductUpdate = body(ProductUpdate),
) -> dict[str, Any]:
    updated = products.update(
        session,
        scope=scope,
        product=product_id,
        data=payload.product.model_dump(exclude_unset=True),
    )
    return ok({"product": product_view(updated)}, "product updated")


@router.delete("/{product_id}")
def delete_product(product_id: str, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    products.delete(session, scope=scope, product=product_id)
    return ok({}, "product deleted")


@router.post("/{product_name}/validate")
def validate_product(product_name: str, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    result = products.validate(session, scope=scope, product=product_name)
    return ok(result, f"product {result['product_name']!r} is valid")
