"""The add and edit pages of sources and destinations: one vendor form, three actions.

A submitted form says what it wants in ``action``: ``update`` (a choice changed; show the
fields it needs), ``test`` (test the connection with these details, save nothing) or
``save``. The page's script tests in place through the ``…/test`` route instead, which
answers what :func:`vendor_forms.test_answer` describes. Editing never shows a saved secret:
a secret left blank keeps the saved one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from ferry.api.envelope import ok
from ferry.connectors.config import VendorConfig
from ferry.errors import FerryError
from ferry.services.connections import CheckResult
from ferry.web.admin import vendor_forms
from ferry.web.admin.common import Admin, see_other
from ferry.web.admin.vendor_forms import INVALID, Panel
from ferry.web.destination_form import Checked, DestinationForm

Tester = Callable[[VendorConfig], CheckResult]
Saver = Callable[[Checked], str]  # saves, answers the URL to go to next


@dataclass
class VendorPage:
    """One add or edit page: its form, where it posts, and what it shows around the form."""

    form: DestinationForm
    what: str  # "source" | "destination", as the result panel words it
    section: str
    title: str
    action_url: str
    back_url: str
    back_label: str
    save_label: str
    start: dict[str, Any]  # the answers the page opens with
    revealed: Mapping[str, Any] | None = None  # a saved config, secrets included (editing)
    lead: str = ""
    chooser: dict[str, Any] | None = None
    hidden_fields: list[tuple[str, str]] = field(default_factory=list)

    @property
    def editing(self) -> bool:
        return self.revealed is not None

    @property
    def test_url(self) -> str:
        return self.action_url + "/test"

    def answers(self, admin: Admin) -> dict[str, Any]:
        """The submitted answers (or the first ones, on GET)."""
        return self.form.answers_from(admin.form, self.start)

    def complete(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers with each blank secret filled with the saved one, when editing."""
        if self.revealed is None:
            return dict(answers)
        return vendor_forms.with_saved_secrets(self.form, answers, self.revealed)

    def show(
        self,
        admin: Admin,
        answers: Mapping[str, Any],
        checked: Checked | None = None,
        *,
        result: Panel | None = None,
        status_code: int = 200,
    ) -> Response:
        sections = vendor_forms.sections(self.form, answers, checked, editing=self.editing)
        return admin.page(
            "admin/vendor_form.html",
            {
                "title": self.title,
                "lead": self.lead,
                "back_url": self.back_url,
                "back_label": self.back_label,
                "chooser": self.chooser,
                "sections": sections,
                "problems": checked.problems if checked else [],
                "error_count": len(checked.errors) if checked else 0,
                "result": result,
                "action_url": self.action_url,
                "test_url": self.test_url,
                "hidden_fields": self.hidden_fields,
                "save_label": self.save_label,
                "editing": self.editing,
            },
            section=self.section,
            status_code=status_code,
        )

    def submitted(self, admin: Admin, tester: Tester, saver: Saver) -> Response:
        """Handle a POST of the page: re-render, test, or save and go on."""
        answers = self.answers(admin)
        action = admin.value("action", "save")
        if action not in ("test", "save"):
            return self.show(admin, answers)
        checked = self.form.check(self.complete(answers))
        if action == "test":
            if not checked.ok or checked.config is None:
                return self.show(admin, answers, checked, result=INVALID, status_code=400)
            tested = tester(checked.config)
            return self.show(admin, answers, result=vendor_forms.tested_panel(tested, self.what))
        if not checked.ok:
            return self.show(admin, answers, checked, status_code=400)
        try:
            next_url = saver(checked)
        except FerryError as exc:
            if exc.http_status >= 500:
                raise
            self._refused(checked, exc.message)
            return self.show(admin, answers, checked, status_code=exc.http_status)
        return see_other(next_url)

    def _refused(self, checked: Checked, message: str) -> None:
        """Put a service's refusal (``source.name: a source named … exists``) on the field it
        names, or above the form."""
        where, _, reason = message.partition(": ")
        path = where.removeprefix(self.what + ".")
        target = next((f for f in self.form.fields if f.path == path), None) if reason else None
        if target is not None and target.name not in self.form.hidden:
            checked.errors[target.index] = reason[:1].upper() + reason[1:] + "."
        else:
            text = reason if reason and where == self.what else message
            checked.problems.append(text[:1].upper() + text[1:])

    def tested(self, admin: Admin, tester: Tester) -> Response:
        """The script's "Test connection": what to show, in the envelope."""
        checked = self.form.check(self.complete(self.answers(admin)))
        tested = tester(checked.config) if checked.ok and checked.config is not None else None
        answer = vendor_forms.test_answer(self.form, checked, tested, self.what)
        message = "connection tested" if tested is not None else "connection not tested"
        return JSONResponse(ok(answer, message))


def saved_config(checked: Checked) -> VendorConfig:
    """The config of answers that passed the check (a saver is only called with those)."""
    if checked.config is None:
        raise ValueError("only checked answers can be saved")
    return checked.config
