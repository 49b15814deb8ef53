"""One OpenAPI document per API version, generated from the routes and request models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ferry import __version__
from ferry.api.deps import VersionedBody
from ferry.api.versions import ApiVersion

DESCRIPTION = """\
Ferry's REST API, compatible with the Prequel Export API.

Authenticate with `X-API-KEY: sk_staging_…` or `sk_prod_…` (the prefix picks the environment).
Choose the version per request with `X-Prequel-Api-Version` ({versions}); without it the
server's default applies. Every response is the envelope `{{"status", "data", "message"}}`;
2023-12-01 lists add `has_next` and, when true, `next_url`. Every path is also served under
`/export/…` for older clients.
"""

ENVELOPE = {
    "type": "object",
    "required": ["status", "data", "message"],
    "properties": {
        "status": {"type": "string", "enum": ["success", "error"]},
        "data": {},
        "message": {"type": "string"},
        "has_next": {"type": "boolean"},
        "next_url": {"type": "string", "format": "uri"},
    },
}
ERRORS = {
    "400": "Invalid input: `message` names the field and the problem",
    "401": "Missing or invalid credentials",
    "403": "Outside the caller's scope",
    "404": "No such object (or another organization's)",
    "409": "Conflict with an existing object",
    "413": "Request body over the size limit",
}


def _versioned_body(dependant: Dependant) -> VersionedBody | None:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, VersionedBody):
            return dependency.call
        found = _versioned_body(dependency)
        if found is not None:
            return found
    return None


def build_openapi(routers: Sequence[APIRouter], version: ApiVersion) -> dict[str, Any]:
    # Routers carry their prefixes in their routes' paths; they are included without one.
    routes = [
        r
        for router in routers
        for r in router.routes
        if isinstance(r, APIRoute) and r.include_in_schema
    ]
    document = get_openapi(
        title="Ferry API",
        version=version.value,
        routes=routes,
        openapi_version="3.1.0",
        description=DESCRIPTION.format(versions=", ".join(v.value for v in ApiVersion)),
    )
    document["info"]["x-ferry-version"] = __version__
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Envelope"] = ENVELOPE
    components["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"}
    }

    bodies: dict[tuple[str, str], tuple[type[BaseModel], bool]] = {}
    for route in routes:
        versioned = _versioned_body(route.dependant)
        if versioned is not None:
            for method in route.methods or ():
                bodies[(route.path_format, method.lower())] = (
                    versioned.models[version],
                    versioned.optional,
                )
    from ferry.api.schemas.models import ModelIn

    models = {m for m, _ in bodies.values()} | {ModelIn}
    refs, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=_name)],
        ref_template="#/components/schemas/{model}",
    )
    schemas.update(defs.get("$defs", {}))

    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            found = bodies.get((path, method))
            if found is not None:
                model, optional = found
                operation["requestBody"] = {
                    "required": not optional,
                    "content": {"application/json": {"schema": refs[(model, "validation")]}},
                }
            operation.setdefault("parameters", []).append(
                {
                    "name": "X-Prequel-Api-Version",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "enum": [version.value], "default": version.value},
                }
            )
            if not path.startswith("/public") and path != "/actions/generate-ssh-key":
                operation["security"] = [{"ApiKey": []}]
            operation["responses"] = _responses()
    return document


def _responses() -> dict[str, Any]:
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}
    responses: dict[str, Any] = {"200": {"description": "Success", "content": envelope}}
    for code, text in ERRORS.items():
        responses[code] = {"description": text, "content": envelope}
    return responses


def _name(model: type[BaseModel]) -> str:
    return model.__name__
