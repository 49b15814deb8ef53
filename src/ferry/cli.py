"""The ``ferry`` command."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from cryptography.fernet import Fernet

from ferry import crypto
from ferry.cli_transfers import app as transfers_app
from ferry.errors import ConfigurationError, FerryError
from ferry.settings import Settings

if TYPE_CHECKING:
    from ferry.runtime import Runtime

if TYPE_CHECKING:
    from ferry.runtime import Runtime

app = typer.Typer(
    help="Ferry: hand each customer its own data, in its own warehouse.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="API keys and the secret key.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(transfers_app, name="transfers")

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "openapi"


def load_settings() -> Settings:
    from ferry.logging import configure

    try:
        settings = Settings()
    except ValueError as exc:
        fail(f"invalid settings: {exc}")
    configure(settings.log_level)
    return settings


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


def _ready_database(settings: Settings) -> None:
    """Migrate the embedded SQLite database; insist on a migrated one otherwise."""
    from ferry.db import migrate
    from ferry.db.engine import make_engine

    if settings.is_sqlite:
        migrate.upgrade(settings)
        return
    engine = make_engine(settings)
    try:
        if migrate.pending(settings, engine):
            fail("the metadata database is not at the latest migration; run `ferry migrate`")
    finally:
        engine.dispose()


def prepare(settings: Settings) -> None:
    try:
        crypto.keys_from_settings(settings)
        _ready_database(settings)
    except ConfigurationError as exc:
        fail(exc.message)


def build_runtime(settings: Settings) -> tuple[Runtime, Any]:
    """This process's runtime and Celery app; committed jobs go out through Celery."""
    from ferry import runtime
    from workers.app import make_celery, sender

    current = runtime.Runtime.build(settings)
    runtime.install(current)
    celery = make_celery(settings)
    current.send_jobs_with(sender(celery))
    return current, celery


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the API server; with no broker configured, a worker and the scheduler run inside it."""
    import uvicorn

    from ferry.api.app import create_app
    from workers import app as celery_app
    from workers import scheduler

    settings = load_settings()
    prepare(settings)
    current, celery = build_runtime(settings)
    if settings.broker_url is None:
        celery_app.start_embedded(
            celery, concurrency=settings.worker.concurrency, settings=settings
        )
        scheduler.start_embedded(current, threading.Event())
    uvicorn.run(
        create_app(settings, current),
        host=host,
        port=port,
        proxy_headers=True,
        # uvicorn's own lines (startup, errors) go out in Ferry's format; requests are logged
        # by Ferry's middleware, with their organization and route.
        log_config=None,
        access_log=False,
        log_level=settings.log_level.lower(),
        server_header=False,
    )


@app.command()
def worker() -> None:
    """Run a transfer worker (needs FERRY_BROKER_URL; scale out by starting more)."""
    import socket

    from workers import app as celery_app

    settings = load_settings()
    if settings.broker_url is None:
        fail(
            "FERRY_BROKER_URL is not set: `ferry serve` runs an embedded worker; set a broker "
            "(redis://…) to run workers apart"
        )
    prepare(settings)
    _, celery = build_runtime(settings)
    # A unique name per process: several workers may share a host.
    hostname = f"ferry-{os.getpid()}@{socket.gethostname()}"
    celery_app.worker(
        celery, concurrency=settings.worker.concurrency, hostname=hostname, settings=settings
    ).start()


@app.command()
def scheduler(
    interval: Annotated[float, typer.Option(help="Seconds between ticks.")] = 15.0,
) -> None:
    """Start due transfers and recover lost ones (one is enough; a second is harmless)."""
    import signal

    from workers import scheduler as loop

    settings = load_settings()
    prepare(settings)
    current, _ = build_runtime(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    loop.run_forever(current, stop, interval=interval)


@app.command()
def migrate() -> None:
    """Bring the metadata database to the latest schema (Alembic upgrade head)."""
    from ferry.db import migrate as migrations

    settings = load_settings()
    migrations.upgrade(settings)
    typer.echo("metadata database is up to date", err=True)


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option(help="Organization name; created if missing.")],
    env: Annotated[str, typer.Option(help="Environment: staging or prod.")] = "staging",
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
) -> None:
    """Create an API key; prints only the key."""
    from ferry.db.engine import make_engine, make_sessionmaker, session_scope
    from ferry.services import organizations

    settings = load_settings()
    try:
        _ready_database(settings)
        engine = make_engine(settings)
        with session_scope(make_sessionmaker(engine, settings)) as session:
            key = organizations.create_api_key(session, org_name=org, environment=env, name=name)
        engine.dispose()
    except FerryError as exc:
        fail(exc.message)
    sys.stdout.write(key + "\n")


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="The API key to revoke.")]) -> None:
    """Revoke an API key."""
    from ferry.db.engine import make_engine, make_sessionmaker, session_scope
    from ferry.services import organizations

    settings = load_settings()
    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine, settings)) as session:
        revoked = organizations.revoke_api_key(session, api_key=key)
    engine.dispose()
    if not revoked:
        fail("no such active key")
    typer.echo("key revoked", err=True)


@keys_app.command("rotate-webhook-key")
def keys_rotate_webhook_key() -> None:
    """Sign webhooks with a new key from now on (the old one stays published for 7 days)."""
    from ferry import webhooks
    from ferry.db.engine import session_scope

    settings = load_settings()
    prepare(settings)
    current, _ = build_runtime(settings)
    try:
        with session_scope(current.sessions) as session:
            key = webhooks.rotate(session)
    except FerryError as exc:
        fail(exc.message)
    typer.echo(f"webhooks are now signed with key {key.public.key_id}", err=True)


@keys_app.command("secret")
def keys_secret() -> None:
    """Print a new secret key for FERRY_SECRET_KEY (a Fernet key)."""
    sys.stdout.write(Fernet.generate_key().decode() + "\n")


@app.command()
def openapi(
    check: Annotated[bool, typer.Option(help="Fail if the files are not current.")] = False,
    directory: Annotated[Path, typer.Option(help="Where the documents go.")] = OPENAPI_DIR,
) -> None:
    """Write the OpenAPI document of each API version to openapi/<version>.json."""
    from ferry.api.app import ROUTERS
    from ferry.api.openapi import build_openapi
    from ferry.api.versions import ApiVersion

    stale = []
    for version in ApiVersion:
        path = directory / f"{version.value}.json"
        text = json.dumps(build_openapi(ROUTERS, version), indent=2) + "\n"
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        fail(f"openapi documents are stale: {', '.join(stale)}; run `ferry openapi`")
    typer.echo("openapi documents are current" if check else f"wrote {directory}", err=True)


# `ferry postman`: Postman collections from the OpenAPI documents (see ferry/cli_postman.py).
from ferry.cli_postman import postman  # noqa: E402

app.command()(postman)


# `ferry status`: a health summary of the deployment (see ferry/cli_status.py).
from ferry.cli_status import status  # noqa: E402

app.command()(status)

# `ferry models apply DIR`, `ferry products apply DIR`: configs as code (see ferry/cli_apply.py).
from ferry.cli_apply import models_app, products_app  # noqa: E402

app.add_typer(models_app, name="models")
app.add_typer(products_app, name="products")


if __name__ == "__main__":
    app()
