"""``ferry status``: is this deployment healthy? One line per part, and an exit code.

Checks the metadata database (reachable, at the latest migration), the broker (Redis reachable,
its queue's depth), the workers (those answering a Celery broadcast and consuming Ferry's
queue), the transfers (running, pending, due now, orphaned in the last day) and the scheduler
(a destination due for minutes means none runs). Exits 1 when a part is down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ferry.db.base import utcnow
from ferry.db.models import Destination, Transfer, TransferStatus
from ferry.settings import Settings

State = Literal["ok", "warn", "down", "embedded"]
# The scheduler ticks every few seconds: a destination due for this long was not served.
SCHEDULER_GRACE = timedelta(minutes=5)
ORPHAN_WINDOW = timedelta(days=1)
PARTS = ("database", "broker", "workers", "transfers", "scheduler")
STYLES = {"ok": "green", "warn": "yellow", "down": "bold red", "embedded": "cyan"}


@dataclass
class Check:
    state: State
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for workers to answer.", min=0.1)
    ] = 2.0,
) -> None:
    """Health of the metadata database, broker, workers, transfers and scheduler."""
    from ferry import cli

    settings = cli.load_settings()
    checks = gather(settings, timeout=timeout)
    healthy = all(c.state != "down" for c in checks.values())
    if as_json:
        document = {
            "healthy": healthy,
            "checks": {
                name: {"state": c.state, "detail": c.detail, **c.data} for name, c in checks.items()
            },
        }
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        Console(soft_wrap=True).print(_table(checks, healthy))
    if not healthy:
        raise typer.Exit(code=1)


def gather(settings: Settings, *, timeout: float) -> dict[str, Check]:
    from ferry.db.engine import make_engine, make_sessionmaker

    checks: dict[str, Check] = {}
    engine = make_engine(settings) if _database_exists(settings) else None
    try:
        checks["database"] = _database(settings, engine)
        if engine is not None and checks["database"].state == "ok":
            try:
                with make_sessionmaker(engine, settings)() as session:
                    checks.update(_activity(session))
            except Exception as exc:
                failed = Check("down", f"could not read the metadata database: {_first_line(exc)}")
                checks["transfers"] = checks["scheduler"] = failed
        else:
            skipped = Check("down", "unknown: the metadata database is down")
            checks["transfers"] = checks["scheduler"] = skipped
    finally:
        if engine is not None:
            engine.dispose()
    checks["broker"] = _broker(settings)
    checks["workers"] = _workers(settings, checks["broker"], timeout)
    return {name: checks[name] for name in PARTS}


def _database_exists(settings: Settings) -> bool:
    path = settings.sqlite_path()
    # Connecting would create an empty SQLite file: a status check must change nothing.
    return path is None or path.exists()


def _database(settings: Settings, engine: Any) -> Check:
    from ferry.db import migrate

    where = make_url(settings.database_url).render_as_string(hide_password=True)
    if engine is None:
        return Check(
            "down",
            f"{where}: no such file (`ferry serve` or `ferry migrate` creates it)",
            {"url": where},
        )
    try:
        behind = migrate.pending(settings, engine)
    except Exception as exc:
        return Check("down", f"{where}: unreachable: {_first_line(exc)}", {"url": where})
    if behind:
        return Check(
            "down",
            f"{where}: not at the latest migration; run `ferry migrate`",
            {"url": where, "migrated": False},
        )
    return Check("ok", f"{where}: reachable, at the latest migration", {"url": where})


def _activity(session: Any) -> dict[str, Check]:
    from ferry import metrics

    now = utcnow()
    active = metrics.active(session, now)
    orphaned = int(
        session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(
                Transfer.status == TransferStatus.ORPHANED.value,
                Transfer.ended_at >= now - ORPHAN_WINDOW,
            )
        )
        or 0
    )
    oldest_pending: datetime | None = session.scalar(
        select(func.min(Transfer.submitted_at)).where(
            Transfer.status == TransferStatus.PENDING.value
        )
    )
    counts = {
        "running": active.running,
        "pending": active.pending,
        "due": len(active.due),
        "orphaned_last_day": orphaned,
    }
    detail = (
        f"{active.running} running, {active.pending} pending, {len(active.due)} due now, "
        f"{orphaned} orphaned in the last day"
    )
    if oldest_pending is not None:
        detail += f"; oldest pending for {_ago(now, _aware(oldest_pending))}"
    transfers = Check("warn" if orphaned else "ok", detail, counts)
    return {"transfers": transfers, "scheduler": _scheduler(session, now, active.due)}


def _scheduler(session: Any, now: datetime, due: list[tuple[str, datetime]]) -> Check:
    last: datetime | None = session.scalar(
        select(func.max(Transfer.submitted_at)).where(Transfer.actor_type == "scheduler")
    )
    last_slot: datetime | None = session.scalar(select(func.max(Destination.last_scheduled_at)))
    overdue = [d for d, slot in due if slot < now - SCHEDULER_GRACE]
    data = {
        "last_scheduled_transfer_at": _aware(last).isoformat() if last else None,
        "last_slot_served": _aware(last_slot).isoformat() if last_slot else None,
        "overdue_destinations": overdue,
    }
    seen = (
        f"last started a transfer {_ago(now, _aware(last))} ago"
        if last
        else "has not started a transfer yet"
    )
    if overdue:
        return Check(
            "down",
            f"{len(overdue)} destination(s) due for over {SCHEDULER_GRACE.seconds // 60} "
            f"minutes: is `ferry scheduler` (or `ferry serve`) running? It {seen}",
            data,
        )
    return Check("ok", f"nothing overdue; it {seen}", data)


def _broker(settings: Settings) -> Check:
    from ferry import metrics

    url = settings.broker_url
    if url is None:
        return Check("embedded", "none: `ferry serve` runs the worker in memory")
    where = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return Check("warn", f"{where}: not checked (only Redis brokers are)", {"url": where})
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("down", f"{where}: unreachable: {_first_line(exc)}", {"url": where})
    finally:
        client.close()
    depth = metrics.queue_depth(settings)
    return Check(
        "ok",
        f"{where}: reachable; {depth} message(s) waiting in queue {settings.broker_queue!r}",
        {"url": where, "queue": settings.broker_queue, "queue_depth": depth},
    )


def _workers(settings: Settings, broker: Check, timeout: float) -> Check:
    if settings.broker_url is None:
        return Check("embedded", "inside `ferry serve` (not reachable from here)")
    if broker.state == "down":
        return Check("down", "unknown: the broker is down")
    from workers.app import make_celery

    celery = make_celery(settings)
    try:
        replies = celery.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:
        return Check("down", f"could not ask the workers: {_first_line(exc)}")
    finally:
        celery.close()
    ours = sorted(
        name
        for name, queues in replies.items()
        if any(q.get("name") == settings.broker_queue for q in queues or [])
    )
    data = {"workers": ours, "answering": len(replies)}
    if not ours:
        return Check(
            "down",
            f"no worker consuming queue {settings.broker_queue!r} answered within {timeout:g}s "
            "(start one with `ferry worker`)",
            data,
        )
    return Check("ok", f"{len(ours)} answering: {', '.join(ours)}", data)


def _table(checks: dict[str, Check], healthy: bool) -> Table:
    table = Table(
        title="ferry status: " + ("[green]healthy[/green]" if healthy else "[bold red]DOWN[/]"),
        title_justify="left",
    )
    table.add_column("part")
    table.add_column("state")
    table.add_column("detail", overflow="fold")
    for name, check in checks.items():
        style = STYLES[check.state]
        table.add_row(name, f"[{style}]{check.state}[/]", escape(check.detail))
    return table


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ago(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
