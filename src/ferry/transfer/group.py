"""Taking a transfer, and with it the pending transfers to the same database server: one pass.

When many recipients' destinations are schemas on one server, written with one login (a
provider hosting its customers' databases), running their transfers one by one pays, for each,
a source query, a destination transaction and the metadata writes around them. Instead the
worker that takes such a transfer also claims up to ``worker.group_size - 1`` pending transfers
to the same server and runs them together, model by model:

- one source query reads every member's rows, each tenant in its own window (filters pushed
  down: ``organization_column IN (…)`` and the last-modified bounds);
- one destination transaction lands them all: each member's schema, tables and new columns,
  one bulk load into a staging table, then each member's merge and ``_transfer_status`` row.
  Every member's destination ends either as before or fully updated;
- the members' final statuses, metrics, watermarks and lease releases are one metadata
  transaction.

Members must be alike: incremental runs of models every member has loaded before (a first
load or a full refresh runs alone, its rows going straight into new tables with COPY), the
same models at the same revisions read through the same source login, no explicit window and
no models committed window by window, and destination configs that are equal but for the
schema, secrets included. A transfer that is not alike is left pending for its own task. If the
pass fails for any reason (one member's table refuses the rows, a cancellation, a lost
connection), nothing of it is kept and each member runs on its own, as it would have without a
pass; a member whose table was dropped is backfilled on its own too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import structlog
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from ferry import logging as logs
from ferry.connectors.base import GroupRead, GroupTarget, WriteContext
from ferry.connectors.types import TableSpec, conform
from ferry.db.base import table, utcnow
from ferry.db.engine import session_scope
from ferry.db.models import Destination, Transfer, TransferStatus
from ferry.errors import FerryError, Transient
from ferry.settings import Settings
from ferry.transfer import lease, memory
from ferry.transfer import run as engine
from ferry.transfer.plan import TransferPlan, build, transfer_row, transfer_rows

log = structlog.get_logger(__name__)

_TRANSFER = table(Transfer)
_DESTINATION = table(Destination)

# Pending transfers to destinations behind the same connection, oldest first. On PostgreSQL,
# the destinations are locked as a lone claim locks them (destination, then transfer), and
# those another worker is claiming are skipped: two workers gathering at once never wait for
# each other, let alone deadlock.
_COMPANIONS = (
    select(_TRANSFER.c.id)
    .join(_DESTINATION, _DESTINATION.c.id == _TRANSFER.c.destination_id)
    .where(
        _DESTINATION.c.environment_id == bindparam("environment_id"),
        _DESTINATION.c.placement_key == bindparam("placement_key"),
        _TRANSFER.c.status == TransferStatus.PENDING.value,
        _TRANSFER.c.cancel_requested_at.is_(None),
        _TRANSFER.c.id != bindparam("transfer_id"),
    )
    .order_by(_TRANSFER.c.submitted_at, _TRANSFER.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=_DESTINATION)
)


@dataclass(frozen=True, slots=True)
class Member:
    held: lease.Claim
    plan: TransferPlan
    fields: dict[str, Any]

    @property
    def transfer_id(self) -> uuid.UUID:
        return self.held.transfer_id


def run(
    sessions: sessionmaker[Session], transfer_id: uuid.UUID, *, worker: str, settings: Settings
) -> str | None:
    """Run a PENDING transfer to its end, with the pending transfers to the same server that
    can share its pass; returns its final status (None: nothing to do).

    Raises Transient (after putting the transfer back to PENDING) when every model failed for
    a reason worth retrying and this is not the final attempt. Log lines of the run, and of
    any thread that names the transfer, carry its destination, organization and environment.
    """
    memory.use_returning_allocator()
    lease_time = timedelta(seconds=settings.worker.lease_seconds)
    with ExitStack() as named:
        # The read, the claims and the plans share one metadata transaction; a plan that
        # cannot be built (a config that no longer decrypts, say) fails the claimed transfer.
        with session_scope(sessions) as session:
            row = transfer_row(session, transfer_id)
            if row is None:
                return None
            fields = _fields(row)
            named.enter_context(logs.transfer_context(**fields))
            held = lease.take(session, row, worker=worker, lease=lease_time)
            if held is None:
                return None
            planned: TransferPlan | Exception
            try:
                planned = build(session, row)
            except Exception as exc:
                planned = exc
            if not lease.start(session, held, engine.snapshot(planned)):
                return None
            key = (
                _alike_key(planned)
                if isinstance(planned, TransferPlan)
                and row.placement_key is not None
                and settings.worker.group_size > 1
                else None
            )
            members = (
                _gather(session, row, Member(held, planned, fields), key, settings, lease_time)
                if key is not None and isinstance(planned, TransferPlan)
                else []
            )
        if len(members) < 2:
            return engine.run_claimed(sessions, held, planned, worker=worker, settings=settings)
    return _run_together(sessions, members, worker=worker, settings=settings)


def _fields(row: Row[Any]) -> dict[str, Any]:
    return {
        "transfer_id": row.id,
        "destination_id": row.destination_id,
        "organization_id": row.organization_id,
        "environment": row.environment,
    }


def _alike_key(plan: TransferPlan) -> str | None:
    """What members of one pass share (None: this transfer cannot share a pass)."""
    # A first load or a full refresh runs alone: large tenants' rows then go straight into
    # their new tables with COPY, faster than through a shared staging table.
    if (
        not plan.models
        or plan.unrunnable
        or plan.is_full_refresh
        or any(model.watermark is None for model in plan.models)
        or plan.window_start is not None
        or plan.window_end is not None
        or not type(plan.destination).writes_groups
    ):
        return None
    models = []
    for model in plan.models:
        if (
            not model.source.reads_groups
            or model.config.source_query
            or model.config.max_transfer_time_window_seconds is not None
        ):
            return None
        models.append([str(model.model_id), str(model.revision_id), model.source.config.reveal()])
    identity = plan.destination.connection_identity()
    return json.dumps([identity, models], sort_keys=True, default=str)


def _gather(
    session: Session,
    row: Row[Any],
    first: Member,
    key: str,
    settings: Settings,
    lease_time: timedelta,
) -> list[Member]:
    """The first transfer and the pending ones that can share its pass (their ``_alike_key``
    is ``key``), claimed and started in the caller's transaction; the others stay pending for
    their own tasks."""
    ids = list(
        session.scalars(
            _COMPANIONS,
            {
                "environment_id": row.environment_id,
                "placement_key": row.placement_key,
                "transfer_id": row.id,
                "limit": settings.worker.group_size - 1,
            },
        )
    )
    members = [first]
    tenants = {first.plan.tenant}
    for other in transfer_rows(session, ids) if ids else []:
        held = lease.take_free(session, other, worker=first.held.worker, lease=lease_time)
        if held is None:  # taken meanwhile, or its destination is busy with an earlier one
            continue
        try:
            plan = build(session, other)
        except Exception:  # its own run reports why
            plan = None
        if plan is None or plan.tenant in tenants or _alike_key(plan) != key:
            lease.release_in(session, held)
            continue
        if lease.join(session, held, engine.snapshot(plan)):
            members.append(Member(held, plan, _fields(other)))
            tenants.add(plan.tenant)
    return members


def _run_together(
    sessions: sessionmaker[Session], members: list[Member], *, worker: str, settings: Settings
) -> str | None:
    with ExitStack() as running:
        for member in members:
            running.enter_context(logs.transfer_fields(**member.fields))
        beats = {
            m.transfer_id: running.enter_context(engine.beating(sessions, m.held, settings))
            for m in members
        }
        views = {
            m.transfer_id: engine.Progress(sessions, m.transfer_id, debug=m.held.is_debug_mode)
            for m in members
        }
        for view in views.values():
            view.say(
                f"started on {worker}, in one pass with {len(members) - 1} other transfer(s) "
                "to the same database server"
            )
        try:
            alone = _pass(members, beats, views, settings)
        except Exception as exc:
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            log.warning(
                "shared_pass_failed",
                transfers=len(members),
                error=reason,
                exc_info=not isinstance(exc, FerryError),
            )
            for view in views.values():
                view.say(f"the shared pass stopped ({reason}); this transfer runs on its own")
            alone = {m.transfer_id for m in members}
        engine.finish_together(
            sessions,
            [(m.held, views[m.transfer_id]) for m in members if m.transfer_id not in alone],
        )
        statuses: dict[uuid.UUID, str] = {
            m.transfer_id: TransferStatus.SUCCESS.value
            for m in members
            if m.transfer_id not in alone
        }
        retry: Transient | None = None
        for member in members:
            if member.transfer_id not in alone:
                continue
            try:
                statuses[member.transfer_id] = engine.run_claimed(
                    sessions,
                    member.held,
                    member.plan,
                    worker=worker,
                    settings=settings,
                    progress=views[member.transfer_id],
                    heartbeat=beats[member.transfer_id],
                )
            except Transient as exc:
                # Put back to PENDING: the first member's task retries it; the scheduler
                # sends the others again (see transfer.schedule).
                if member is members[0]:
                    retry = exc
        if retry is not None:
            raise retry
    return statuses.get(members[0].transfer_id)


def _pass(
    members: list[Member],
    beats: dict[uuid.UUID, lease.Heartbeat],
    views: dict[uuid.UUID, engine.Progress],
    settings: Settings,
) -> set[uuid.UUID]:
    """Every model of the pass; the members that must run on their own after all."""
    alone: set[uuid.UUID] = set()
    first = members[0].plan
    for member in members:
        views[member.transfer_id].say(
            f"incremental transfer of {len(first.models)} model(s) for recipient {member.plan.tenant!r}"
        )
    for index in range(len(first.models)):
        active = [m for m in members if m.transfer_id not in alone]
        if not active:
            break
        alone |= _model_pass(index, active, beats, views, settings)
    return alone


def _model_pass(
    index: int,
    members: list[Member],
    beats: dict[uuid.UUID, lease.Heartbeat],
    views: dict[uuid.UUID, engine.Progress],
    settings: Settings,
) -> set[uuid.UUID]:
    lead = members[0].plan.models[index]
    source, name = lead.source, lead.name
    described = source.columns(lead.config)
    decimals = {
        column: (c.precision, c.scale) for column, c in described.items() if c.precision is not None
    }
    spec = TableSpec.from_model(lead.config, decimals)
    modified = described.get(spec.last_modified.source_name)
    source_type = modified.type_name if modified else "timestamp with time zone"
    by_tenant = {m.plan.tenant: m for m in members}
    windows = {
        m.plan.tenant: engine.window_for(
            m.plan, m.plan.models[index], m.plan.models[index].watermark, source.lookback
        )
        for m in members
    }
    horizon = source.horizon()
    read_at = utcnow()
    for member in members:
        window = windows[member.plan.tenant]
        view = views[member.transfer_id]
        view.model(
            name,
            model_id=str(lead.model_id),
            rows_transferred=0,
            delta_rows_transferred=0,
            volume_transferred_in_mb=0.0,
            start_transfer_window_at=engine.iso(window.since),
            end_transfer_window_at=engine.iso(window.until or read_at),
            error=None,
        )
        view.say(
            f"model {name}: reading rows modified "
            + (f"since {engine.iso(window.since)}" if window.since else "at any time")
        )
    stats = {tenant: engine.Stats() for tenant in by_tenant}
    request = GroupRead(
        model=lead.config,
        table=spec,
        windows=windows,
        batch_rows=settings.worker.batch_rows,
        batch_bytes=settings.worker.batch_bytes,
    )
    watched = [(beats[m.transfer_id], views[m.transfer_id], m.plan.tenant) for m in members]
    batches = _tracked(source.read_group(request), spec, stats, watched, name)
    outcome = members[0].plan.destination.write_group(
        spec,
        batches,
        targets=[
            GroupTarget(
                m.plan.tenant, m.plan.destination, m.plan.models[index].watermark is not None
            )
            for m in members
        ],
        context=WriteContext(
            transfer_id=str(members[0].transfer_id),
            model_id=str(lead.model_id),
            status_time=read_at,
        ),
    )
    alone = set()
    for member in members:
        tenant, view = member.plan.tenant, views[member.transfer_id]
        if tenant in outcome.missing:
            view.say(
                f"model {name}: table {spec.name} is missing in the destination; this "
                "transfer backfills it on its own"
            )
            alone.add(member.transfer_id)
            continue
        model = member.plan.models[index]
        result, seen = outcome.results[tenant], stats[tenant]
        watermark = engine.next_watermark(member.plan, model.watermark, seen.max_modified, horizon)
        view.model(
            name,
            rows_transferred=result.rows,
            delta_rows_transferred=result.changed,
            volume_transferred_in_mb=round(result.bytes / engine.MB, 6),
            most_recent_last_updated_at=engine.iso(watermark or model.watermark),
        )
        engine.summary_line(view, model, spec, result, seen)
        view.keep(engine.saver(member.plan, model, watermark, source_type))
        view.flush()
    return alone


def _tracked(
    batches: Iterator[pa.RecordBatch],
    spec: TableSpec,
    stats: dict[str, engine.Stats],
    watched: list[tuple[lease.Heartbeat, engine.Progress, str]],
    name: str,
) -> Iterator[pa.RecordBatch]:
    """Source batches conformed to the table's types (the tenant column kept last), counted
    per tenant, and cut short when any member is cancelled or loses its lease."""
    modified = spec.column_names.index(spec.last_modified.name)
    members = pa.array(list(stats), pa.string())
    counted = list(stats.values())
    for raw in batches:
        for beat, _, _ in watched:
            engine.check(beat)
        tenant = raw.column(raw.num_columns - 1).cast(pa.string())
        body = conform(
            pa.RecordBatch.from_arrays(raw.columns[:-1], names=raw.schema.names[:-1]), spec
        )
        if body.num_rows:
            _count(body, tenant, modified, members, counted)
        for _, view, key in watched:
            seen = stats[key]
            view.model(
                name,
                rows_transferred=seen.rows,
                volume_transferred_in_mb=round(seen.bytes / engine.MB, 6),
            )
            view.flush()
        yield pa.RecordBatch.from_arrays(
            [*body.columns, tenant], names=[*body.schema.names, raw.schema.names[-1]]
        )
    for beat, _, _ in watched:
        engine.check(beat)


def _count(
    batch: pa.RecordBatch,
    tenant: pa.Array[Any],
    modified: int,
    members: pa.Array[Any],
    stats: list[engine.Stats],
) -> None:
    """Each member's rows, bytes (its share of the batch), newest last-modified value and
    rows without one, in this batch. (Compute kernels only: Arrow's grouped aggregation would
    load its query engine, some 20 MiB.)"""
    share = batch.nbytes / batch.num_rows
    column = batch.column(modified)
    codes = pc.index_in(tenant, value_set=members)
    # By member, newest first: each member's run of rows starts with its newest value.
    order = pc.sort_indices(
        pa.record_batch([codes, column], names=["member", "modified"]),
        # Null placement per key (pyarrow 25+; the stubs know pairs only).
        sort_keys=[("member", "ascending", "at_end"), ("modified", "descending", "at_end")],  # type: ignore[list-item]
    )
    runs = pc.call_function("run_end_encode", [codes.take(order)])
    ends = runs.run_ends.to_pylist()
    starts = pa.array([0, *ends[:-1]], pa.int64())
    newest = column.take(order).take(starts).to_pylist()
    missing = pc.value_counts(codes.filter(pc.is_null(column)))
    nulls = dict(
        zip(missing.field("values").to_pylist(), missing.field("counts").to_pylist(), strict=True)
    )
    begin = 0
    for member, end, value in zip(runs.values.to_pylist(), ends, newest, strict=True):
        rows, begin = end - begin, end
        if member is None:  # not a member's row (the source's filter lets none by)
            continue
        seen = stats[member]
        seen.rows += rows
        seen.bytes += int(share * rows)
        seen.null_modified += nulls.get(member) or 0
        if value is not None and (seen.max_modified is None or value > seen.max_modified):
            seen.max_modified = value
