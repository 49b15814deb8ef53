"""The one response envelope: ``{"status", "data", "message"}`` (+ pagination fields)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


def ok(
    data: Any, message: str = "ok", *, has_next: bool | None = None, next_url: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "success", "data": data, "message": message}
    if has_next is not None:
        body["has_next"] = has_next
        if has_next and next_url:
            body["next_url"] = next_url
    return body


def failure(message: str, *, data: Any = None) -> dict[str, Any]:
    return {"status": "error", "data": data, "message": message}


def failure_response(
    status_code: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(failure(message), status_code=status_code, headers=headers)
