"""Exception handlers: every failure leaves as the envelope with an honest status code."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ferry.api.envelope import failure
from ferry.errors import FerryError
from ferry.validation import message_for

log = structlog.get_logger(__name__)

_HTTP_MESSAGES = {
    404: "no such route",
    405: "method not allowed on this route",
}


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def install(app: FastAPI) -> None:
    @app.exception_handler(FerryError)
    async def ferry_error(request: Request, exc: FerryError) -> JSONResponse:
        if exc.http_status < 500:
            return JSONResponse(failure(exc.message), status_code=exc.http_status)
        request_id = _request_id(request)
        log.error("server_error", request_id=request_id, error=exc.message, exc_info=exc)
        return JSONResponse(
            failure(f"{exc.message} (request id {request_id})"), status_code=exc.http_status
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(failure("request body is not valid JSON"), status_code=400)
        # Query and path parameters: drop FastAPI's "query"/"path" prefix from the location.
        cleaned = [dict(e, loc=tuple(e.get("loc", ()))[1:]) for e in errors]
        return JSONResponse(failure(message_for(cleaned)), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = _HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
        if exc.status_code == 404:
            message = f"no such route: {request.method} {request.url.path}"
        return JSONResponse(
            failure(message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check uniqueness first; this is the race two concurrent writers can lose.
        log.info("integrity_conflict", request_id=_request_id(request), error=str(exc.orig))
        return JSONResponse(
            failure("conflict: a concurrent change to the same object won; retry the request"),
            status_code=409,
        )

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        request_id = _request_id(request)
        log.error("database_error", request_id=request_id, error=str(exc.orig))
        return JSONResponse(
            failure(f"the metadata database is unavailable; retry later (request id {request_id})"),
            status_code=503,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, _exc: Exception) -> JSONResponse:
        request_id = _request_id(request)
        log.exception("unhandled_error", request_id=request_id, path=request.url.path)
        # Starlette runs this handler outside the app's middleware: set the header here too.
        return JSONResponse(
            failure(f"internal error (request id {request_id})"),
            status_code=500,
            headers={"X-Request-ID": request_id},
        )
