"""Recipients in the Admin UI: list, add, and one recipient with its destinations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from ferry.api.deps import DbSession
from ferry.api.schemas.recipients import RecipientCreate
from ferry.db.models import Product, Recipient
from ferry.errors import FerryError
from ferry.services import products, recipients
from ferry.validation import parse
from ferry.web.admin.common import Admin, AdminRoute, CurrentAdmin, next_link, page_of, see_other
from ferry.web.admin.destinations import recipient_destinations

router = APIRouter(prefix="/admin/recipients", route_class=AdminRoute, include_in_schema=False)
FIELDS = ("name", "id_in_provider_system", "products")


@router.get("")
def list_recipients(admin: CurrentAdmin, session: DbSession, cursor: str | None = None) -> Response:
    page = page_of(
        session,
        recipients.list_stmt(scope=admin.scope),
        sort=Recipient.created_at,
        key=Recipient.id,
        cursor=cursor,
    )
    return admin.page(
        "admin/recipients.html",
        {
            "title": "Recipients",
            "recipients": page.items,
            "next_url": next_link(admin.request, page),
        },
        section="recipients",
    )


def _product_names(admin: Admin, session: Session) -> list[str]:
    stmt = products.list_stmt(session, scope=admin.scope).order_by(Product.product_name)
    return [p.product_name for p in session.scalars(stmt.limit(500))]


def _form(
    admin: Admin,
    session: Session,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    return admin.page(
        "admin/recipient_new.html",
        {
            "title": "Add a recipient",
            "values": values,
            "errors": errors or {},
            "problem": problem,
            "product_names": _product_names(admin, session),
        },
        section="recipients",
        status_code=status_code,
    )


@router.get("/new")
def new_recipient(admin: CurrentAdmin, session: DbSession) -> Response:
    values = {"name": "", "id_in_provider_system": "", "products": [products.DEFAULT_PRODUCT]}
    return _form(admin, session, values)


@router.post("/new")
def add_recipient(admin: CurrentAdmin, session: DbSession) -> Response:
    values: dict[str, Any] = {
        "name": admin.value("name").strip(),
        "id_in_provider_system": admin.value("id_in_provider_system").strip(),
        "products": [p for p in admin.values("products") if p],
    }
    given = {k: v for k, v in values.items() if v}
    try:
        payload = parse(RecipientCreate, {"recipient": given})
        data = payload.recipient.model_dump(exclude_unset=True, by_alias=True)
        with session.begin_nested():
            created = recipients.create(session, scope=admin.scope, data=data)
    except FerryError as exc:
        if exc.http_status >= 500:
            raise
        field = next((f for f in FIELDS if exc.message.startswith(f"recipient.{f}")), None)
        message = exc.message.split(": ", 1)[-1] if field else exc.message
        message = message[:1].upper() + message[1:]
        errors = {field: message} if field else {}
        return _form(
            admin,
            session,
            values,
            errors,
            None if field else message,
            status_code=exc.http_status,
        )
    return see_other(f"/admin/recipients/{created.id}", done="recipient-added")


@router.get("/{recipient_id}")
def show_recipient(recipient_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    recipient = recipients.get(session, scope=admin.scope, recipient_id=recipient_id)
    return admin.page(
        "admin/recipient.html",
        {
            "title": recipient.name,
            "recipient": recipient,
            "destinations": recipient_destinations(admin, session, recipient),
            "models": products.models_of(
                session, scope=admin.scope, product_names=recipient.products
            ),
        },
        section="recipients",
    )
