"""Models and products in the Admin UI: add a model from its config file, read configs,
validate a model against its source and a product's model list."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from ferry.api.deps import DbSession
from ferry.api.schemas.models import ModelCreate
from ferry.db import queries
from ferry.db.models import DataModel, Product, Source
from ferry.errors import FerryError
from ferry.services import models, products
from ferry.services.views import model_view, product_view
from ferry.validation import parse
from ferry.web.admin.common import Admin, AdminRoute, CurrentAdmin, next_link, page_of, see_other
from ferry.web.admin.vendor_forms import Panel

router = APIRouter(prefix="/admin", route_class=AdminRoute, include_in_schema=False)
SKIP = "skip_model_validation"
EXAMPLE = {
    "model_name": "orders",
    "source_table": "public.orders",
    "organization_column": "org_id",
    "columns": [
        {
            "name_in_source": "id",
            "name_in_destination": "id",
            "data_type": "bigint",
            "is_primary_key": True,
        },
        {
            "name_in_source": "updated_at",
            "name_in_destination": "updated_at",
            "data_type": "timestamp",
            "is_last_modified": True,
        },
    ],
}


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@router.get("/models")
def list_models(admin: CurrentAdmin, session: DbSession, cursor: str | None = None) -> Response:
    stmt = models.list_stmt(session, scope=admin.scope)
    page = page_of(session, stmt, sort=DataModel.created_at, key=DataModel.id, cursor=cursor)
    source_names = {
        s.id: s.name for s in session.scalars(queries.select_in(Source, scope=admin.scope))
    }
    return admin.page(
        "admin/models.html",
        {
            "title": "Models",
            "models": [
                (m, source_names.get(m.source_id) if m.source_id else None) for m in page.items
            ],
            "next_url": next_link(admin.request, page),
        },
        section="models",
    )


def _new_form(
    admin: Admin, *, text: str, skip: bool, error: str | None, status_code: int = 200
) -> Response:
    return admin.page(
        "admin/model_new.html",
        {"title": "Add a model", "config_text": text, "skip": skip, "error": error},
        section="models",
        status_code=status_code,
    )


@router.get("/models/new")
def new_model(admin: CurrentAdmin) -> Response:
    return _new_form(admin, text=pretty(EXAMPLE), skip=False, error=None)


@router.post("/models/new")
def add_model(admin: CurrentAdmin, session: DbSession) -> Response:
    text = admin.value("config")
    skip = admin.value(SKIP) == "true"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        error = f"The config is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        return _new_form(admin, text=text, skip=skip, error=error, status_code=400)
    # A config file with or without its {"model": …} wrapper, as POST /models takes it.
    wrapped = (
        raw if isinstance(raw, dict) and isinstance(raw.get("model"), dict) else {"model": raw}
    )
    try:
        payload = parse(ModelCreate, wrapped)
        data = payload.model.model_dump(mode="json", exclude_none=True, exclude={SKIP})
        skip = skip or payload.skip_model_validation or payload.model.skip_model_validation
        with session.begin_nested():
            created, _note = models.create(
                session, scope=admin.scope, data=data, skip_validation=skip
            )
    except FerryError as exc:
        if exc.http_status >= 500:
            raise
        return _new_form(
            admin, text=text, skip=skip, error=exc.message, status_code=exc.http_status
        )
    return see_other(f"/admin/models/{created.id}", done="model-added")


def _model_page(
    admin: Admin, session: Session, model: DataModel, result: Panel | None = None
) -> Response:
    view = model_view(model)
    in_products = [
        p.product_name
        for p in session.scalars(products.list_stmt(session, scope=admin.scope))
        if model.model_name in p.models or products.ALL_MODELS in p.models
    ]
    source = (
        session.scalar(
            queries.select_in(Source, scope=admin.scope).where(Source.id == model.source_id)
        )
        if model.source_id
        else None
    )
    return admin.page(
        "admin/model.html",
        {
            "title": model.model_name,
            "model": model,
            "view": view,
            "config_text": pretty(
                {k: v for k, v in view.items() if k not in ("created_at", "updated_at")}
            ),
            "source": source,
            "products": in_products,
            "result": result,
        },
        section="models",
    )


@router.get("/models/{model_id}")
def show_model(model_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    return _model_page(admin, session, models.get(session, scope=admin.scope, model=model_id))


@router.post("/models/{model_id}/validate")
def validate_model(model_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    model = models.get(session, scope=admin.scope, model=model_id)
    try:
        result = models.validate_stored(session, scope=admin.scope, model=model.model_name)
        panel = Panel(True, "The model is valid", _sentence(str(result["message"])))
    except FerryError as exc:
        if exc.http_status >= 500:
            raise
        panel = Panel(False, "The model is not valid", _sentence(exc.message))
    return _model_page(admin, session, model, panel)


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


@router.get("/products")
def list_products(admin: CurrentAdmin, session: DbSession) -> Response:
    stmt = products.list_stmt(session, scope=admin.scope).order_by(Product.product_name)
    return admin.page(
        "admin/products.html",
        {"title": "Products", "products": list(session.scalars(stmt.limit(500)))},
        section="products",
    )


def _product_page(
    admin: Admin, session: Session, product: Product, result: Panel | None = None
) -> Response:
    return admin.page(
        "admin/product.html",
        {
            "title": product.product_name,
            "product": product,
            "config_text": pretty(product_view(product)),
            "models": products.models_of(
                session, scope=admin.scope, product_names=[product.product_name]
            ),
            "result": result,
        },
        section="products",
    )


@router.get("/products/{product_id}")
def show_product(product_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    return _product_page(
        admin, session, products.get(session, scope=admin.scope, product=product_id)
    )


@router.post("/products/{product_id}/validate")
def validate_product(product_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    product = products.get(session, scope=admin.scope, product=product_id)
    try:
        result = products.validate(session, scope=admin.scope, product=product.product_name)
        names = ", ".join(result["models"]) or "no model yet"
        panel = Panel(True, "The product is valid", f"It holds: {names}.")
    except FerryError as exc:
        if exc.http_status >= 500:
            raise
        panel = Panel(False, "The product is not valid", _sentence(exc.message))
    return _product_page(admin, session, product, panel)
