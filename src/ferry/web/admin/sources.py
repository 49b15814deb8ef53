"""Sources in the Admin UI: list, add (with a connection test), view, test, edit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from ferry.api.deps import DbSession
from ferry.connectors import registry
from ferry.db.models import DataModel, Source
from ferry.services import connections, models, sources
from ferry.web.admin import vendor_forms
from ferry.web.admin.common import Admin, AdminRoute, CurrentAdmin, next_link, page_of
from ferry.web.admin.vendor_pages import Tester, VendorPage, saved_config
from ferry.web.destination_form import Checked

router = APIRouter(prefix="/admin/sources", route_class=AdminRoute, include_in_schema=False)
DEFAULT_VENDOR = "postgres"


def _vendor(admin: Admin) -> str:
    wanted = admin.value("vendor") or admin.request.query_params.get("vendor") or DEFAULT_VENDOR
    return wanted if wanted in registry.sources() else DEFAULT_VENDOR


def _new_page(admin: Admin) -> VendorPage:
    vendor = _vendor(admin)
    form = vendor_forms.source_form(vendor)
    return VendorPage(
        form=form,
        what="source",
        section="sources",
        title="Add a source",
        lead="The database your data is read from. Read access is enough.",
        action_url="/admin/sources/new",
        back_url="/admin/sources",
        back_label="← Sources",
        save_label="Add source",
        start=vendor_forms.initial_answers(form),
        chooser={
            "action": "/admin/sources/new",
            "recipients": None,
            "vendor_label": "Source type",
            "vendor": vendor,
            "vendors": vendor_forms.vendor_options(registry.sources()),
        },
        hidden_fields=[("vendor", vendor)],
    )


def _edit_page(session: Session, source: Source) -> VendorPage:
    form = vendor_forms.source_form(source.vendor)
    revealed = sources.config_of(session, source).reveal()
    path = f"/admin/sources/{source.id}/edit"
    return VendorPage(
        form=form,
        what="source",
        section="sources",
        title=f"Edit {source.name}",
        action_url=path,
        back_url=f"/admin/sources/{source.id}",
        back_label=f"← {source.name}",
        save_label="Save source",
        start=vendor_forms.saved_answers(form, source.config, {"name": source.name}),
        revealed=revealed,
    )


@router.get("")
def list_sources(admin: CurrentAdmin, session: DbSession, cursor: str | None = None) -> Response:
    page = page_of(
        session,
        sources.list_stmt(scope=admin.scope),
        sort=Source.created_at,
        key=Source.id,
        cursor=cursor,
    )
    return admin.page(
        "admin/sources.html",
        {"title": "Sources", "sources": page.items, "next_url": next_link(admin.request, page)},
        section="sources",
    )


@router.get("/new")
def new_source(admin: CurrentAdmin) -> Response:
    page = _new_page(admin)
    return page.show(admin, page.start)


@router.post("/new")
def add_source(admin: CurrentAdmin, session: DbSession) -> Response:
    page = _new_page(admin)
    vendor = page.form.vendor

    def save(checked: Checked) -> str:
        config, name = saved_config(checked), checked.name or ""
        created = sources.create(
            session, scope=admin.scope, name=name, vendor=vendor, config=config
        )
        return f"/admin/sources/{created.id}?done=source-added"

    return page.submitted(admin, _tester(admin, session, vendor), save)


@router.post("/new/test")
def test_new_source(admin: CurrentAdmin, session: DbSession) -> Response:
    page = _new_page(admin)
    return page.tested(admin, _tester(admin, session, page.form.vendor))


def _tester(admin: Admin, session: Session, vendor: str) -> Tester:
    return lambda config: connections.check_source(
        session, scope=admin.scope, vendor=vendor, config=config
    )


def _source(admin: Admin, session: Session, source_id: str) -> Source:
    return sources.get(session, scope=admin.scope, source_id=source_id)


def _detail(
    admin: Admin,
    session: Session,
    source: Source,
    result: vendor_forms.Panel | None = None,
) -> Response:
    readers = session.scalars(
        models.list_stmt(session, scope=admin.scope)
        .where(DataModel.source_id == source.id)
        .order_by(DataModel.model_name)
    ).all()
    return admin.page(
        "admin/source.html",
        {
            "title": source.name,
            "source": source,
            "vendor_name": registry.source_class(source.vendor).display_name,
            "settings": flat_config(source.config),
            "models": readers,
            "result": result,
        },
        section="sources",
    )


def flat_config(config: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """(dotted name, value) of a public config, to read through (secrets are not in it)."""
    rows: list[tuple[str, str]] = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flat_config(value, name + "."))
        elif value is not None:
            rows.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return rows


@router.get("/{source_id}")
def show_source(source_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    return _detail(admin, session, _source(admin, session, source_id))


@router.post("/{source_id}/test")
def test_source(source_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    source = _source(admin, session, source_id)
    tested = connections.check_saved_source(
        session, scope=admin.scope, source_id=source.id, build=None
    )
    return _detail(admin, session, source, vendor_forms.tested_panel(tested, "source"))


@router.get("/{source_id}/edit")
def edit_source(source_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    page = _edit_page(session, _source(admin, session, source_id))
    return page.show(admin, page.start)


@router.post("/{source_id}/edit")
def save_source(source_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    source = _source(admin, session, source_id)
    page = _edit_page(session, source)

    def save(checked: Checked) -> str:
        config = saved_config(checked)
        sources.update(
            session,
            scope=admin.scope,
            source_id=source.id,
            fields={"name": checked.name, "vendor": source.vendor},
            build=lambda _connector, _current: config,
        )
        return f"/admin/sources/{source.id}?done=source-saved"

    return page.submitted(admin, _tester(admin, session, source.vendor), save)


@router.post("/{source_id}/edit/test")
def test_edited_source(source_id: str, admin: CurrentAdmin, session: DbSession) -> Response:
    source = _source(admin, session, source_id)
    page = _edit_page(session, source)
    return page.tested(admin, _tester(admin, session, source.vendor))
