"""FastAPI dependencies, as ``Annotated`` aliases: sessions, callers, versions, bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from ferry import logging as logs
from ferry.api.pagination import PageParams, page_params
from ferry.api.versions import ApiVersion
from ferry.errors import Forbidden, InvalidInput, Unauthorized
from ferry.scope import Scope
from ferry.services import organizations, tokens
from ferry.settings import Settings
from ferry.validation import parse


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, committed after the handler and before the response."""
    with request.app.state.sessionmaker() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": the commit above runs before the response is sent, so a client never
# sees a success for a write that then fails to commit.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def get_version(request: Request) -> ApiVersion:
    version: ApiVersion = request.state.api_version
    return version


ApiVersionDep = Annotated[ApiVersion, Depends(get_version)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def any_scope(request: Request, session: DbSession) -> Scope:
    """An API key (``X-API-KEY``, any letter case) or a recipient's scoped token
    (``Authorization: Bearer`` with ``X-APP-ID``)."""
    key = request.headers.get("x-api-key")
    if key:
        scope = organizations.authenticate(session, api_key=key.strip())
    elif (token := _bearer(request)) is not None:
        try:
            scope = tokens.verify(
                session,
                token=token,
                app_id=request.headers.get("x-app-id"),
                origin=request.headers.get("origin"),
            )
        except Unauthorized as exc:
            raise Unauthorized(
                f"{exc.message}; send a valid scoped token, or an API key in the X-API-KEY header"
            ) from None
    else:
        raise Unauthorized(
            "missing credentials: send an API key in X-API-KEY (or, from a "
            "recipient's browser, a scoped token as Authorization: Bearer)"
        )
    request.state.scope = scope
    logs.bind_scope(scope)
    return scope


def api_key_scope(request: Request, session: DbSession) -> Scope:
    """The environment opened by an API key; a valid scoped token here is out of its scope."""
    scope = any_scope(request, session)
    if scope.is_recipient:
        raise Forbidden("a scoped token cannot use this route; it needs an API key")
    return scope


ApiScope = Annotated[Scope, Depends(api_key_scope)]
# Routes a recipient's scoped token may also use (the React SDK's calls).
AnyScope = Annotated[Scope, Depends(any_scope)]
Pagination = Annotated[PageParams, Depends(page_params)]


def base_url(request: Request) -> str:
    """Where this server is reached, for links it hands out (``FERRY_PUBLIC_URL`` wins)."""
    settings: Settings = request.app.state.settings
    return settings.public_url or f"{request.url.scheme}://{request.url.netloc}"


BaseUrl = Annotated[str, Depends(base_url)]


async def read_json(request: Request) -> Any:
    """The request body as JSON; None when the body is empty."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        parsed = json.loads(raw)
        # Kept as sent: a scoped token's check fingerprints exactly what the client sent.
        request.state.json_body = parsed
        return parsed
    except UnicodeDecodeError:
        raise InvalidInput("request body is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InvalidInput("request body is not valid JSON: nested too deeply") from None


class VersionedBody:
    """Parses the body with the model of the request's API version.

    The OpenAPI generator reads ``models`` to describe each version's request body.
    """

    def __init__(
        self,
        current: type[BaseModel],
        base: type[BaseModel] | None = None,
        *,
        optional: bool = False,
    ) -> None:
        self.models = {ApiVersion.V2023_12_01: current, ApiVersion.BASE: base or current}
        self.optional = optional

    async def __call__(self, request: Request) -> BaseModel:
        version: ApiVersion = request.state.api_version
        data = await read_json(request)
        if data is None:
            if not self.optional:
                raise InvalidInput("request body is required")
            data = {}
        if not isinstance(data, dict):
            raise InvalidInput("request body must be a JSON object")
        return parse(self.models[version], data)


def body(
    current: type[BaseModel], base: type[BaseModel] | None = None, *, optional: bool = False
) -> Any:
    return Depends(VersionedBody(current, base, optional=optional))


def sent_object(request: Request, key: str) -> Any:
    """The object under ``key`` in the request body, exactly as the client sent it."""
    body = getattr(request.state, "json_body", None)
    return body.get(key) if isinstance(body, dict) else None
