"""The Postman collections in postman/: current with openapi/, shaped as Collection Format v2.1
requires, loaded by Postman's own collection SDK, and every request answered by Ferry when sent
the way Postman sends it."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator, Draft202012Validator

from ferry.cli_postman import (
    OPENAPI_DIR,
    POSTMAN_DIR,
    SCHEMA_URL,
    build_collection,
    collection_name,
    collections,
    render,
)
from tests.conftest import Tenant
from tests.deploy.stack import require_tool
from tests.processes import clean_env, npm_ci, run

METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
SDK_DIR = Path(__file__).resolve().parent / "postman_sdk"

# The parts of the Postman Collection Format v2.1.0 schema
# (https://schema.getpostman.com/json/collection/v2.1.0/collection.json) a collection made of
# folders of requests touches: each object's required fields and the types of its fields.
_DESCRIPTION: dict[str, Any] = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {
                "content": {"type": "string"},
                "type": {"type": "string"},
                "version": {},
            },
        },
        {"type": "null"},
    ]
}
_VARIABLE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "key": {"type": "string"},
        "value": {},
        "type": {"enum": ["string", "boolean", "any", "number"]},
        "name": {"type": "string"},
        "description": {"$ref": "#/definitions/description"},
        "system": {"type": "boolean"},
        "disabled": {"type": "boolean"},
    },
    "anyOf": [{"required": ["id"]}, {"required": ["key"]}, {"required": ["id", "key"]}],
}
POSTMAN_V21: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["info", "item"],
    "properties": {
        "info": {"$ref": "#/definitions/info"},
        "item": {
            "type": "array",
            "items": {
                "oneOf": [{"$ref": "#/definitions/item"}, {"$ref": "#/definitions/item-group"}]
            },
        },
        "variable": {"$ref": "#/definitions/variable-list"},
    },
    "definitions": {
        "description": _DESCRIPTION,
        "variable": _VARIABLE,
        "variable-list": {"type": "array", "items": {"$ref": "#/definitions/variable"}},
        "info": {
            "type": "object",
            "required": ["name", "schema"],
            "properties": {
                "name": {"type": "string"},
                "_postman_id": {"type": "string"},
                "description": {"$ref": "#/definitions/description"},
                "schema": {"type": "string"},
            },
        },
        "item-group": {
            "type": "object",
            "required": ["item"],
            "properties": {
                "name": {"type": "string"},
                "description": {"$ref": "#/definitions/description"},
                "variable": {"$ref": "#/definitions/variable-list"},
                "item": {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            {"$ref": "#/definitions/item"},
                            {"$ref": "#/definitions/item-group"},
                        ]
                    },
                },
            },
        },
        "item": {
            "type": "object",
            "required": ["request"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "description": {"$ref": "#/definitions/description"},
                "variable": {"$ref": "#/definitions/variable-list"},
                "request": {"$ref": "#/definitions/request"},
                "response": {"type": "array"},
            },
        },
        "header": {
            "type": "object",
            "required": ["key", "value"],
            "properties": {
                "key": {"type": "string"},
                "value": {"type": "string"},
                "disabled": {"type": "boolean"},
                "description": {"$ref": "#/definitions/description"},
            },
        },
        "url": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "raw": {"type": "string"},
                        "protocol": {"type": "string"},
                        "host": {
                            "oneOf": [
                                {"type": "string"},
                                {"type": "array", "items": {"type": "string"}},
                            ]
                        },
                        "path": {
                            "oneOf": [
                                {"type": "string"},
                                {
                                    "type": "array",
                                    "items": {"oneOf": [{"type": "string"}, {"type": "object"}]},
                                },
                            ]
                        },
                        "port": {"type": "string"},
                        "query": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "key": {"type": ["string", "null"]},
                                    "value": {"type": ["string", "null"]},
                                    "disabled": {"type": "boolean"},
                                    "description": {"$ref": "#/definitions/description"},
                                },
                            },
                        },
                        "hash": {"type": "string"},
                        "variable": {"$ref": "#/definitions/variable-list"},
                    },
                },
                {"type": "string"},
            ]
        },
        "request": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "url": {"$ref": "#/definitions/url"},
                        "method": {"type": "string"},
                        "description": {"$ref": "#/definitions/description"},
                        "header": {
                            "oneOf": [
                                {"type": "array", "items": {"$ref": "#/definitions/header"}},
                                {"type": "string"},
                            ]
                        },
                        "body": {
                            "oneOf": [
                                {
                                    "type": "object",
                                    "properties": {
                                        "mode": {"enum": ["raw", "urlencoded", "formdata", "file"]},
                                        "raw": {"type": "string"},
                                        "disabled": {"type": "boolean"},
                                    },
                                },
                                {"type": "null"},
                            ]
                        },
                    },
                },
                {"type": "string"},
            ]
        },
    },
}


def documents() -> dict[str, dict[str, Any]]:
    """version → OpenAPI document, from openapi/."""
    found = {}
    for path in sorted(OPENAPI_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        found[document["info"]["version"]] = document
    assert found, f"no OpenAPI documents in {OPENAPI_DIR}"
    return found


def checked_in(version: str) -> dict[str, Any]:
    loaded = json.loads((POSTMAN_DIR / collection_name(version)).read_text())
    assert isinstance(loaded, dict)
    return loaded


def requests_of(collection: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(folder name, item) for every request of the collection."""
    return [(folder["name"], item) for folder in collection["item"] for item in folder["item"]]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def postman_path(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", r":\1", path)


def headers(item: dict[str, Any]) -> dict[str, str]:
    return {h["key"]: h["value"] for h in item["request"]["header"] if not h.get("disabled")}


@pytest.mark.parametrize("version", sorted(documents()))
def test_the_collection_is_current(version: str) -> None:
    made = render(build_collection(documents()[version]))
    assert (POSTMAN_DIR / collection_name(version)).read_text() == made, (
        "postman/ is stale: run `ferry postman`"
    )
    # Deterministic: the same input makes the same bytes.
    assert render(build_collection(documents()[version])) == made


def test_the_command_checks_and_writes(tmp_path: Path) -> None:
    current = run(["postman", "--check"], clean_env(), tmp_path)
    assert current.returncode == 0, current.stderr
    written = run(["postman", "--directory", str(tmp_path / "out")], clean_env(), tmp_path)
    assert written.returncode == 0, written.stderr
    assert {p.name: p.read_text() for p in (tmp_path / "out").iterdir()} == collections(OPENAPI_DIR)
    (tmp_path / "out" / collection_name("2099-01-01")).write_text("{}")
    (tmp_path / "out" / collection_name(sorted(documents())[0])).write_text("{}")
    stale = run(["postman", "--check", "--directory", str(tmp_path / "out")], clean_env(), tmp_path)
    assert stale.returncode == 1
    assert "2099-01-01" in stale.stderr
    assert sorted(documents())[0] in stale.stderr
    rewritten = run(["postman", "--directory", str(tmp_path / "out")], clean_env(), tmp_path)
    assert rewritten.returncode == 0, rewritten.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(collections(OPENAPI_DIR))


@pytest.mark.parametrize("version", sorted(documents()))
def test_the_collection_has_the_v2_1_shape(version: str) -> None:
    collection = checked_in(version)
    Draft7Validator.check_schema(POSTMAN_V21)
    errors = sorted(Draft7Validator(POSTMAN_V21).iter_errors(collection), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    assert collection["info"]["schema"] == SCHEMA_URL
    assert collection["info"]["name"].endswith(version)
    assert collection["variable"] == [
        {
            "key": "baseUrl",
            "value": "http://127.0.0.1:8000",
            "type": "string",
            "description": collection["variable"][0]["description"],
        },
        {
            "key": "apiKey",
            "value": "",
            "type": "string",
            "description": collection["variable"][1]["description"],
        },
        {
            "key": "apiVersion",
            "value": version,
            "type": "string",
            "description": collection["variable"][2]["description"],
        },
    ]
    ids = [collection["info"]["_postman_id"]]
    ids += [f["id"] for f in collection["item"]]
    ids += [item["id"] for _, item in requests_of(collection)]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 5 for i in ids)


@pytest.mark.parametrize("version", sorted(documents()))
def test_every_operation_appears_once_in_its_tag_folder(version: str) -> None:
    document = documents()[version]
    collection = checked_in(version)
    made = [
        (item["request"]["method"], "/" + "/".join(item["request"]["url"]["path"]), folder)
        for folder, item in requests_of(collection)
    ]
    expected = [(m, postman_path(p), op["tags"][0]) for m, p, op in operations(document)]
    assert sorted(made) == sorted(expected)
    assert len(set(made)) == len(made)
    # Folders follow the document's order of tags.
    assert [f["name"] for f in collection["item"]] == list(dict.fromkeys(t for *_, t in expected))


@pytest.mark.parametrize("version", sorted(documents()))
def test_requests_carry_headers_variables_and_example_bodies(version: str) -> None:
    document = documents()[version]
    by_route = {
        (item["request"]["method"], "/" + "/".join(item["request"]["url"]["path"])): item
        for _, item in requests_of(checked_in(version))
    }
    public = 0
    for method, path, operation in operations(document):
        item = by_route[(method, postman_path(path))]
        request, url = item["request"], item["request"]["url"]
        sent = headers(item)
        assert sent["X-Prequel-Api-Version"] == "{{apiVersion}}"
        if operation.get("security", document.get("security")):
            assert sent["X-API-KEY"] == "{{apiKey}}"
        else:
            public += 1
            assert "X-API-KEY" not in sent
        assert url["host"] == ["{{baseUrl}}"]
        assert url["raw"].startswith("{{baseUrl}}/" + "/".join(url["path"]))
        parameters = operation.get("parameters", [])
        path_names = [p["name"] for p in parameters if p["in"] == "path"]
        assert [v["key"] for v in url.get("variable", [])] == path_names
        assert [s[1:] for s in url["path"] if s.startswith(":")] == path_names
        query = [p for p in parameters if p["in"] == "query"]
        assert [q["key"] for q in url.get("query", [])] == [p["name"] for p in query]
        for entry, parameter in zip(url.get("query", []), query, strict=True):
            assert entry["description"]
            assert entry["disabled"] is not parameter.get("required", False)
        body_schema = (
            operation.get("requestBody", {})
            .get("content", {})
            .get("application/json", {})
            .get("schema")
        )
        if body_schema is None:
            assert "body" not in request
            assert "Content-Type" not in sent
            continue
        assert sent["Content-Type"] == "application/json"
        assert request["body"]["mode"] == "raw"
        example = json.loads(request["body"]["raw"])
        # The example is valid for the operation's own schema.
        schema = {"components": document["components"]} | body_schema
        Draft202012Validator(schema).validate(example)
    assert public >= 1


def test_every_request_reaches_its_route_as_postman_sends_it(
    client: TestClient, tenant: Tenant
) -> None:
    """Each request, its variables filled in as Postman fills them (the path variables with ids
    that match nothing), answered by its route: no 401, unknown route, 405, 422 or 5xx."""
    for version in sorted(documents()):
        collection = checked_in(version)
        values = {v["key"]: v["value"] for v in collection["variable"]}
        values |= {"baseUrl": "", "apiKey": tenant.staging.key}

        def fill(text: str, values: dict[str, str] = values) -> str:
            return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m[1]], text)

        for folder, item in requests_of(collection):
            request, url = item["request"], item["request"]["url"]
            path = "/" + "/".join(
                str(uuid.uuid4()) if s.startswith(":") else s for s in url["path"]
            )
            response = client.request(
                request["method"],
                fill(path),
                headers={k: fill(v) for k, v in headers(item).items()},
                # URLs in example bodies (a webhook's) point at this machine, never outside.
                content=(request.get("body") or {})
                .get("raw", "")
                .replace("https://example.com", "http://127.0.0.1:9")
                or None,
            )
            where = f"{version} {folder}/{item['name']}: {request['method']} {path}"
            assert response.status_code not in (401, 405, 422), (where, response.text)
            assert response.status_code < 500, (where, response.text)
            body = response.json()
            assert body["status"] in ("success", "error"), where
            assert not str(body["message"]).startswith("no such route"), where


@pytest.mark.slow
def test_postmans_collection_sdk_loads_every_request() -> None:
    """postman-collection (the SDK Postman and newman load collections with) understands each
    file: every request, its URL once the collection's variables are filled in, its headers."""
    node = require_tool("node", "install Node.js 20 with npm")
    require_tool("npm", "install Node.js 20 with npm")
    npm_ci(SDK_DIR)
    files = {version: POSTMAN_DIR / collection_name(version) for version in documents()}
    done = subprocess.run(
        [node, str(SDK_DIR / "load_collections.mjs"), *map(str, files.values())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    for version, path in files.items():
        seen = loaded[str(path)]
        collection = checked_in(version)
        assert seen["isCollection"] is True
        assert seen["id"] == collection["info"]["_postman_id"]
        assert seen["variables"] == {
            "baseUrl": "http://127.0.0.1:8000",
            "apiKey": "",
            "apiVersion": version,
        }
        ours = {item["id"]: (folder, item) for folder, item in requests_of(collection)}
        assert sorted(r["id"] for r in seen["requests"]) == sorted(ours)
        assert len(seen["requests"]) == len(operations(documents()[version]))
        for request in seen["requests"]:
            folder, item = ours[request["id"]]
            assert request["isItem"] is True
            assert request["folder"] == folder
            assert request["method"] == item["request"]["method"]
            path = "/" + "/".join(item["request"]["url"]["path"])
            assert request["path"] == path
            assert request["url"] == "http://127.0.0.1:8000" + path
            assert request["pathVariables"] == [
                v["key"] for v in item["request"]["url"].get("variable", [])
            ]
            sent = {h["key"]: h["value"] for h in request["headers"] if not h["disabled"]}
            assert sent == headers(item)
            if "body" in item["request"]:
                assert request["body"] == {"mode": "raw", "raw": item["request"]["body"]["raw"]}
            else:
                assert request["body"] is None
