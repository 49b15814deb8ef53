"""The destination form as a page: the form tree's fields with their answers, errors and
visibility, ready for a template; the answers a submitted page holds; and what they make.

Every field of the tree is rendered, shown or not, so that the page's script can show and
hide fields as answers change without asking the server; without the script, the server
renders the fields the answers show (and disables the others, which are then not sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ferry import forms
from ferry.connectors import registry
from ferry.connectors.base import Connector
from ferry.connectors.config import VendorConfig
from ferry.fields import Name
from ferry.services.destinations import FREQUENCIES
from ferry.validation import describe
from ferry.web.answers import Field, js_string, parse_int, prepare, shown
from ferry.web.answers import fields_of as tree_fields
from ferry.web.pages import FormData

_NAME: TypeAdapter[str] = TypeAdapter(Name)


@dataclass(frozen=True, slots=True)
class FieldView:
    """One field as the template draws it."""

    id: str
    name: str
    label: str
    description: str
    placeholder: str
    required: bool
    widget: str  # text | number | password | textarea | select | switch | key
    options: tuple[tuple[str, str], ...]
    value: Any  # never a secret
    shown: bool
    parent_id: str | None
    when: str | None
    error: str | None
    retype: bool  # a secret was typed: it is not sent back, so it must be typed again

    @property
    def described_by(self) -> str:
        ids = [f"{self.id}-hint"] if self.description else []
        if self.error:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


@dataclass(frozen=True, slots=True)
class SectionView:
    title: str
    subtitle: str | None
    fields: list[FieldView]

    @property
    def shown(self) -> bool:
        return any(f.shown for f in self.fields)


@dataclass
class Checked:
    """What a set of answers makes: the settings and vendor config of a destination (or a
    source), or why not (errors by field index, and problems no shown field can carry)."""

    prepared: dict[str, Any]
    name: str | None = None
    frequency_minutes: int | None = None
    config: VendorConfig | None = None
    errors: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems and self.config is not None


@dataclass(frozen=True)
class DestinationForm:
    """One vendor's form. ``forced`` answers are the page's to decide (never taken from the
    browser); ``hidden`` names the fields the page does not show.

    :meth:`build` makes a destination's form; :meth:`of_tree` any connector's whose tree has
    the same shape (a source's, say: no schedule, so no frequency to check)."""

    vendor: str
    tree: dict[str, Any]
    fields: list[Field]
    forced: dict[str, Any]
    hidden: frozenset[str]
    secret_paths: frozenset[str]
    config_model: type[VendorConfig]

    @classmethod
    def build(
        cls, vendor: str, *, forced: Mapping[str, Any], hidden: frozenset[str] = frozenset()
    ) -> DestinationForm:
        connector = registry.destination_class(vendor)
        return cls.of_tree(forms.destination_form(vendor), connector, forced=forced, hidden=hidden)

    @classmethod
    def of_tree(
        cls,
        tree: dict[str, Any],
        connector: type[Connector],
        *,
        forced: Mapping[str, Any],
        hidden: frozenset[str] = frozenset(),
    ) -> DestinationForm:
        """The form of one vendor's tree (``{sections, form}``, rooted at its vendor choice)."""
        vendor = connector.vendor
        config_model = connector.config_model
        secret_paths = frozenset(".".join((vendor, *path)) for path in config_model.secret_paths())
        return cls(
            vendor,
            tree,
            tree_fields(tree),
            {"vendor": vendor, **forced},
            hidden,
            secret_paths,
            config_model,
        )

    @property
    def ids(self) -> dict[int, str]:
        """A unique HTML id per field (names repeat across exclusive branches)."""
        ids: dict[int, str] = {}
        for f in self.fields:
            ident = f"f-{f.name}"
            ids[f.index] = ident if ident not in ids.values() else f"{ident}-{f.index}"
        return ids

    def is_secret(self, f: Field) -> bool:
        return f.input_type == "password" or f.path in self.secret_paths

    def summary(self, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(label, answer) of each shown field a person may read back: no secret, no key."""
        rows = []
        for f in shown(self.fields, answers):
            value = answers.get(f.name)
            if f.name in self.hidden or self.is_secret(f) or f.name in forms.SDK_KEY_FIELDS:
                continue
            if f.is_switch:
                text = "Yes" if value is True else "No"
            elif f.options:
                text = next((o.display for o in f.options if o.value == value), js_string(value))
            elif value is None or value == "":
                continue
            else:
                text = js_string(value)
            rows.append((f.label, text))
        return rows

    def answers_from(self, posted: FormData, start: Mapping[str, Any]) -> dict[str, Any]:
        """The answers a submitted page holds, over ``start`` for fields it did not send."""
        answers = dict(start)
        for f in self.fields:
            values = posted.get(f.name)
            if values is None or f.name in self.forced or f.name in self.hidden:
                continue
            answers[f.name] = "true" in values if f.is_switch else values[-1]
        answers.update(self.forced)
        return answers

    def check(self, answers: Mapping[str, Any]) -> Checked:
        """Validate the destination the answers make, naming the field of each error."""
        visible = shown(self.fields, answers)
        checked = Checked(prepare(answers, visible))
        by_path = {f.path: f for f in visible}

        def report(path: str, reason: str) -> None:
            target = by_path.get(path)
            if target is None:
                checked.problems.append(f"{path}: {reason}" if path else reason)
            else:
                checked.errors.setdefault(target.index, _phrase(target.label, reason))

        try:
            checked.name = _NAME.validate_python(checked.prepared.get("name"))
        except ValidationError as exc:
            report("name", describe(exc.errors(include_url=False)[0])[1])
        if any(f.name == "frequency_minutes" for f in self.fields):
            frequency = parse_int(checked.prepared.get("frequency_minutes", 0))
            if frequency in FREQUENCIES:
                checked.frequency_minutes = frequency
            else:
                report("frequency_minutes", "must be one of the listed frequencies")
        try:
            checked.config = self.config_model.model_validate(
                checked.prepared.get(self.vendor) or {}
            )
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc, reason = describe(error)
                report(".".join(map(str, (self.vendor, *loc))), reason)
        return checked

    def sections(
        self, answers: Mapping[str, Any], errors: Mapping[int, str] | None = None
    ) -> list[SectionView]:
        """The page's sections with their fields. A secret the answers hold is not shown: its
        field says to type it again instead."""
        visible = {f.index for f in shown(self.fields, answers)}
        ids = self.ids
        views: dict[int, list[FieldView]] = {}
        for f in self.fields:
            if f.name in self.hidden:
                continue
            view = self._view(f, answers, ids, f.index in visible, (errors or {}).get(f.index))
            if self.is_secret(f) and answers.get(f.name):
                view = replace(view, retype=True)
            views.setdefault(f.section_id, []).append(view)
        return [
            SectionView(s["title"], s.get("subtitle"), views[s["id"]])
            for s in self.tree["sections"]
            if views.get(s["id"])
        ]

    def _view(
        self,
        f: Field,
        answers: Mapping[str, Any],
        ids: Mapping[int, str],
        is_shown: bool,
        error: str | None,
    ) -> FieldView:
        widget = _widget(f)
        secret = self.is_secret(f)
        value: Any = answers.get(f.name)
        if secret:
            value = None
        elif widget == "switch":
            value = value is True
        elif value is not None:
            value = js_string(value)
        return FieldView(
            id=ids[f.index],
            name=f.name,
            label=f.label,
            description=f.description,
            placeholder=f.placeholder,
            required=f.required,
            widget="password" if secret and widget == "text" else widget,
            options=tuple((o.value, o.display) for o in f.options),
            value=value,
            shown=is_shown,
            parent_id=None if f.parent is None else ids[f.parent],
            when=None if f.when is None else js_string(f.when),
            error=error,
            retype=False,
        )


def _widget(f: Field) -> str:
    if f.name in forms.SDK_KEY_FIELDS:
        return "key"
    if f.is_switch:
        return "switch"
    if f.element in ("select", "radio"):
        return "select"
    if f.element == "textarea" or f.kind == "json":
        return "textarea"
    if f.input_type == "password":
        return "password"
    if f.input_type == "number" or f.kind == "number":
        return "number"
    return "text"


def _phrase(label: str, reason: str) -> str:
    """ "Port must be an integer." from the field's label and a validation reason."""
    if reason.startswith(("is ", "must ")):
        return f"{label} {reason}."
    return f"{label}: {reason}."
