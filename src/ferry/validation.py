"""Turning pydantic errors into one readable message that names each field's path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ferry.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "bool_type": "must be a boolean",
    "bool_parsing": "must be a boolean",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "uuid_parsing": "must be a UUID",
    "uuid_type": "must be a UUID",
    "datetime_parsing": "must be an RFC 3339 date-time",
    "datetime_from_date_parsing": "must be an RFC 3339 date-time",
    "datetime_type": "must be an RFC 3339 date-time",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
}


def _location(loc: Iterable[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def describe(error: Mapping[str, Any]) -> tuple[tuple[int | str, ...], str]:
    """(location, reason) of one pydantic error."""
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "selected_missing":
        return (*loc, ctx["field"]), f"is required when {ctx['selector']} is {ctx['value']}"
    if kind == "string_too_long":
        return loc, f"must be at most {ctx.get('max_length')} characters"
    if kind in ("string_too_short", "too_short"):
        return loc, "must not be empty"
    if kind == "literal_error":
        return loc, f"must be one of {ctx.get('expected')}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error", error.get("msg", "")))
        return loc, message.removeprefix("Value error, ")
    reason = _MESSAGES.get(kind)
    if reason is None:
        message = str(error.get("msg", "is invalid"))
        reason = message[:1].lower() + message[1:]
    return loc, reason


def message_for(errors: Sequence[Any], prefix: tuple[int | str, ...] = ()) -> str:
    described = []
    for error in errors[:10]:
        loc, reason = describe(error)
        where = _location((*prefix, *[p for p in loc if p not in ("body",)]))
        described.append(f"{where}: {reason}" if where else reason)
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return "; ".join(described) + more


def invalid(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> InvalidInput:
    return InvalidInput(message_for(exc.errors(include_url=False), prefix))


def parse(model: type[M], data: Any, prefix: tuple[int | str, ...] = ()) -> M:
    """Validate ``data`` as ``model``, raising InvalidInput naming the field on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, prefix) from None
