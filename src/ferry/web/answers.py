"""Form answers in, destination out: what ``@prequel/react`` 1.1.0 does with the form tree.

Ports two pieces of the SDK so that a page built from :func:`ferry.forms.destination_form`
sends exactly what the SDK would send for the same answers:

- ``useDestinationForm``: which nodes are shown (a child when its parent's answer equals the
  child's ``parent``; ``internal`` nodes only on request) and the dotted path each field is
  written at (the ``parent`` values of the node and its ancestors, plus the segments the SDK
  adds itself, see :mod:`ferry.forms`);
- ``prepareDestinationWithForm``: the flat answers nested at those paths, with ports and
  timeouts read by ``parseInt`` and the JSON fields by ``JSON.parse``.

Answers are one flat dict keyed by field name, as in the SDK: text for inputs and selects,
``bool`` for switches. A value JavaScript would leave ``undefined`` is simply absent here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.forms import (
    SDK_BOOLEAN_PARENT,
    SDK_BUCKET_AUTH_PARENT,
    SDK_BUCKET_AUTH_VENDORS,
    SDK_BUCKET_FIELDS,
    SDK_INTEGER_FIELDS,
    SDK_JSON_FIELDS,
    TOP_LEVEL_FIELDS,
)

# Vendors whose bucket_name/bucket_region the SDK nests, by the segment it adds.
_BUCKET_SEGMENTS = (
    (frozenset({"bigquery"}), "bucket_gcs"),
    (frozenset({"redshift", "redshift_serverless", "athena"}), "bucket_s3"),
)
# ``service_account`` is informational: the SDK never sends it.
_NOT_SENT = frozenset({"service_account"})
_DECIMAL = re.compile(r"[+-]?\d+")
_HEXADECIMAL = re.compile(r"([+-]?)0[xX]([0-9a-fA-F]+)")


@dataclass(frozen=True, slots=True)
class Option:
    value: str  # as a <select> holds it
    display: str


@dataclass(frozen=True, slots=True)
class Field:
    """One node of the tree as a form field, whether shown or not."""

    index: int
    name: str
    path: str  # where prepareDestinationWithForm writes the answer
    kind: str  # string | number | boolean | json
    element: str  # select | input | radio | textarea | div
    input_type: str | None
    required: bool
    label: str
    placeholder: str
    description: str
    section_id: int
    key_format: str | None
    options: tuple[Option, ...]
    parent: int | None  # index of the field whose answer shows this one
    when: str | bool | None  # the answer of ``parent`` that shows it

    @property
    def is_switch(self) -> bool:
        return self.kind == "boolean"


def fields_of(tree: Mapping[str, Any], *, include_internal: bool = False) -> list[Field]:
    """Every field of a form tree (``{sections, form}``), parents before their children."""
    found: list[Field] = []
    _walk(tree["form"], [], None, include_internal, found)
    return found


def _walk(
    node: Mapping[str, Any],
    prefix: list[str],
    parent: int | None,
    include_internal: bool,
    found: list[Field],
) -> None:
    attributes = node["attributes"]
    if attributes["internal"] and not include_internal:
        return
    name = node["name"]
    if name not in TOP_LEVEL_FIELDS:
        prefix = [*prefix, _parent_segment(node["parent"])]
        if name in SDK_BUCKET_FIELDS:
            for vendors, segment in _BUCKET_SEGMENTS:
                if vendors & set(prefix):
                    prefix = [*prefix, segment]
                    break
        if SDK_BUCKET_AUTH_VENDORS & set(prefix) and name in SDK_BUCKET_AUTH_PARENT:
            prefix = [*prefix, SDK_BUCKET_AUTH_PARENT[name]]
    index = len(found)
    found.append(
        Field(
            index=index,
            name=name,
            path=".".join(_unique([*prefix, name])),
            kind=node["type"],
            element=attributes["form_element"],
            input_type=attributes.get("input_type"),
            required=bool(node["required"]),
            label=attributes["label"],
            placeholder=attributes["placeholder"],
            description=attributes["description"],
            section_id=attributes["section_id"],
            key_format=attributes.get("key_format"),
            options=tuple(
                Option(js_string(o["key"]), o["display"]) for o in node.get("enum") or ()
            ),
            parent=parent,
            when=None if parent is None else _when(node["parent"]),
        )
    )
    for child in node["children"] or ():
        _walk(child, prefix, index, include_internal, found)


def _parent_segment(parent: Any) -> str:
    if isinstance(parent, bool):
        return SDK_BOOLEAN_PARENT[parent]
    return js_string(parent)


def _when(parent: Any) -> str | bool:
    return parent if isinstance(parent, bool) else js_string(parent)


def _unique(parts: Iterable[str]) -> list[str]:
    """The first occurrence of each path segment (the SDK's ``b``)."""
    return list(dict.fromkeys(parts))


def shown(fields: list[Field], answers: Mapping[str, Any]) -> list[Field]:
    """The fields these answers show: the root, and each child whose parent is shown and
    answered with the child's ``when``."""
    visible: set[int] = set()
    for field in fields:
        if field.parent is None or (
            field.parent in visible
            and strict_equal(answers.get(fields[field.parent].name), field.when)
        ):
            visible.add(field.index)
    return [f for f in fields if f.index in visible]


def prepare(answers: Mapping[str, Any], visible: list[Field]) -> dict[str, Any]:
    """``prepareDestinationWithForm`` then ``JSON.stringify``: the nested destination."""
    enabled = answers.get("is_enabled")
    prepared: dict[str, Any] = {
        key: answers[key]
        for key in ("vendor", "name", "recipient_id", "enabled_models", "frequency_minutes")
        if key in answers
    }
    prepared["is_enabled"] = True if enabled is None else enabled
    for field in visible:
        if field.name in _NOT_SENT:
            continue
        *parents, leaf = field.path.split(".")
        node = prepared
        for part in parents:
            if not isinstance(node.get(part), dict):
                if truthy(node.get(part)):
                    raise ValueError(f"{field.path}: {part} already holds a value")
                node[part] = {}
            node = node[part]
        present, value = _value(answers, field.name)
        if present:
            node[leaf] = value
        else:
            node.pop(leaf, None)
    return prepared


def _value(answers: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """(whether JSON keeps it, the value) for one answer, parsed as the SDK's ``n`` does."""
    value = answers.get(name)
    if name in SDK_JSON_FIELDS:
        parsed = _json_or_missing(value)
        return parsed is not _MISSING, parsed
    if name in SDK_INTEGER_FIELDS:
        return True, parse_int("0" if value is None else value)
    return name in answers, value


_MISSING = object()


def _json_or_missing(value: Any) -> Any:
    if not truthy(value):
        return _MISSING

    def no_constants(constant: str) -> Any:
        raise ValueError(constant)  # JSON.parse knows no NaN or Infinity

    try:
        return json.loads(js_string(value), parse_constant=no_constants)
    except (ValueError, RecursionError):
        return _MISSING


def parse_int(value: Any) -> int | None:
    """``parseInt``: a leading integer (decimal, or hexadecimal after 0x); None for NaN."""
    text = js_string(value).lstrip()
    hexadecimal = _HEXADECIMAL.match(text)
    if hexadecimal:
        return int(hexadecimal.group(1) + hexadecimal.group(2), 16)
    decimal = _DECIMAL.match(text)
    return int(decimal.group(0)) if decimal else None


def truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    return True


def strict_equal(a: Any, b: Any) -> bool:
    """``a === b`` for the values answers hold."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return isinstance(a, str) and isinstance(b, str) and a == b


def js_string(value: Any) -> str:
    """``String(value)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
