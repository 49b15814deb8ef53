"""Source and destination forms of the Admin UI, on the magic-link page's form machinery
(:class:`ferry.web.destination_form.DestinationForm`).

A destination's form is the React SDK's tree (:func:`ferry.forms.destination_form`). A
source's tree is built the same way from the source vendor's config model, with a source's
wording. Editing never shows a saved secret: a secret left blank keeps the saved one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from ferry import forms
from ferry.connectors import registry
from ferry.connectors.base import Connector
from ferry.services import ssh_keys
from ferry.services.connections import CheckResult
from ferry.web.answers import Field, js_string, shown
from ferry.web.destination_form import Checked, DestinationForm, FieldView, SectionView

# The vendor is chosen above the form (a change reloads it), so the form does not show it.
HIDDEN = frozenset({"vendor"})
SOURCE_TEXTS: dict[str, tuple[str, str, str]] = {
    "name": ("Source name", "production", "A name to recognize this source by."),
    "database": ("Database", "app", "Database to read from."),
    "schema": ("Schema", "public", "Schema of the tables, unless a model names its own."),
    "connection_database": ("Connection database", "app", "Database to connect to."),
    "username": ("Username", "ferry_reader", "User that reads the data; read access is enough."),
    "path": ("Database file", "/var/lib/app/app.db", "Path of the file on the Ferry host."),
    "bucket_name": ("Bucket name", "my-bucket", "Bucket the files are read from."),
}
SOURCE_SECTION = ("Source", "The database or storage the data is read from.")
KEEP_SECRET = "Leave blank to keep the saved value."  # noqa: S105 -- a hint, not a secret


def source_tree(vendor: str) -> dict[str, Any]:
    """A source vendor's form tree, shaped like :func:`ferry.forms.destination_form`'s."""
    connector = registry.source_class(vendor)
    top = forms._Context(vendor, forms.Section.DESTINATION)
    children = [
        forms._node("name", vendor, top, kind="string", required=True),
        *forms._model_nodes(
            connector.config_model, vendor, forms._Context(vendor, forms.Section.CONNECTION)
        ),
    ]
    option = {"key": vendor, "display": connector.display_name}
    root = forms._node(
        "vendor",
        "",
        top,
        kind="string",
        required=True,
        element="select",
        enum=[option],
        children=children,
    )
    _reword(root)
    used = forms._sections_of(root)
    titles = dict(forms.SECTIONS) | {forms.Section.DESTINATION: SOURCE_SECTION}
    sections = [
        {"id": int(s), "title": title, "subtitle": subtitle}
        for s, (title, subtitle) in titles.items()
        if s in used
    ]
    return {"sections": sections, "form": root}


def _reword(node: dict[str, Any]) -> None:
    texts = SOURCE_TEXTS.get(node["name"])
    if texts is not None and node["attributes"]["section_id"] != forms.Section.STAGING:
        label, placeholder, description = texts
        node["attributes"] |= {
            "label": label,
            "placeholder": placeholder,
            "description": description,
        }
    for child in node["children"] or ():
        _reword(child)


def source_form(vendor: str) -> DestinationForm:
    return DestinationForm.of_tree(
        source_tree(vendor), registry.source_class(vendor), forced={}, hidden=HIDDEN
    )


def destination_form(vendor: str, **forced: Any) -> DestinationForm:
    return DestinationForm.build(vendor, forced=forced, hidden=HIDDEN)


def vendor_options(connectors: Mapping[str, type[Connector]]) -> list[tuple[str, str, bool]]:
    """(vendor, name, whether this build connects to it), sorted by name."""
    return sorted(
        ((c.vendor, c.display_name, c.available) for c in connectors.values()),
        key=lambda o: o[1].lower(),
    )


def initial_answers(form: DestinationForm) -> dict[str, Any]:
    """A new object's answers: each choice at its first option, switches off, required
    numbers at their usual value (a port, say)."""
    answers: dict[str, Any] = {}
    for f in form.fields:
        if f.is_switch:
            answers.setdefault(f.name, False)
        elif f.options:
            answers.setdefault(f.name, f.options[0].value)
        elif f.kind == "number" and f.required and f.placeholder.isdigit():
            answers.setdefault(f.name, f.placeholder)
    return answers | form.forced


def saved_answers(
    form: DestinationForm, public: Mapping[str, Any], top: Mapping[str, Any]
) -> dict[str, Any]:
    """The answers a saved object's public config (and top-level settings) hold."""
    answers = initial_answers(form)
    for f in form.fields:
        found, value = _at(f, public, top, form.vendor)
        if found and value is not None:
            answers[f.name] = value if f.is_switch else js_string(value)
    return answers | form.forced


def _at(
    f: Field, public: Mapping[str, Any], top: Mapping[str, Any], vendor: str
) -> tuple[bool, Any]:
    parts = f.path.split(".")
    node: Any = public if parts[0] == vendor else top
    for part in parts[1:] if parts[0] == vendor else parts:
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def with_saved_secrets(
    form: DestinationForm, answers: Mapping[str, Any], revealed: Mapping[str, Any]
) -> dict[str, Any]:
    """The answers, each blank secret filled with the saved one (blank keeps it)."""
    merged = dict(answers)
    for f in shown(form.fields, answers):
        if form.is_secret(f) and not answers.get(f.name):
            found, value = _at(f, revealed, {}, form.vendor)
            if found and value:
                merged[f.name] = value
    return merged


def with_keys(
    session: Session, form: DestinationForm, answers: Mapping[str, Any]
) -> dict[str, Any]:
    """The answers with a Ferry-made key pair in each shown, empty public-key field (an SSH
    tunnel's, an SFTP server's): the server is to trust that key."""
    filled = dict(answers)
    for f in shown(form.fields, answers):
        if f.name in forms.SDK_KEY_FIELDS and not answers.get(f.name):
            filled[f.name] = ssh_keys.generate(session).public_key
    return filled


def sections(
    form: DestinationForm, answers: Mapping[str, Any], checked: Checked | None, *, editing: bool
) -> list[SectionView]:
    """The form's sections; when editing, secrets are optional and say blank keeps them.

    A field shown by a hidden choice (the vendor, chosen above the form) shows always: the
    page's script could not read the hidden choice's answer."""
    views = form.sections(answers, checked.errors if checked else None)
    ids = form.ids
    unseen = {ids[f.index] for f in form.fields if f.name in form.hidden}
    return [
        replace(section, fields=[_adjusted(v, unseen, editing) for v in section.fields])
        for section in views
    ]


def _adjusted(view: FieldView, unseen: set[str], editing: bool) -> FieldView:
    if view.parent_id in unseen:
        view = replace(view, parent_id=None, when=None)
    if editing and view.widget == "password":
        view = replace(
            view,
            required=False,
            retype=False,
            description=f"{view.description} {KEEP_SECRET}".strip(),
        )
    return view


def secret_free(form: DestinationForm, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without their secrets: what a page may write back."""
    return {
        k: v
        for k, v in answers.items()
        if not any(f.name == k and form.is_secret(f) for f in form.fields)
    }


@dataclass(frozen=True, slots=True)
class Panel:
    ok: bool
    title: str
    message: str


INVALID = Panel(
    False, "Some details need attention", "Fix the highlighted fields, then test again."
)


def tested_panel(tested: CheckResult, what: str) -> Panel:
    if tested.ok:
        return Panel(True, "Connection successful", f"Ferry reached the {what} with these details.")
    error = tested.error or {}
    message = str(error.get("message") or "")
    return Panel(
        False, str(error.get("title") or "Connection failed"), message[:1].upper() + message[1:]
    )


def test_answer(
    form: DestinationForm, checked: Checked, tested: CheckResult | None, what: str
) -> dict[str, Any]:
    """What the form's script shows after "Test connection" (see destination-form.js)."""
    if tested is None:
        ids = form.ids
        return {
            "status": "error",
            "display": {"ok": False, "title": INVALID.title, "message": INVALID.message},
            "field_errors": {ids[index]: text for index, text in checked.errors.items()},
            "problems": checked.problems,
        }
    panel = tested_panel(tested, what)
    return {
        "status": "success" if tested.ok else "error",
        "display": {"ok": panel.ok, "title": panel.title, "message": panel.message},
        "field_errors": {},
        "problems": [],
    }
