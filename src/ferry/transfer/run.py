"""Running one transfer: every model of the plan, source to destination, with live progress.

Per model: read the tenant's rows in the window (filters pushed down to the source), stream them
as Arrow batches into the destination, which lands and merges them in one transaction with its
``_transfer_status`` row; only then does the watermark move. A model that fails does not stop
the others (the transfer ends PARTIAL_FAILURE). Never imports Celery or FastAPI.
"""

from __future__ import annotations

import functools
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import structlog
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session, sessionmaker

from ferry.connectors.base import (
    ReadRequest,
    StageInstead,
    TableMissing,
    Window,
    WriteContext,
    WriteMode,
    WriteResult,
)
from ferry.connectors.types import TableSpec, conform
from ferry.db.base import table, utcnow
from ferry.db.engine import affected, session_scope
from ferry.db.models import Transfer, TransferStatus
from ferry.errors import ConnectorError, FerryError, Transient
from ferry.services import webhook_delivery
from ferry.settings import Settings
from ferry.transfer import lease, watermarks
from ferry.transfer.plan import ModelPlan, TransferPlan
from ferry.transfer.windows import Piece, Windows

log = structlog.get_logger(__name__)

MB = 1024 * 1024
FLUSH_EVERY = 2.0  # seconds between progress writes to the transfer row
MODEL_RETRIES = 2  # in-place retries of a model after a retryable error (deadlock, blip…)


class Cancelled(FerryError):
    """The transfer was cancelled while it ran."""


class LeaseLost(FerryError):
    """Another worker took the destination over (this one was presumed dead)."""


@dataclass
class Stats:
    rows: int = 0
    bytes: int = 0
    max_modified: datetime | None = None
    null_modified: int = 0


@dataclass
class Progress:
    """The transfer row's live view: log lines and per-model metrics, flushed every few
    seconds so a client polling GET /transfers/{id} sees rows counted as they move."""

    sessions: sessionmaker[Session]
    transfer_id: uuid.UUID
    debug: bool = False
    lines: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    # In-flight progress is first written a few seconds in: a short transfer's final write
    # says it all, and thousands of short transfers should not pay an extra write each.
    _flushed: float = field(default_factory=time.monotonic)
    # Metadata writes that ride with the next flush (see ``keep``).
    _kept: list[Callable[[Session], None]] = field(default_factory=list)

    @functools.cached_property
    def _log(self) -> Any:
        # Bound once per transfer: the module's lazy logger binds anew on every call.
        return log.bind(transfer_id=str(self.transfer_id))

    def say(self, message: str, *, debug: bool = False) -> None:
        if debug and not self.debug:
            return
        stamp = utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")
        self.lines.append(f"{stamp} {message}")
        self._log.info("transfer_log", message=message)

    def model(self, name: str, **values: Any) -> None:
        self.metrics.setdefault(name, {"model_name": name}).update(values)

    def keep(self, write: Callable[[Session], None]) -> None:
        """A metadata write (a watermark the destination has committed) for the next flush:
        a crash before it only makes the next run re-read rows, which upserts make harmless,
        and a short transfer then pays one metadata transaction at its end, not one per
        model."""
        self._kept.append(write)

    def flush(
        self,
        *,
        force: bool = False,
        also: Callable[[Session], None] | None = None,
        **extra: Any,
    ) -> None:
        """Write the live view (at most every few seconds unless forced) with the kept writes;
        ``also`` joins the same metadata transaction (the final status)."""
        now = time.monotonic()
        if not force and now - self._flushed < FLUSH_EVERY:
            return
        self._flushed = now
        with session_scope(self.sessions) as session:
            self.write(session, also=also, **extra)

    def write(
        self, session: Session, *, also: Callable[[Session], None] | None = None, **extra: Any
    ) -> None:
        """Write the live view with the kept writes (and ``also``) in the caller's
        metadata transaction."""
        kept, self._kept = self._kept, []
        metrics = self.metrics.values()
        values = {
            "log": "\n".join(self.lines) + ("\n" if self.lines else ""),
            "model_metrics": list(metrics),
            "rows_transferred": sum(int(m.get("rows_transferred", 0)) for m in metrics),
            "delta_rows_transferred": sum(int(m.get("delta_rows_transferred", 0)) for m in metrics),
            "volume_transferred_in_mb": round(
                sum(float(m.get("volume_transferred_in_mb", 0.0)) for m in metrics), 6
            ),
        }
        # One UPDATE, without loading the row (its log and metrics) first.
        _update_transfer(session, self.transfer_id, {**values, **extra})
        for write in kept:
            write(session)
        if also is not None:
            also(session)


def run_claimed(
    sessions: sessionmaker[Session],
    held: lease.Claim,
    planned: TransferPlan | Exception,
    *,
    worker: str,
    settings: Settings,
    progress: Progress | None = None,
    heartbeat: lease.Heartbeat | None = None,
) -> str:
    """Run a claimed transfer to its end (with the live view and the heartbeat it already
    has, if any); its final status. Raises Transient when it is to be retried later."""
    transfer_id = held.transfer_id
    if progress is None:
        progress = Progress(sessions, transfer_id, debug=held.is_debug_mode)
        progress.say(f"started on {worker}")
    status, error = TransferStatus.ERROR, None
    try:
        with (
            nullcontext(heartbeat) if heartbeat is not None else beating(sessions, held, settings)
        ) as heartbeat:
            if isinstance(planned, Exception):
                raise planned
            status = _run_models(sessions, planned, heartbeat, progress, settings)
    except Cancelled:
        status = TransferStatus.CANCELLED
        progress.say("cancelled; the destination keeps what earlier models committed")
    except _RetryLater as retry:
        progress.say(f"will retry: {retry.reason}")
        _requeue(held, progress)
        raise Transient(retry.reason) from None
    except ConnectorError as exc:
        error = exc.as_dict()
        progress.say(f"failed: {exc.message}")
    except Exception as exc:
        error = {
            "error_code": "PRQL-INTERNAL",
            "title": "Internal error",
            "blame": "prequel",
            "message": str(exc) or type(exc).__name__,
            "trace": traceback.format_exc(),
        }
        progress.say(f"failed: {error['message']}")
        log.exception("transfer_failed", transfer_id=str(transfer_id))
    _finish(held, status, progress, error)
    return status.value


def beating(
    sessions: sessionmaker[Session], held: lease.Claim, settings: Settings
) -> lease.Heartbeat:
    """The heartbeat of a claimed transfer (entered while it runs)."""
    return lease.Heartbeat(
        sessions,
        held,
        interval=timedelta(seconds=settings.worker.heartbeat_seconds),
        lease=timedelta(seconds=settings.worker.lease_seconds),
    )


def snapshot(planned: TransferPlan | Exception) -> dict[str, Any]:
    """Which sources and model revisions the transfer runs with (columns of its row)."""
    if not isinstance(planned, TransferPlan):
        return {}
    return {
        "source_ids": sorted({str(m.source_id) for m in planned.models}),
        "models_snapshot": [
            {
                "model_id": str(m.model_id),
                "model_name": m.name,
                "revision_id": str(m.revision_id),
            }
            for m in planned.models
        ],
    }


class _RetryLater(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_TRANSFER = table(Transfer)
# Prebuilt: the columns set are the keys of the values passed (see _update_transfer).
_TRANSFER_UPDATE = update(_TRANSFER).where(_TRANSFER.c.id == bindparam("b_transfer"))
_NEXT_ATTEMPT = _TRANSFER_UPDATE.values(attempt=_TRANSFER.c.attempt + 1)


def _update_transfer(session: Session, transfer_id: uuid.UUID, values: dict[str, Any]) -> None:
    session.execute(_TRANSFER_UPDATE, {**values, "b_transfer": transfer_id})


def _run_models(
    sessions: sessionmaker[Session],
    plan: TransferPlan,
    heartbeat: lease.Heartbeat,
    progress: Progress,
    settings: Settings,
) -> TransferStatus:
    transfer_id = plan.transfer_id
    kind = "full refresh" if plan.is_full_refresh else "incremental"
    progress.say(
        f"{kind} transfer of {len(plan.models) + len(plan.unrunnable)} model(s) for "
        f"recipient {plan.tenant!r}"
    )
    failures: list[ConnectorError] = []
    for name, model_id, problem in plan.unrunnable:
        progress.model(
            name,
            model_id=str(model_id) if model_id else None,
            error=problem.as_dict(),
            rows_transferred=0,
        )
        progress.say(f"model {name}: {problem.message}")
        failures.append(problem)
    succeeded = 0
    for model in plan.models:
        check(heartbeat)
        try:
            _run_with_retries(plan, model, heartbeat, progress, settings)
            succeeded += 1
        except ConnectorError as exc:
            failures.append(exc)
            progress.model(model.name, error=exc.as_dict())
            progress.say(f"model {model.name}: failed: {exc.message}")
            progress.flush(force=True)
    if not failures:
        return TransferStatus.SUCCESS
    if succeeded:
        return TransferStatus.PARTIAL_FAILURE
    if all(f.is_retryable for f in failures) and not _final(settings, transfer_id, sessions):
        raise _RetryLater(failures[0].message)
    return TransferStatus.ERROR


def _final(settings: Settings, transfer_id: uuid.UUID, sessions: sessionmaker[Session]) -> bool:
    with session_scope(sessions) as session:
        attempt = session.get_one(Transfer, transfer_id).attempt
    return attempt >= settings.worker.max_attempts


def _run_with_retries(
    plan: TransferPlan,
    model: ModelPlan,
    heartbeat: lease.Heartbeat,
    progress: Progress,
    settings: Settings,
) -> None:
    for attempt in range(MODEL_RETRIES + 1):
        try:
            _run_model(plan, model, heartbeat, progress, settings)
            return
        except ConnectorError as exc:
            if not exc.is_retryable or attempt == MODEL_RETRIES:
                raise
            wait = 2 ** (attempt + 1)
            progress.say(f"model {model.name}: {exc.message}; retrying in {wait}s")
            time.sleep(wait)
            check(heartbeat)


def _run_model(
    plan: TransferPlan,
    model: ModelPlan,
    heartbeat: lease.Heartbeat,
    progress: Progress,
    settings: Settings,
) -> None:
    described = model.source.columns(model.config)
    decimals = {
        name: (c.precision, c.scale) for name, c in described.items() if c.precision is not None
    }
    table = TableSpec.from_model(model.config, decimals)
    modified = described.get(table.last_modified.source_name)
    source_type = modified.type_name if modified else "timestamp with time zone"
    mode = WriteMode.REPLACE if plan.is_full_refresh else WriteMode.UPSERT

    def load(watermark: datetime | None) -> None:
        try:
            _load(plan, model, table, source_type, mode, watermark, heartbeat, progress, settings)
        except StageInstead:
            progress.say(
                f"model {model.name}: the rows repeat a primary key; loading them again "
                "through a staging table, which keeps the newest row of each key"
            )
            _load(
                plan,
                model,
                table,
                source_type,
                mode,
                watermark,
                heartbeat,
                progress,
                settings,
                direct=False,
            )

    try:
        load(model.watermark)
    except TableMissing:
        # The recipient dropped the table since Ferry last wrote it: changes alone would leave
        # it with a hole, so it is rebuilt from the start.
        progress.say(
            f"model {model.name}: table {table.name} is missing in the destination; backfilling it"
        )
        load(None)


def _load(
    plan: TransferPlan,
    model: ModelPlan,
    table: TableSpec,
    source_type: str,
    mode: WriteMode,
    watermark: datetime | None,
    heartbeat: lease.Heartbeat,
    progress: Progress,
    settings: Settings,
    *,
    direct: bool = True,
) -> None:
    source, destination = model.source, plan.destination
    window = window_for(plan, model, watermark, source.lookback)
    horizon = source.horizon()
    read_at = utcnow()
    progress.model(
        model.name,
        model_id=str(model.model_id),
        rows_transferred=0,
        delta_rows_transferred=0,
        volume_transferred_in_mb=0.0,
        start_transfer_window_at=iso(window.since),
        end_transfer_window_at=iso(window.until or read_at),
        error=None,
    )
    progress.say(
        f"model {model.name}: reading rows modified "
        + (f"since {iso(window.since)}" if window.since else "at any time")
        + (f" until {iso(window.until)}" if window.until else "")
    )
    stats = Stats()
    windowed = _windowed(plan, model, mode, progress)
    request = ReadRequest(
        model=model.config,
        table=table,
        tenant=plan.tenant,
        window=window,
        batch_rows=settings.worker.batch_rows,
        batch_bytes=settings.worker.batch_bytes,
        # Only cutting rows into windows needs them in order; the watermark is their maximum.
        ordered=windowed is not None,
    )
    batches = _tracked(source.read(request), table, stats, heartbeat, progress, model.name)
    context = WriteContext(
        transfer_id=str(plan.transfer_id),
        model_id=str(model.model_id),
        status_time=read_at,
        is_full_refresh=plan.is_full_refresh,
        direct=direct,
    )
    pieces: Iterable[Piece] = (
        _windows(batches, table, windowed, window)
        if windowed is not None
        else [Piece(since=window.since, until=window.until, batches=batches)]
    )
    total, saved = WriteResult(), watermark
    for landed, piece in enumerate(pieces):
        result = destination.write(
            table,
            piece.batches,
            mode=mode,
            context=context,
            expect_table=saved is not None or landed > 0,
        )
        newest = piece.newest if windowed is not None else stats.max_modified
        new_watermark = next_watermark(plan, saved, newest, horizon)
        total.rows += result.rows
        total.changed += result.changed
        total.bytes += result.bytes
        progress.model(
            model.name,
            rows_transferred=total.rows,
            delta_rows_transferred=total.changed,
            volume_transferred_in_mb=round(total.bytes / MB, 6),
            most_recent_last_updated_at=iso(new_watermark or saved),
        )
        if windowed is not None:
            progress.say(
                f"model {model.name}: window "
                + (
                    f"{iso(piece.since)} to {iso(piece.until)}"
                    if piece.since is not None
                    else f"of rows with a NULL {table.last_modified.name}"
                )
                + f" committed: {result.rows} row(s), {result.changed} changed"
            )
        else:
            summary_line(progress, model, table, total, stats)
        # The destination has committed: the watermark may move (with the model's metrics).
        progress.keep(saver(plan, model, new_watermark, source_type))
        progress.flush()
        saved = new_watermark or saved
    if windowed is not None:
        summary_line(progress, model, table, total, stats)


def summary_line(
    progress: Progress, model: ModelPlan, table: TableSpec, total: WriteResult, stats: Stats
) -> None:
    note = (
        f"; {stats.null_modified} row(s) with a NULL {table.last_modified.name} are sent "
        "on every transfer"
        if stats.null_modified
        else ""
    )
    progress.say(
        f"model {model.name}: {total.rows} row(s) read, {total.changed} changed in "
        f"the destination{note}"
    )


def saver(
    plan: TransferPlan, model: ModelPlan, value: datetime | None, source_type: str
) -> Callable[[Session], None]:
    def save_watermark(session: Session) -> None:
        if value is not None and value != model.watermark:
            watermarks.put(
                session,
                destination_id=plan.destination_id,
                model_name=model.name,
                value=value,
                source_type=source_type,
                transfer_id=plan.transfer_id,
            )

    return save_watermark


def _windowed(
    plan: TransferPlan, model: ModelPlan, mode: WriteMode, progress: Progress
) -> timedelta | None:
    """The width of the model's windows, when its rows are to be committed window by window."""
    seconds = model.config.max_transfer_time_window_seconds
    if seconds is None:
        return None
    if mode is WriteMode.REPLACE:
        progress.say(
            f"model {model.name}: a full refresh swaps the whole table in at once, so it is "
            "not committed window by window"
        )
        return None
    if plan.destination.capabilities.append_only:
        progress.say(
            f"model {model.name}: files are committed by the transfer's manifest, so they are "
            "not committed window by window"
        )
        return None
    return timedelta(seconds=seconds)


def _windows(
    batches: Iterator[pa.RecordBatch], table: TableSpec, width: timedelta, window: Window
) -> Iterator[Piece]:
    """The stream cut into windows; one empty piece when there are no rows at all (the table
    and ``_transfer_status`` are still written)."""
    index = table.column_names.index(table.last_modified.name)
    empty = True
    for piece in Windows(batches, index=index, width=width, origin=window.since):
        empty = False
        yield piece
    if empty:
        yield Piece(since=window.since, until=window.until)


def window_for(
    plan: TransferPlan, model: ModelPlan, watermark: datetime | None, lookback: timedelta
) -> Window:
    since: datetime | None
    if plan.window_start is not None:
        since = plan.window_start
    elif watermark is not None:
        since = watermark - lookback
    else:
        since = (
            datetime.fromtimestamp(model.config.min_start_time_epoch, tz=UTC)
            if model.config.min_start_time_epoch is not None
            else plan.backfill_floor
        )
    # An explicit window selects a span of time; rows without a timestamp belong to none.
    explicit = plan.window_start is not None or plan.window_end is not None
    return Window(since=since, until=plan.window_end, include_null=not explicit)


def next_watermark(
    plan: TransferPlan, previous: datetime | None, newest: datetime | None, horizon: datetime | None
) -> datetime | None:
    """Where the next incremental read starts from (before the lookback).

    Never past the start of the oldest transaction that was open on the source when the read
    began: that transaction may still commit rows stamped before anything read so far. Never
    backwards for an incremental run, and untouched by a run with an explicit end (a backfill of
    a slice of history).
    """
    if plan.window_end is not None:
        return previous
    candidate: datetime | None = newest
    if candidate is not None and horizon is not None and horizon < candidate:
        candidate = horizon
    if candidate is None:
        return previous
    if previous is not None and not plan.is_full_refresh:
        return max(previous, candidate)
    return candidate


def _tracked(
    batches: Iterator[pa.RecordBatch],
    table: TableSpec,
    stats: Stats,
    heartbeat: lease.Heartbeat,
    progress: Progress,
    name: str,
) -> Iterator[pa.RecordBatch]:
    """Source batches conformed to the table's types, counted, and cut short on cancel."""
    modified_index = table.column_names.index(table.last_modified.name)
    for raw in batches:
        check(heartbeat)
        batch = conform(raw, table)
        stats.rows += batch.num_rows
        stats.bytes += batch.nbytes
        column = batch.column(modified_index)
        stats.null_modified += column.null_count
        if column.null_count < len(column):
            newest = pc.max(column).as_py()
            if newest is not None and (stats.max_modified is None or newest > stats.max_modified):
                stats.max_modified = newest
        progress.model(
            name, rows_transferred=stats.rows, volume_transferred_in_mb=round(stats.bytes / MB, 6)
        )
        progress.flush()
        yield batch
    check(heartbeat)


def check(heartbeat: lease.Heartbeat) -> None:
    if heartbeat.cancelled.is_set():
        raise Cancelled("the transfer was cancelled")
    if heartbeat.lost.is_set():
        raise LeaseLost("the destination's lease was lost to another worker")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _requeue(held: lease.Claim, progress: Progress) -> None:
    def back_to_pending(session: Session) -> None:
        lease.release_in(session, held)
        affected(session, _NEXT_ATTEMPT, {"b_transfer": held.transfer_id})

    progress.flush(
        force=True, also=back_to_pending, status=TransferStatus.PENDING.value, started_at=None
    )


def _finish(
    held: lease.Claim,
    status: TransferStatus,
    progress: Progress,
    error: dict[str, Any] | None,
) -> None:
    """The final status, metrics and log, the destination's summary fields, the lease's
    release and the transfer's webhook deliveries, in one metadata transaction (the deliveries
    are sent by their own jobs once it commits)."""
    also, extra = conclusion(held, status, progress, error)
    progress.flush(force=True, also=also, **extra)


def finish_together(
    sessions: sessionmaker[Session], ended: list[tuple[lease.Claim, Progress]]
) -> None:
    """``_finish`` of transfers that succeeded together, in one metadata transaction."""
    with session_scope(sessions) as session:
        for held, progress in ended:
            also, extra = conclusion(held, TransferStatus.SUCCESS, progress, None)
            progress.write(session, also=also, **extra)


def conclusion(
    held: lease.Claim,
    status: TransferStatus,
    progress: Progress,
    error: dict[str, Any] | None,
) -> tuple[Callable[[Session], None], dict[str, Any]]:
    """The last log line said; the final writes of a transfer and its row's final values."""
    ended = utcnow()
    progress.say(f"ended {status.value}")

    def conclude(session: Session) -> None:
        summary: dict[str, Any] = {}
        if status is not TransferStatus.CANCELLED:
            summary["last_completed_transfer_id"] = held.transfer_id
        if status is TransferStatus.SUCCESS:
            summary["last_successful_transfer_ended_at"] = ended
        lease.conclude_in(session, held, summary)
        webhook_delivery.on_transfer_end(
            session,
            environment_id=held.environment_id,
            status=status,
            transfer=lambda: session.get_one(Transfer, held.transfer_id),
        )

    return conclude, {"status": status.value, "ended_at": ended, "error": error}
