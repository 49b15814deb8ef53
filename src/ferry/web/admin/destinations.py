"""Destinations in the Admin UI: list, add for a recipient, view, test, edit, enable or
disable, and start a transfer (see transfers.py for the transfer pages)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from ferry import forms
from ferry.api.deps import DbSession
from ferry.connectors import registry
from ferry.db.models import Destination, Recipient, Transfer
from ferry.services import connections, destinations, recipients, transfers
from ferry.web.admin import charts, vendor_forms
from ferry.web.admin.common import Admin, AdminRoute, CurrentAdmin, next_link, page_of, see_other
from ferry.web.admin.sources import flat_config
from ferry.web.admin.vendor_pages import Tester, VendorPage, saved_config
from ferry.web.destination_form import Checked

router = APIRouter(prefix="/admin/destinations", route_class=AdminRoute, include_in_schema=False)
DEFAULT_VENDOR = "postgres"
RECENT = 10
CHOICES = 1000  # recipients offered in the chooser; a recipient's page links any other


def _vendor(admin: Admin) -> str:
    wanted = admin.value("vendor") or admin.request.query_params.get("vendor") or DEFAULT_VENDOR
    return wanted if wanted in registry.destinations() else DEFAULT_VENDOR


def _recipients(admin: Admin, session: Session) -> list[Recipient]:
    stmt = recipients.list_stmt(scope=admin.scope).order_by(Recipient.name, Recipient.id)
    return list(session.scalars(stmt.limit(CHOICES)))


def _new_page(admin: Admin, session: Session) -> VendorPage | None:
    """The add page, for the chosen (or first) recipient; None when there is no recipient."""
    choices = _recipients(admin, session)
    wanted = admin.value("recipient_id") or admin.request.query_params.get("recipient_id", "")
    # A named recipient must exist in this environment (else 404): never another one instead.
    recipient = (
        recipients.get(session, scope=admin.scope, recipient_id=wanted)
        if wanted
        else (choices[0] if choices else None)
    )
    if recipient is None:
        return None
    if recipient not in choices:
        choices.insert(0, recipient)
    vendor = _vendor(admin)
    form = vendor_forms.destination_form(vendor, recipient_id=str(recipient.id))
    start = vendor_forms.with_keys(session, form, vendor_forms.initial_answers(form))
    start["is_enabled"] = True
    return VendorPage(
        form=form,
        what="destination",
        section="destinations",
        title="Add a destination",
        lead=f"Where {recipient.name} receives its data.",
        action_url="/admin/destinations/new",
        back_url="/admin/destinations",
        back_label="← Destinations",
        save_label="Add destination",
        start=start,
        chooser={
            "action": "/admin/destinations/new",
            "recipients": choices,
            "recipient_id": str(recipient.id),
            "vendor_label": "Destination type",
            "vendor": vendor,
            "vendors": vendor_forms.vendor_options(registry.destinations()),
        },
        hidden_fields=[("vendor", vendor), ("recipient_id", str(recipient.id))],
    )


def _edit_page(session: Session, destination: Destination) -> VendorPage:
    form = vendor_forms.destination_form(
        destination.vendor, recipient_id=str(destination.recipient_id)
    )
    top = {
        "name": destination.name,
        "frequency_minutes": destination.frequency_minutes,
        "is_enabled": destination.is_enabled,
    }
    return VendorPage(
        form=form,
        what="destination",
        section="destinations",
        title=f"Edit {destination.name}",
        lead=f"{destination.recipient.name}'s destination.",
        action_url=f"/admin/destinations/{destination.id}/edit",
        back_url=f"/admin/destinations/{destination.id}",
        back_label=f"← {destination.name}",
        save_label="Save destination",
        start=vendor_forms.saved_answers(form, destination.config, top),
        revealed=destinations.config_of(session, destination).reveal(),
    )


def _settings(checked: Checked) -> dict[str, Any]:
    return {
        "name": checked.name,
        "frequency_minutes": checked.frequency_minutes,
        "is_enabled": checked.prepared.get("is_enabled") is True,
    }


def _tester(admin: Admin, session: Session, vendor: str) -> Tester:
    return lambda config: connections.check_destination(
        session, scope=admin.scope, vendor=vendor, config=config
    )


@router.get("")
def list_destinations(
    admin: CurrentAdmin, session: DbSession, cursor: str | None = None
) -> Response:
    page = page_of(
        session,
        destinations.list_stmt(scope=admin.scope),
        sort=Destination.created_at,
        key=Destination.id,
        cursor=cursor,
    )
    return admin.page(
        "admin/destinations.html",
        {
            "title": "Destinations",
            "destinations": page.items,
            "next_url": next_link(admin.request, page),
            "chart": charts.rows_per_day(session, scope=admin.scope),
        },
        section="destinations",
    )


@router.get("/new")
def new_destination(admin: CurrentAdmin, session: DbSession) -> Response:
    page = _new_page(admin, session)
    if page is None:
        return admin.page(
            "admin/no_recipient.html", {"title": "Add a destination"}, section="destinations"
        )
    return page.show(admin, page.start)


@router.post("/new")
def add_destination(admin: CurrentAdmin, session: DbSession) -> Response:
    page = _new_page(admin, session)
    if page is None:
        return see_other("/admin/destinations/new")
    form = page.form

    def save(checked: Checked) -> str:
        data = _settings(checked) | {
            "vendor": form.vendor,
            "recipient_id": form.forced["recipient_id"],
        }
        created = destinations.create(
            session, scope=admin.scope, data=data, config=saved_config(checked)
        )
        return f"/admin/destinations/{created.id}?done=destination-added"

    return page.submitted(admin, _tester(admin, session, form.vendor), save)


@router.post("/new/test")
def test_new_destination(admin: CurrentAdmin, session: DbSession) -> Response:
    page = _new_page(admin, session)
    if page is None:
        return see_other("/admin/destinations/new")
    return page.tested(admin, _tester(admin, session, page.form.vendor))


def _destination(admin: Admin, session: Session, destination_id: str) -> Destination:
    return destinations.get(session, scope=admin.scope, destination_id=destination_id)


def detail(
    admin: Admin,
    session: Session,
    destination: Destination,
    *,
    result: vendor_forms.Panel | None = None,
    transfer_error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The destination's page (also answering a refused transfer request, inline)."""
    recent = session.scalars(
        transfers.list_stmt(scope=admin.scope, destination_id=destination.id)
        .order_by(Transfer.submitted_at.desc(), Transfer.id.desc())
        .limit(RECENT)
    ).all()
    return admin.page(
        "admin/destination.html",
        {
            "title": destination.name,
            "destination": destination,
            "vendor_name": registry.destination_class(destination.vendor).display_name,
            "settings": flat_config(destination.config),
            "frequency": forms.FREQUENCIES.get(
                destination.frequency_minutes, f"Every {destination.frequency_minutes} minutes"
            ),
            "models": destinations.effective_models(
                session, scope=admin.scope, destination=destination
            ),
            "chosen": set(admin.values("models")),
            "transfers": [(t, destination.name) for t in recent],
            "active": transfers.active_for(session, destination_id=destination.id),
            "chart": charts.rows_per_day(session, scope=admin.scope, destination_id=destination.id),
            "result": result,
            "transfer_error": transfer_error,
        },
        section="destinations",
        status_code=status_code,
    )


@router.get("/{destination_id}")
def show_destination(destination_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    return detail(admin, session, _destination(admin, session, destination_id))


@router.post("/{destination_id}/test")
def test_destination(destination_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    destination = _destination(admin, session, destination_id)
    tested = connections.check_saved_destination(
        session, scope=admin.scope, destination_id=destination.id, build=None
    )
    return detail(
        admin, session, destination, result=vendor_forms.tested_panel(tested, "destination")
    )


@router.post("/{destination_id}/enabled")
def set_enabled(destination_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    enable = admin.value("is_enabled") == "true"
    updated = destinations.update(
        session,
        scope=admin.scope,
        destination_id=destination_id,
        fields={"is_enabled": enable},
        build=None,
    )
    return see_other(f"/admin/destinations/{updated.id}", done="enabled" if enable else "disabled")


@router.get("/{destination_id}/edit")
def edit_destination(destination_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    page = _edit_page(session, _destination(admin, session, destination_id))
    return page.show(admin, page.start)


@router.post("/{destination_id}/edit")
def save_destination(destination_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    destination = _destination(admin, session, destination_id)
    page = _edit_page(session, destination)

    def save(checked: Checked) -> str:
        config = saved_config(checked)
        destinations.update(
            session,
            scope=admin.scope,
            destination_id=destination.id,
            fields=_settings(checked),
            build=lambda _connector, _current: config,
        )
        return f"/admin/destinations/{destination.id}?done=destination-saved"

    return page.submitted(admin, _tester(admin, session, destination.vendor), save)


@router.post("/{destination_id}/edit/test")
def test_edited_destination(
    destination_id: str, admin: CurrentAdmin, session: DbSession
) -> Response:
    destination = _destination(admin, session, destination_id)
    page = _edit_page(session, destination)
    return page.tested(admin, _tester(admin, session, destination.vendor))


def recipient_destinations(
    admin: Admin, session: Session, recipient: Recipient
) -> list[Destination]:
    return list(
        session.scalars(
            destinations.list_stmt(scope=admin.scope, recipient_id=recipient.id).order_by(
                Destination.name
            )
        )
    )
