"""What the scheduler does on each tick (spec §9.6). Safe when two schedulers run at once:
every decision is a conditional UPDATE that only one of them can win, and the metadata database
refuses a second active transfer for a destination.

- Due destinations: enabled ones whose schedule slot (``frequency_minutes`` anchored at
  00:00 UTC; 0 means the organization default, daily) has started since their last scheduled
  transfer get a PENDING transfer.
- Orphans: RUNNING transfers whose lease expired (their worker died) become ORPHANED and are
  retried as a new transfer, up to ``worker.max_attempts``.
- Lost messages: PENDING transfers no worker has picked up for a while are enqueued again.
- Expired: PENDING transfers nobody ran within a day become EXPIRED.
- Webhook deliveries overdue (their message or the worker sending them was lost) are enqueued
  again; finished ones older than 30 days are dropped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ferry import jobs
from ferry.db.base import utcnow
from ferry.db.engine import affected, session_scope
from ferry.db.models import (
    DeliveryStatus,
    Destination,
    Environment,
    SshKey,
    Transfer,
    TransferStatus,
    WebhookDelivery,
)
from ferry.scope import Scope
from ferry.services import transfers, webhook_delivery
from ferry.settings import Settings

log = structlog.get_logger(__name__)

DEFAULT_FREQUENCY_MINUTES = 1440
REENQUEUE_AFTER = timedelta(minutes=2)
EXPIRE_AFTER = timedelta(hours=24)
UNCLAIMED_KEY_DAYS = timedelta(days=30)
REDELIVER_BATCH = 500
KEEP_DELIVERIES = timedelta(days=30)
FINISHED_DELIVERIES = (DeliveryStatus.SUCCEEDED.value, DeliveryStatus.FAILED.value)


@dataclass
class Tick:
    scheduled: int = 0
    orphaned: int = 0
    retried: int = 0
    requeued: int = 0
    expired: int = 0
    pruned_keys: int = 0
    redelivered: int = 0
    pruned_deliveries: int = 0


def slot_start(now: datetime, frequency_minutes: int) -> datetime:
    """The start of the schedule slot ``now`` falls in."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = int((now - midnight).total_seconds() // 60)
    return midnight + timedelta(minutes=elapsed - elapsed % frequency_minutes)


def tick(sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None) -> Tick:
    now = now or utcnow()
    done = Tick()
    _orphans(sessions, settings, now, done)
    _expire(sessions, now, done)
    _requeue(sessions, now, done)
    _due(sessions, now, done)
    _prune_keys(sessions, now, done)
    _redeliver(sessions, now, done)
    _prune_deliveries(sessions, now, done)
    return done


def _redeliver(sessions: sessionmaker[Session], now: datetime, done: Tick) -> None:
    """Wake workers again for webhook deliveries overdue by a while: a retry's message is due
    at ``next_attempt_at``, and an attempt in flight has pushed it past its own end, so one
    still waiting later was lost. ``next_attempt_at`` becomes the wake-up time, so the next
    ticks leave it alone for a while."""
    quiet = now - REENQUEUE_AFTER
    with session_scope(sessions) as session:
        overdue = session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
                WebhookDelivery.next_attempt_at < quiet,
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(REDELIVER_BATCH)
        ).all()
        for delivery in overdue:
            delivery.next_attempt_at = now
            jobs.enqueue(session, webhook_delivery.DELIVER_TASK, delivery_id=str(delivery.id))
            done.redelivered += 1


def _prune_deliveries(sessions: sessionmaker[Session], now: datetime, done: Tick) -> None:
    """Finished webhook deliveries are kept a month for inspection, then dropped."""
    with session_scope(sessions) as session:
        done.pruned_deliveries = affected(
            session,
            delete(WebhookDelivery).where(
                WebhookDelivery.status.in_(FINISHED_DELIVERIES),
                WebhookDelivery.created_at < now - KEEP_DELIVERIES,
            ),
        )


def _prune_keys(sessions: sessionmaker[Session], now: datetime, done: Tick) -> None:
    """Key pairs generated (anyone may ask, without credentials) but never used in a
    destination are dropped after a while, so they cannot pile up."""
    with session_scope(sessions) as session:
        done.pruned_keys = affected(
            session,
            delete(SshKey).where(
                SshKey.environment_id.is_(None), SshKey.created_at < now - UNCLAIMED_KEY_DAYS
            ),
        )


def _due(sessions: sessionmaker[Session], now: datetime, done: Tick) -> None:
    with session_scope(sessions) as session:
        candidates = session.execute(
            select(
                Destination.id,
                Destination.frequency_minutes,
                Destination.last_scheduled_at,
                Environment.id,
                Environment.organization_id,
                Environment.kind,
                Environment.settings,
            )
            .join(Environment, Environment.id == Destination.environment_id)
            .where(Destination.is_enabled.is_(True))
        ).all()
    for dest_id, frequency, last, env_id, org_id, kind, env_settings in candidates:
        minutes = frequency or int(
            env_settings.get("default_frequency_minutes") or DEFAULT_FREQUENCY_MINUTES
        )
        slot = slot_start(now, minutes)
        if last is not None and last >= slot:
            continue
        scope = Scope(
            organization_id=org_id,
            environment_id=env_id,
            environment=kind,
            actor_type="scheduler",
            actor_id=None,
        )
        if _start(sessions, scope, dest_id, slot):
            done.scheduled += 1


def _start(
    sessions: sessionmaker[Session], scope: Scope, destination_id: uuid.UUID, slot: datetime
) -> bool:
    try:
        with session_scope(sessions) as session:
            won = affected(
                session,
                update(Destination)
                .where(
                    Destination.id == destination_id,
                    or_(
                        Destination.last_scheduled_at.is_(None),
                        Destination.last_scheduled_at < slot,
                    ),
                )
                .values(last_scheduled_at=slot),
            )
            if won != 1:
                return False  # another scheduler took this slot
            _, created = transfers.request(
                session, scope=scope, destination_id=destination_id, data={}
            )
            return created
    except IntegrityError:
        return False  # a transfer became active meanwhile; it serves this slot


def _orphans(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, done: Tick
) -> None:
    stale = now - timedelta(seconds=settings.worker.lease_seconds)
    with session_scope(sessions) as session:
        # A live worker renews its heartbeat every few seconds; one silent for a whole lease
        # period is gone, and so is its lease.
        lost_ids = session.scalars(
            select(Transfer.id).where(
                Transfer.status == TransferStatus.RUNNING.value,
                or_(Transfer.heartbeat_at.is_(None), Transfer.heartbeat_at < stale),
            )
        ).all()
    for transfer_id in lost_ids:
        _orphan(sessions, settings, transfer_id, now, done)


def _orphan(
    sessions: sessionmaker[Session],
    settings: Settings,
    transfer_id: uuid.UUID,
    now: datetime,
    done: Tick,
) -> None:
    with session_scope(sessions) as session:
        marked = affected(
            session,
            update(Transfer)
            .where(Transfer.id == transfer_id, Transfer.status == TransferStatus.RUNNING.value)
            .values(status=TransferStatus.ORPHANED.value, ended_at=now),
        )
        if marked != 1:
            return
        orphan = session.get_one(Transfer, transfer_id)
        orphan.log += (
            f"{now.isoformat(timespec='seconds')} its worker stopped sending "
            "heartbeats; marked ORPHANED\n"
        )
        affected(
            session,
            update(Destination)
            .where(
                Destination.id == orphan.destination_id,
                Destination.lease_holder == str(transfer_id),
            )
            .values(lease_holder=None, lease_expires_at=None),
        )
        done.orphaned += 1
        if orphan.attempt >= settings.worker.max_attempts:
            return
        retry = Transfer(
            environment_id=orphan.environment_id,
            destination_id=orphan.destination_id,
            status=TransferStatus.PENDING.value,
            is_full_refresh=orphan.is_full_refresh,
            is_debug_mode=orphan.is_debug_mode,
            models=list(orphan.models),
            tags=dict(orphan.tags),
            start_transfer_window_at=orphan.start_transfer_window_at,
            end_transfer_window_at=orphan.end_transfer_window_at,
            actor_id=orphan.actor_id,
            actor_type=orphan.actor_type,
            models_snapshot=list(orphan.models_snapshot),
            attempt=orphan.attempt + 1,
            retry_of_id=orphan.id,
            log=f"{now.isoformat(timespec='seconds')} retry of orphaned transfer {orphan.id}\n",
        )
        session.add(retry)
        session.flush()
        jobs.enqueue(session, transfers.RUN_TASK, transfer_id=str(retry.id))
        done.retried += 1


def _expire(sessions: sessionmaker[Session], now: datetime, done: Tick) -> None:
    with session_scope(sessions) as session:
        expired = affected(
            session,
            update(Transfer)
            .where(
                Transfer.status == TransferStatus.PENDING.value,
                Transfer.submitted_at < now - EXPIRE_AFTER,
            )
            .values(status=TransferStatus.EXPIRED.value, ended_at=now),
        )
        done.expired += max(expired, 0)


def _requeue(sessions: sessionmaker[Session], now: datetime, done: Tick) -> None:
    """Wake workers again for PENDING transfers whose message may have been lost; the last
    wake-up time is kept in heartbeat_at so a long queue is not flooded with duplicates."""
    quiet = now - REENQUEUE_AFTER
    with session_scope(sessions) as session:
        waiting = session.scalars(
            select(Transfer).where(
                Transfer.status == TransferStatus.PENDING.value,
                Transfer.submitted_at < quiet,
                or_(Transfer.heartbeat_at.is_(None), Transfer.heartbeat_at < quiet),
            )
        ).all()
        for transfer in waiting:
            transfer.heartbeat_at = now
            jobs.enqueue(session, transfers.RUN_TASK, transfer_id=str(transfer.id))
            done.requeued += 1
