"""The magic-link page (spec §1.2): where a provider's customer enters its own destination.

``GET /magic-link/{token}`` shows the form; ``POST /magic-link/{token}`` takes it back
(``action`` = ``update``: re-render after a choice changed, ``test``, or ``save``) and
``POST /magic-link/{token}/test`` tests the connection for the page's script, answering the
§6.3 result in the envelope. A used, expired or unknown token gets one friendly page.
Secrets typed into the form are never written back into a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.orm import Session

from ferry.api.deps import DbSession
from ferry.api.envelope import ok
from ferry.errors import Conflict, FerryError, NotFound
from ferry.services.connections import CheckResult
from ferry.services.magic_links import PAGE_PATH
from ferry.web import onboarding
from ferry.web.destination_form import Checked
from ferry.web.onboarding import LINK_GONE, LinkPage
from ferry.web.pages import (
    FormData,
    PageRoute,
    failed_page,
    origin_of,
    read_form,
    render,
    security_headers,
)

router = APIRouter(prefix=PAGE_PATH.rstrip("/"), route_class=PageRoute, include_in_schema=False)

Posted = Annotated[FormData, Depends(read_form)]
INVALID = {
    "error_code": "PRQL-INVALID-INPUT",
    "title": "Some details need attention",
    "blame": "third_party",
    "documentation_url": None,
    "message": "Fix the highlighted fields, then test the connection again.",
}
TAKEN = (
    "These details point at a schema, database or folder that another destination already "
    "writes to. Choose another one."
)


@router.get("/{token}")
def show_form(request: Request, token: str, session: DbSession) -> Response:
    try:
        page = onboarding.open_link(session, token=token)
    except NotFound:
        return _gone(request)
    return _form(page, onboarding.first_answers(page))


@router.post("/{token}/test")
def test_connection(request: Request, token: str, session: DbSession, posted: Posted) -> Response:
    """The page script's "Test connection": the §6.3 result, plus what the page shows."""
    try:
        page = onboarding.open_link(session, token=token)
    except NotFound:
        return _gone(request)
    checked = page.form.check(_answers(page, posted))
    if not checked.ok:
        ids = page.form.ids
        result: dict[str, Any] = {
            "status": "error",
            "error": INVALID,
            "display": _display(page, None, INVALID),
            "field_errors": {ids[index]: text for index, text in checked.errors.items()},
            "problems": checked.problems,
        }
        return JSONResponse(ok(result, "connection not tested: some details are invalid"))
    tested = _test(page, session, checked)
    result = tested.as_dict()
    if tested.error:  # the raw trace stays in the server's logs
        result["error"] = {k: v for k, v in tested.error.items() if k != "trace"}
    result |= {
        "display": _display(page, tested, tested.error),
        "field_errors": {},
        "problems": [],
    }
    message = "connection succeeded" if tested.ok else "connection failed"
    return JSONResponse(ok(result, message))


@router.post("/{token}")
def submit_form(request: Request, token: str, session: DbSession, posted: Posted) -> Response:
    try:
        page = onboarding.open_link(session, token=token)
    except NotFound:
        return _gone(request)
    action = (posted.get("action") or ["save"])[-1]
    answers = _answers(page, posted)
    if action not in ("test", "save"):
        return _form(page, answers)
    checked = page.form.check(answers)
    if action == "test":
        if not checked.ok:
            return _form(page, answers, checked, result=_display(page, None, INVALID))
        tested = _test(page, session, checked)
        return _form(page, answers, result=_display(page, tested, tested.error))
    if not checked.ok:
        return _form(page, answers, checked, status_code=400)
    try:
        onboarding.save(session, page, checked)
    except NotFound:
        return _gone(request)
    except FerryError as exc:
        if exc.http_status >= 500:
            raise
        checked.problems.append(TAKEN if isinstance(exc, Conflict) else exc.message)
        return _form(page, answers, checked, status_code=exc.http_status)
    if page.link.redirect_url:
        return RedirectResponse(page.link.redirect_url, status_code=303)
    return render(
        "magic_link/done.html",
        {
            "page": page,
            "summary": page.form.summary(answers),
            "is_enabled": page.link.set_destination_enabled,
        },
    )


def _answers(page: LinkPage, posted: FormData) -> dict[str, Any]:
    return page.form.answers_from(posted, onboarding.first_answers(page))


def _test(page: LinkPage, session: Session, checked: Checked) -> CheckResult:
    if checked.config is None:
        raise ValueError("only checked answers can be tested")
    return onboarding.test(session, page, checked.config)


def _form(
    page: LinkPage,
    answers: Mapping[str, Any],
    checked: Checked | None = None,
    *,
    result: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    path = PAGE_PATH + page.token
    errors = checked.errors if checked else {}
    context = {
        "page": page,
        "sections": page.form.sections(answers, errors),
        "problems": checked.problems if checked else [],
        "error_count": len(errors),
        "result": result,
        "action_url": path,
        "test_url": path + "/test",
    }
    redirect_origin = origin_of(page.link.redirect_url)
    headers = security_headers([redirect_origin] if redirect_origin else [])
    return render("magic_link/form.html", context, status_code=status_code, headers=headers)


def _gone(request: Request) -> Response:
    return failed_page(request, 404, LINK_GONE, LINK_GONE, "magic_link/gone.html")


def _display(
    page: LinkPage, tested: CheckResult | None, error: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The result panel: a title and a sentence, green or red."""
    if tested is not None and tested.ok:
        return {
            "ok": True,
            "title": "Connection successful",
            "message": f"Ferry reached your {page.vendor_name} {page.noun} with these details.",
        }
    error = error or {}
    message = str(error.get("message") or "")
    return {
        "ok": False,
        "title": str(error.get("title") or "Connection failed"),
        "message": message[:1].upper() + message[1:],
    }
