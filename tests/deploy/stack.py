"""Reading docker-compose.yml and the Dockerfile the way Docker would, without a Docker engine:
Compose's variable interpolation, YAML anchors and merge keys, and Dockerfile instructions."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
FERRY_SERVICES = ("migrate", "api", "worker", "scheduler")
# The API listens on every interface of its container.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt},
# ${NAME+alt}, $NAME, and $$ for a literal dollar sign.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ValueError):
    """A ``${NAME:?message}`` whose variable is not set: Compose refuses the file."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's interpolation of ``text`` with ``variables`` as the environment."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        value = variables.get(name)
        op, arg = match["op"], match["arg"] or ""
        empty_counts = bool(op) and op.startswith(":")
        unset = value is None or (empty_counts and value == "")
        if op in (":-", "-"):
            return arg if unset else str(value)
        if op in (":?", "?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            return "" if unset else arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def load_compose(variables: Mapping[str, str]) -> dict[str, Any]:
    """docker-compose.yml as Compose sees it: interpolated, anchors and merge keys resolved."""
    loaded = yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), variables))
    assert isinstance(loaded, dict)
    return loaded


def raw_compose() -> dict[str, Any]:
    """docker-compose.yml before interpolation (values still hold ``${…}``)."""
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def port_of(command: list[str]) -> int:
    return int(command[command.index("--port") + 1])


def with_port(command: list[str], port: int) -> list[str]:
    """``command`` listening on ``port`` instead of its own."""
    changed = list(command)
    changed[changed.index("--port") + 1] = str(port)
    return changed


def healthcheck_argv(test: list[str] | str, port: int | None = None) -> list[str]:
    """A Compose (or HEALTHCHECK) test as the argv to run here, its port replaced if given."""
    if isinstance(test, str):
        argv = ["sh", "-c", test]
    elif test[0] == "CMD":
        argv = list(test[1:])
    else:
        assert test[0] == "CMD-SHELL", test
        argv = ["sh", "-c", " ".join(test[1:])]
    if port is not None:
        argv = [re.sub(r"\b8000\b", str(port), part) for part in argv]
    return argv


@dataclass
class Instruction:
    keyword: str
    value: str
    stage: int  # index of the FROM this instruction belongs to (-1 before the first)

    def exec_form(self) -> list[str]:
        parsed = json.loads(self.value)
        assert isinstance(parsed, list), self.value
        return [str(part) for part in parsed]


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions: continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    logical = ""
    stage = -1
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if logical and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, value = logical.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, value.strip(), stage))
        logical = ""
    assert not logical, "the Dockerfile ends in a continuation line"
    return instructions


def require_tool(name: str, hint: str) -> str:
    """The tool's path; skip without it, except in CI, which must have it."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is missing: {hint}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
