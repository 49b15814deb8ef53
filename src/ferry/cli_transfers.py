"""``ferry transfers …``: start a transfer from the command line and watch it run."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ferry.db.engine import session_scope
from ferry.db.models import Destination, Environment, Transfer, TransferStatus
from ferry.errors import FerryError
from ferry.runtime import Runtime
from ferry.scope import Scope
from ferry.services import transfers
from ferry.services.views import transfer_view

app = typer.Typer(help="Start and follow transfers.", no_args_is_help=True)
console = Console(stderr=True)
POLL_SECONDS = 0.5
TERMINAL = {s.value for s in TransferStatus if not s.is_active}


def _scope_of(runtime: Runtime, destination_id: uuid.UUID) -> Scope:
    with session_scope(runtime.sessions) as session:
        destination = session.get(Destination, destination_id)
        if destination is None:
            raise FerryError(f"destination {destination_id} not found")
        environment = session.get_one(Environment, destination.environment_id)
        return Scope(
            organization_id=environment.organization_id,
            environment_id=environment.id,
            environment=environment.kind,
            actor_type="user",
            actor_id="cli",
        )


def request(
    runtime: Runtime, destination_id: uuid.UUID, *, full_refresh: bool, models: list[str]
) -> tuple[uuid.UUID, bool]:
    scope = _scope_of(runtime, destination_id)
    with session_scope(runtime.sessions) as session:
        found, created = transfers.request(
            session,
            scope=scope,
            destination_id=destination_id,
            data={"full_refresh": full_refresh, "models": models or None},
        )
        return found.id, created


def snapshot(runtime: Runtime, transfer_id: uuid.UUID) -> dict[str, Any]:
    with session_scope(runtime.sessions) as session:
        return transfer_view(session.get_one(Transfer, transfer_id))


def render(view: dict[str, Any], started: float) -> Table:
    status = view["status"]
    elapsed = time.monotonic() - started
    rate = view["rows_transferred"] / elapsed if elapsed > 0 else 0.0
    table = Table(
        title=f"transfer {view['id']} · {status} · {elapsed:,.1f}s · {rate:,.0f} rows/s",
        title_justify="left",
        expand=False,
    )
    for column, justify in (
        ("model", "left"),
        ("rows", "right"),
        ("changed", "right"),
        ("MB", "right"),
        ("state", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    metrics = view["model_metrics"] or [{"model_name": "…", "rows_transferred": 0}]
    for metric in metrics:
        error = metric.get("error")
        state = (
            f"[red]{error['message'][:80]}[/red]"
            if error
            else "[green]done[/green]"
            if status in TERMINAL
            else _bar(int(metric.get("rows_transferred") or 0))
        )
        table.add_row(
            str(metric.get("model_name")),
            f"{int(metric.get('rows_transferred') or 0):,}",
            f"{int(metric.get('delta_rows_transferred') or 0):,}",
            f"{float(metric.get('volume_transferred_in_mb') or 0):,.2f}",
            state,
        )
    table.add_row(
        "[bold]total[/bold]",
        f"[bold]{view['rows_transferred']:,}[/bold]",
        f"[bold]{view['delta_rows_transferred']:,}[/bold]",
        f"[bold]{view['volume_transferred_in_mb']:,.2f}[/bold]",
        "",
    )
    return table


def _bar(rows: int) -> str:
    """A moving bar: the total is unknown until the source is exhausted."""
    width, position = 20, int(time.monotonic() * 8) % 20
    cells = ["─"] * width
    cells[position] = "█"
    return "".join(cells) + f" {rows:,}"


def follow(runtime: Runtime, transfer_id: uuid.UUID) -> dict[str, Any]:
    started = time.monotonic()
    view = snapshot(runtime, transfer_id)
    with Live(render(view, started), console=console, refresh_per_second=8) as live:
        while view["status"] not in TERMINAL:
            time.sleep(POLL_SECONDS)
            view = snapshot(runtime, transfer_id)
            live.update(render(view, started))
    return view


@app.command("run")
def run_command(
    destination_id: Annotated[str, typer.Argument(help="The destination to transfer to.")],
    full_refresh: Annotated[bool, typer.Option(help="Rebuild every table.")] = False,
    model: Annotated[list[str] | None, typer.Option(help="Only this model (repeatable).")] = None,
    follow_: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Show progress until it ends.")
    ] = True,
) -> None:
    """Start a transfer and, by default, show its progress until it ends."""
    from ferry import cli, transfer

    settings = cli.load_settings()
    cli.prepare(settings)
    runtime, _ = cli.build_runtime(settings)
    try:
        target = uuid.UUID(destination_id)
        transfer_id, created = request(
            runtime, target, full_refresh=full_refresh, models=model or []
        )
    except (ValueError, FerryError) as exc:
        raise cli.fail(getattr(exc, "message", f"destination_id: {exc}")) from None
    console.print(("started" if created else "already running:") + f" transfer {transfer_id}")
    runner = None
    if settings.broker_url is None:
        # No broker means no separate worker will pick it up: this process runs it (and so
        # waits for it even when not following).
        runner = threading.Thread(
            target=transfer.run,
            args=(runtime.sessions, transfer_id),
            kwargs={"worker": "cli", "settings": settings},
            daemon=True,
        )
        runner.start()
    if not follow_:
        if runner is not None:
            runner.join()
        typer.echo(str(transfer_id))
        return
    final = follow(runtime, transfer_id)
    typer.echo(str(transfer_id))
    if final["status"] != TransferStatus.SUCCESS.value:
        raise typer.Exit(code=1)
