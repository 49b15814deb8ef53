"""One transfer per destination at a time: a lease in the metadata database.

Claiming is a conditional UPDATE (it works the same on SQLite and PostgreSQL, with no locks held
across the copy). A heartbeat thread renews the lease while the transfer runs; a worker that dies
stops renewing, the lease expires, and the scheduler marks the transfer ORPHANED and retries it.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ferry.db.base import table, utcnow
from ferry.db.engine import affected, session_scope
from ferry.db.models import Destination, Transfer, TransferStatus
from ferry.errors import Transient

log = structlog.get_logger(__name__)


_TRANSFER = table(Transfer)
_DESTINATION = table(Destination)

# Prebuilt statements (building one costs more than running it; every transfer claims).
_CLAIMABLE = select(
    _TRANSFER.c.status,
    _TRANSFER.c.destination_id,
    _TRANSFER.c.environment_id,
    _TRANSFER.c.is_debug_mode,
).where(_TRANSFER.c.id == bindparam("b_transfer"))
_TAKE_LEASE = (
    update(_DESTINATION)
    .where(
        _DESTINATION.c.id == bindparam("b_destination"),
        or_(
            _DESTINATION.c.lease_holder.is_(None),
            _DESTINATION.c.lease_expires_at < bindparam("b_now"),
            _DESTINATION.c.lease_holder == bindparam("b_holder"),
        ),
    )
    .values(lease_holder=bindparam("b_holder"), lease_expires_at=bindparam("b_expires"))
)
_START = (
    update(_TRANSFER)
    .where(
        _TRANSFER.c.id == bindparam("b_transfer"),
        _TRANSFER.c.status == TransferStatus.PENDING.value,
    )
    .values(
        status=TransferStatus.RUNNING.value,
        started_at=bindparam("b_now"),
        heartbeat_at=bindparam("b_now"),
        worker=bindparam("b_worker"),
    )
)
_RELEASE = (
    update(_DESTINATION)
    .where(
        _DESTINATION.c.id == bindparam("b_destination"),
        _DESTINATION.c.lease_holder == bindparam("b_holder"),
    )
    .values(lease_holder=None, lease_expires_at=None)
)


@dataclass(frozen=True, slots=True)
class Claim:
    transfer_id: uuid.UUID
    destination_id: uuid.UUID
    environment_id: uuid.UUID
    worker: str
    started_at: datetime
    is_debug_mode: bool


def claim(
    sessions: sessionmaker[Session], transfer_id: uuid.UUID, *, worker: str, lease: timedelta
) -> Claim | None:
    """Take the destination's lease and mark the transfer RUNNING (see ``claim_in``)."""
    with session_scope(sessions) as session:
        return claim_in(session, transfer_id, worker=worker, lease=lease)


def claim_in(
    session: Session, transfer_id: uuid.UUID, *, worker: str, lease: timedelta
) -> Claim | None:
    """Take the destination's lease and mark the transfer RUNNING, in the caller's
    transaction (the claim holds once it commits).

    None when there is nothing to do (the transfer ended, was cancelled, or another worker
    runs it); Transient when the destination is still leased by a transfer that has not yet
    been found dead, so the task retries later.
    """
    now = utcnow()
    transfer = session.execute(_CLAIMABLE, {"b_transfer": transfer_id}).one_or_none()
    if transfer is None or transfer.status != TransferStatus.PENDING.value:
        return None
    taken = affected(
        session,
        _TAKE_LEASE,
        {
            "b_destination": transfer.destination_id,
            "b_holder": str(transfer_id),
            "b_now": now,
            "b_expires": now + lease,
        },
    )
    if taken != 1:
        raise Transient(
            f"destination {transfer.destination_id} is busy with another transfer; retrying later"
        )
    started = affected(
        session, _START, {"b_transfer": transfer_id, "b_now": now, "b_worker": worker}
    )
    if started != 1:
        session.rollback()
        return None
    return Claim(
        transfer_id,
        transfer.destination_id,
        transfer.environment_id,
        worker,
        now,
        transfer.is_debug_mode,
    )


def release(sessions: sessionmaker[Session], held: Claim) -> None:
    with session_scope(sessions) as session:
        release_in(session, held)


def release_in(session: Session, held: Claim) -> None:
    """Give the destination's lease back (within the caller's transaction)."""
    affected(
        session,
        _RELEASE,
        {"b_destination": held.destination_id, "b_holder": str(held.transfer_id)},
    )


class Heartbeat:
    """Renews the lease every ``interval`` and notices cancellation requests."""

    def __init__(
        self, sessions: sessionmaker[Session], held: Claim, *, interval: timedelta, lease: timedelta
    ) -> None:
        self.sessions = sessions
        self.held = held
        self.interval = interval
        self.lease = lease
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"heartbeat-{held.transfer_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval.total_seconds() + 5)

    def beat(self) -> None:
        now = utcnow()
        with session_scope(self.sessions) as session:
            renewed = affected(
                session,
                update(Destination)
                .where(
                    Destination.id == self.held.destination_id,
                    Destination.lease_holder == str(self.held.transfer_id),
                )
                .values(lease_expires_at=now + self.lease),
            )
            if renewed != 1:
                self.lost.set()
            affected(
                session,
                update(Transfer)
                .where(Transfer.id == self.held.transfer_id)
                .values(heartbeat_at=now),
            )
            requested = session.scalar(
                select(Transfer.cancel_requested_at).where(Transfer.id == self.held.transfer_id)
            )
            if requested is not None:
                self.cancelled.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.beat()
            except Exception:
                log.warning(
                    "heartbeat_failed", transfer_id=str(self.held.transfer_id), exc_info=True
                )
