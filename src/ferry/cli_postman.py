"""``ferry postman``: a Postman collection (format v2.1) per API version, made from the OpenAPI
documents in openapi/.

Requests are grouped in folders by OpenAPI tag, in the documents' order. Each carries the
``X-Prequel-Api-Version: {{apiVersion}}`` header, ``X-API-KEY: {{apiKey}}`` unless the route is
public (an operation without ``security``), path variables as ``:name``, every query parameter
(the optional ones disabled) and, for requests with a body, a minimal JSON example built from the
body's schema. ``baseUrl``, ``apiKey`` and ``apiVersion`` are collection variables. The output
is deterministic: ids are UUIDv5 of the version and operation id, so regenerating changes nothing
unless the API changed.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DIR = PROJECT_ROOT / "openapi"
POSTMAN_DIR = PROJECT_ROOT / "postman"

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
KEY_HEADER = "X-API-KEY"
VERSION_HEADER = "X-Prequel-Api-Version"
# The HTTP methods an OpenAPI path item may hold, in a fixed order.
METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "ferry:postman-collection")
SUFFIX = ".postman_collection.json"

Json = dict[str, Any]


def collection_name(version: str) -> str:
    return f"ferry-{version}{SUFFIX}"


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\n".join(parts)))


def render(collection: Json) -> str:
    return json.dumps(collection, indent=2) + "\n"


def build_collection(document: Json) -> Json:
    """The Postman collection (v2.1) of one OpenAPI document."""
    version = str(document["info"]["version"])
    components = document.get("components", {}).get("schemas", {})
    # An operation without its own `security` inherits the document's (OpenAPI 3).
    default_security = document.get("security", [])
    folders: dict[str, list[Json]] = {}
    for path, path_item in document.get("paths", {}).items():
        shared = path_item.get("parameters", [])
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["other"])[0]
            folders.setdefault(tag, []).append(
                _item(version, path, method, operation, shared, components, default_security)
            )
    info: Json = {
        "_postman_id": stable_id(version),
        "name": f"{document['info'].get('title', 'Ferry API')} {version}",
        "schema": SCHEMA_URL,
    }
    if document["info"].get("description"):
        info["description"] = document["info"]["description"]
    descriptions = {t["name"]: t.get("description") for t in document.get("tags", [])}
    return {
        "info": info,
        "item": [
            _folder(version, tag, items, descriptions.get(tag)) for tag, items in folders.items()
        ],
        "variable": [
            _variable("baseUrl", DEFAULT_BASE_URL, "Where Ferry answers (no trailing slash)."),
            _variable("apiKey", "", f"An API key (`ferry keys create`), sent as {KEY_HEADER}."),
            _variable("apiVersion", version, f"Sent as {VERSION_HEADER}."),
        ],
    }


def _variable(key: str, value: str, description: str) -> Json:
    return {"key": key, "value": value, "type": "string", "description": description}


def _folder(version: str, tag: str, items: list[Json], description: str | None) -> Json:
    folder: Json = {"id": stable_id(version, "folder", tag), "name": tag}
    if description:
        folder["description"] = description
    folder["item"] = items
    return folder


def _item(
    version: str,
    path: str,
    method: str,
    operation: Json,
    shared: list[Json],
    components: Json,
    default_security: list[Json],
) -> Json:
    by_key = {(p["in"], p["name"]): p for p in [*shared, *operation.get("parameters", [])]}
    parameters = list(by_key.values())
    headers: list[Json] = []
    if operation.get("security", default_security):
        headers.append({"key": KEY_HEADER, "value": "{{apiKey}}"})
    headers.append({"key": VERSION_HEADER, "value": "{{apiVersion}}"})
    for parameter in parameters:
        if parameter["in"] == "header" and parameter["name"] not in (KEY_HEADER, VERSION_HEADER):
            headers.append(
                {
                    "key": parameter["name"],
                    "value": "",
                    "description": _describe(parameter),
                    "disabled": not parameter.get("required", False),
                }
            )
    request: Json = {"method": method.upper(), "header": headers}
    body = _json_body(operation, components)
    if body is not None:
        headers.append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(body, indent=2),
            "options": {"raw": {"language": "json"}},
        }
    request["url"] = _url(path, parameters)
    if operation.get("description"):
        request["description"] = operation["description"]
    operation_id = operation.get("operationId") or f"{method} {path}"
    return {
        "id": stable_id(version, operation_id),
        "name": operation.get("summary") or f"{method.upper()} {path}",
        "request": request,
        "response": [],
    }


def _url(path: str, parameters: list[Json]) -> Json:
    segments = [
        f":{s[1:-1]}" if s.startswith("{") and s.endswith("}") else s
        for s in path.strip("/").split("/")
        if s
    ]
    query = [
        {
            "key": p["name"],
            "value": "",
            "description": _describe(p),
            "disabled": not p.get("required", False),
        }
        for p in parameters
        if p["in"] == "query"
    ]
    raw = "{{baseUrl}}/" + "/".join(segments)
    sent = [q for q in query if not q["disabled"]]
    if sent:
        raw += "?" + "&".join(f"{q['key']}=" for q in sent)
    url: Json = {"raw": raw, "host": ["{{baseUrl}}"], "path": segments}
    if query:
        url["query"] = query
    variables = [
        {"key": p["name"], "value": "", "description": _describe(p)}
        for p in parameters
        if p["in"] == "path"
    ]
    if variables:
        url["variable"] = variables
    return url


def _describe(parameter: Json) -> str:
    schema = parameter.get("schema", {})
    text = parameter.get("description") or schema.get("description") or schema.get("title")
    kinds = [
        str(s.get("format") or s.get("type"))
        for s in schema.get("anyOf", [schema])
        if s.get("type") not in (None, "null")
    ]
    need = "required" if parameter.get("required") else "optional"
    detail = f"{'/'.join(kinds) or 'any'}, {need}"
    return f"{text} ({detail})" if text else detail.capitalize()


def _json_body(operation: Json, components: Json) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if media is None:
        return None
    return example(media.get("schema", {}), components)


def example(schema: Json, components: Json, seen: frozenset[str] = frozenset()) -> Any:
    """A minimal value of ``schema``: its required fields only, with placeholders of their type
    (the first choice of an enum or anyOf, a field's minimum, one item where items are required)."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in components:
            return {}
        return example(components[name], components, seen | {name})
    for key in ("example", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example(options[0], components, seen)
    if "allOf" in schema:
        merged: Json = {}
        for part in schema["allOf"]:
            value = example(part, components, seen)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties", {})
        return {
            name: example(properties.get(name, {"type": "string"}), components, seen)
            for name in schema.get("required", [])
        }
    if kind == "array":
        if schema.get("minItems", 0) > 0:
            return [example(schema.get("items", {}), components, seen)]
        return []
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


_FORMATS = {
    "uuid": "00000000-0000-0000-0000-000000000000",
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "email": "user@example.com",
    "uri": "https://example.com",
    "password": "secret",
}
# Placeholders tried in turn against a string's pattern and length limits.
_CANDIDATES = ("string", "https://example.com", "example", "a", "A", "0", "a.b")


def _string(schema: Json) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[str(schema["format"])]
    pattern = schema.get("pattern")
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 1 << 31))
    for candidate in _CANDIDATES:
        if low <= len(candidate) <= high and (pattern is None or re.search(pattern, candidate)):
            return candidate
    return "string"


def collections(openapi_dir: Path) -> dict[str, str]:
    """File name → rendered collection, one per OpenAPI document in ``openapi_dir``."""
    made = {}
    for path in sorted(openapi_dir.glob("*.json")):
        document = json.loads(path.read_text())
        made[collection_name(str(document["info"]["version"]))] = render(build_collection(document))
    return made


def postman(
    check: Annotated[bool, typer.Option(help="Fail if the collections are not current.")] = False,
    directory: Annotated[Path, typer.Option(help="Where the collections go.")] = POSTMAN_DIR,
    openapi: Annotated[
        Path, typer.Option(help="The OpenAPI documents to convert (`ferry openapi`).")
    ] = OPENAPI_DIR,
) -> None:
    """Write a Postman collection per API version to postman/, from openapi/<version>.json."""
    wanted = collections(openapi)
    if not wanted:
        _fail(f"no OpenAPI documents in {openapi}")
    existing = {p.name for p in directory.glob(f"*{SUFFIX}")} if directory.is_dir() else set()
    if check:
        stale = sorted(
            name
            for name, text in wanted.items()
            if not (directory / name).is_file() or (directory / name).read_text() != text
        )
        stale += sorted(existing - set(wanted))
        if stale:
            _fail(f"postman collections are stale: {', '.join(stale)}; run `ferry postman`")
        typer.echo("postman collections are current", err=True)
        return
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in wanted.items():
        (directory / name).write_text(text)
    for name in sorted(existing - set(wanted)):
        (directory / name).unlink()
    typer.echo(f"wrote {directory}", err=True)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)
