"""``ferry models apply DIR`` and ``ferry products apply DIR``: configs kept as files (in git, say)
and published to a running Ferry through its API, as a provider's CI would (spec §8.4).

One JSON file per model: the file name without ``.json`` is the default ``model_name``, and the
config may be bare or wrapped in ``{"model": …}``. One file per product, ``<name>.json`` holding
``{"models": […]}`` (``default.json`` is the default product). Every file is validated before
anything changes (``POST /actions/validate-config`` for models; for products, the models they
name must exist), a unified diff against what the server holds is printed, then models are
created (``POST``) or updated (``PATCH``) unless ``--dry-run``. A file that drops a field clears
it on the server: the files are the whole truth.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import typer

models_app = typer.Typer(help="Publish model configs kept as files.", no_args_is_help=True)
products_app = typer.Typer(help="Publish product configs kept as files.", no_args_is_help=True)

API_VERSION = "2023-12-01"
SKIP = "skip_model_validation"
DEFAULT_PRODUCT = "default"
# What the server adds to a model's config in its answers.
SERVER_FIELDS = frozenset({"id", "revision_id", "created_at", "updated_at"})

Directory = Annotated[
    Path,
    typer.Argument(
        exists=True, file_okay=False, dir_okay=True, help="The directory of *.json files."
    ),
]
Url = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="FERRY_URL", help="The Ferry server, such as https://ferry.example.com."
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="FERRY_API_KEY",
        help="An API key of the environment to publish to.",
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Validate and print the changes; change nothing.")
]
DeleteMissing = Annotated[
    bool, typer.Option("--delete-missing", help="Delete what the server has and no file names.")
]
Action = Literal["create", "update", "unchanged", "delete", "keep"]


class ApplyError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Change:
    """What applying one file (or deleting one object without a file) does."""

    name: str
    source: str  # the file's name, or the server object's for a deletion
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    payload: dict[str, Any] = field(default_factory=dict)

    def diff(self, kind: str) -> list[str]:
        old = _pretty(self.before)
        new = _pretty(self.after)
        return list(
            difflib.unified_diff(
                old,
                new,
                fromfile=f"server: {kind}/{self.name}" if self.before is not None else "/dev/null",
                tofile=self.source if self.after is not None else "/dev/null",
                lineterm="",
            )
        )


class Api:
    """A Ferry API client speaking 2023-12-01; failures raise ApplyError with the server's
    message."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._send(method, path, **kwargs)
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def list_all(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every item of a list, page after page."""
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {"page_size": "100"}
        while True:
            body = self._send("GET", path, params=params)
            items += (body.get("data") or {}).get(key) or []
            next_url = body.get("next_url")
            if not body.get("has_next") or not next_url:
                return items
            # Followed against --url: the server's own idea of its address may differ.
            cursor = parse_qs(urlsplit(next_url).query).get("cursor")
            if not cursor:
                return items
            params = {"page_size": "100", "cursor": cursor[0]}

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApplyError(f"cannot reach {self.http.base_url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApplyError(
                f"{method} {path}: HTTP {response.status_code}, not an answer of the Ferry API"
            )
        if response.status_code != 200 or body.get("status") != "success":
            raise ApplyError(str(body.get("message") or f"HTTP {response.status_code}"))
        return body


@contextmanager
def _connect(url: str | None, api_key: str | None) -> Iterator[Api]:
    from ferry import cli

    if not url:
        raise cli.fail("no server: pass --url or set FERRY_URL")
    if not api_key:
        raise cli.fail("no API key: pass --api-key or set FERRY_API_KEY")
    headers = {"X-API-KEY": api_key, "X-Prequel-Api-Version": API_VERSION}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=120) as http:
        yield Api(http)


def _plan_and_apply(
    url: str | None,
    api_key: str | None,
    kind: str,
    dry_run: bool,
    plan: Callable[[Api], list[Change]],
    apply_one: Callable[[Api, Change], None],
) -> None:
    """Plan the changes, print them, then (unless a dry run) make them; a failure exits."""
    from ferry import cli

    with _connect(url, api_key) as api:
        try:
            changes = plan(api)
            _report(changes, kind, dry_run=dry_run)
            if not dry_run:
                _apply(changes, lambda change: apply_one(api, change))
        except ApplyError as exc:
            raise cli.fail(exc.message) from None


@models_app.command("apply")
def models_apply(
    directory: Directory,
    url: Url = None,
    api_key: ApiKey = None,
    dry_run: DryRun = False,
    delete_missing: DeleteMissing = False,
) -> None:
    """Validate every model file, print the changes, then create or update the models."""
    _plan_and_apply(
        url,
        api_key,
        "models",
        dry_run,
        lambda api: plan_models(api, directory, delete_missing=delete_missing),
        _apply_model,
    )


@products_app.command("apply")
def products_apply(
    directory: Directory,
    url: Url = None,
    api_key: ApiKey = None,
    dry_run: DryRun = False,
    delete_missing: DeleteMissing = False,
) -> None:
    """Check every product file (its models must exist), print the changes, then create or
    update the products and validate each."""
    _plan_and_apply(
        url,
        api_key,
        "products",
        dry_run,
        lambda api: plan_products(api, directory, delete_missing=delete_missing),
        _apply_product,
    )


def plan_models(api: Api, directory: Path, *, delete_missing: bool) -> list[Change]:
    wanted: dict[str, tuple[Path, dict[str, Any], bool]] = {}
    for path in _files(directory):
        config, skip = _read_model(path)
        try:
            checked = api.call("POST", "/actions/validate-config", json={"model": config})
        except ApplyError as exc:
            raise ApplyError(f"{path.name}: {exc.message}") from None
        normalized: dict[str, Any] = checked["model"]
        name = str(normalized["model_name"])
        if name in wanted:
            raise ApplyError(f"{path.name}: model {name!r} is also in {wanted[name][0].name}")
        wanted[name] = (path, normalized, skip)
    current = {m["model_name"]: m for m in api.list_all("/models", "models")}
    changes = []
    for name, (path, local, skip) in wanted.items():
        view = current.get(name)
        if view is None:
            changes.append(
                Change(name, path.name, "create", None, local, {"model": local, SKIP: skip})
            )
            continue
        before = _server_model(view, local)
        cleared = {key: None for key in before if key not in local}
        action: Action = "unchanged" if before == local else "update"
        payload = {"model": local | cleared, SKIP: skip}
        changes.append(Change(name, path.name, action, before, local, payload))
    if delete_missing:
        for name, view in current.items():
            if name not in wanted:
                changes.append(Change(name, name, "delete", _server_model(view, {}), None))
    return changes


def plan_products(api: Api, directory: Path, *, delete_missing: bool) -> list[Change]:
    wanted: dict[str, tuple[Path, dict[str, Any]]] = {}
    files = _files(directory)
    known = {m["model_name"] for m in api.list_all("/models", "models")}
    for path in files:
        local = _read_product(path)
        unknown = [m for m in local["models"] if m != "*" and m not in known]
        if unknown:
            raise ApplyError(
                f"{path.name}: product.models: unknown model {unknown[0]!r} "
                "(apply the models first)"
            )
        name = local["product_name"]
        if name in wanted:
            raise ApplyError(f"{path.name}: product {name!r} is also in {wanted[name][0].name}")
        wanted[name] = (path, local)
    current = {p["product_name"]: p for p in api.list_all("/products", "products")}
    changes = []
    for name, (path, local) in wanted.items():
        view = current.get(name)
        if view is None:
            changes.append(Change(name, path.name, "create", None, local, {"product": local}))
            continue
        before = {"product_name": view["product_name"], "models": view["models"]}
        action: Action = "unchanged" if before == local else "update"
        changes.append(
            Change(name, path.name, action, before, local, {"product": {"models": local["models"]}})
        )
    if delete_missing:
        for name, view in current.items():
            if name not in wanted:
                before = {"product_name": name, "models": view["models"]}
                # The default product cannot be deleted; it stays as it is.
                action = "keep" if name == DEFAULT_PRODUCT else "delete"
                changes.append(Change(name, name, action, before, None))
    return changes


def _files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.glob("*.json") if p.is_file())
    if not files:
        raise ApplyError(f"{directory}: no *.json files")
    return files


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ApplyError(f"{path.name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApplyError(
            f"{path.name}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _read_model(path: Path) -> tuple[dict[str, Any], bool]:
    """A model file's config (bare or wrapped, as POST /actions/validate-config takes it) and
    whether it asks to skip validation against the live source."""
    raw = _load(path)
    if not isinstance(raw, dict):
        raise ApplyError(f"{path.name}: must be a JSON object (a model config)")
    wrapped = isinstance(raw.get("model"), dict) and set(raw) <= {"model", SKIP}
    config = dict(raw["model"] if wrapped else raw)
    skip = bool(raw.get(SKIP)) if wrapped else False
    skip = bool(config.pop(SKIP, False)) or skip
    config.setdefault("model_name", path.stem)
    return config, skip


def _read_product(path: Path) -> dict[str, Any]:
    raw = _load(path)
    if isinstance(raw, dict) and set(raw) == {"product"} and isinstance(raw["product"], dict):
        raw = raw["product"]
    models = raw.get("models") if isinstance(raw, dict) else None
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ApplyError(f'{path.name}: must be {{"models": [model names]}}')
    extra = sorted(set(raw) - {"models", "product_name"})
    if extra:
        raise ApplyError(f"{path.name}: unknown field {extra[0]!r}")
    name = raw.get("product_name", path.stem)
    if not isinstance(name, str) or not name:
        raise ApplyError(f"{path.name}: product_name must be a non-empty string")
    return {"product_name": name, "models": list(dict.fromkeys(models))}


def _server_model(view: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """A model as the server shows it, in the shape of a config file."""
    config = {k: v for k, v in view.items() if k not in SERVER_FIELDS and v is not None}
    if isinstance(view.get("columns"), list):
        config["columns"] = [
            {k: v for k, v in column.items() if v is not None} for column in view["columns"]
        ]
    if "source_id" not in local:
        # Shown resolved even when the model names its source by name (or by nothing).
        config.pop("source_id", None)
    return config


def _report(changes: list[Change], kind: str, *, dry_run: bool) -> None:
    for change in changes:
        if change.action == "unchanged":
            typer.echo(f"{change.source}: unchanged")
            continue
        if change.action == "keep":
            typer.echo(f"{change.name}: kept (the default product cannot be deleted)")
            continue
        for line in change.diff(kind):
            color = (
                typer.colors.GREEN
                if line.startswith("+")
                else typer.colors.RED
                if line.startswith("-")
                else typer.colors.CYAN
                if line.startswith("@@")
                else None
            )
            typer.secho(line, fg=color)
        typer.echo(f"{change.source}: {change.action} {kind[:-1]} {change.name!r}")
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "delete")}
    unchanged = sum(c.action in ("unchanged", "keep") for c in changes)
    if not any(counts.values()):
        typer.echo(f"no changes: {unchanged} {kind} unchanged")
        return
    summary = (
        f"{counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {unchanged} unchanged"
    )
    typer.echo(summary + (" (dry run: nothing was changed)" if dry_run else ""))


def _apply(changes: list[Change], apply_one: Callable[[Change], None]) -> None:
    done = 0
    for change in changes:
        if change.action in ("unchanged", "keep"):
            continue
        try:
            apply_one(change)
        except ApplyError as exc:
            note = f" ({done} change(s) before it were applied)" if done else ""
            raise ApplyError(f"{change.source}: {exc.message}{note}") from None
        done += 1
    if done:
        typer.echo(f"applied {done} change(s)")


def _apply_model(api: Api, change: Change) -> None:
    path = f"/models/{quote(change.name, safe='')}"
    if change.action == "create":
        api.call("POST", "/models", json=change.payload)
    elif change.action == "update":
        api.call("PATCH", path, json=change.payload)
    elif change.action == "delete":
        api.call("DELETE", path)


def _apply_product(api: Api, change: Change) -> None:
    path = f"/products/{quote(change.name, safe='')}"
    if change.action == "create":
        api.call("POST", "/products", json=change.payload)
    elif change.action == "update":
        api.call("PATCH", path, json=change.payload)
    elif change.action == "delete":
        api.call("DELETE", path)
        return
    api.call("POST", f"{path}/validate")


def _pretty(document: dict[str, Any] | None) -> list[str]:
    if document is None:
        return []
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
