"""One transfer per destination at a time: a lease in the metadata database.

Claiming is a conditional UPDATE (it works the same on SQLite and PostgreSQL, with no locks held
across the copy). A heartbeat renews the lease while the transfer runs; a worker that dies
stops renewing, the lease expires, and the scheduler marks the transfer ORPHANED and retries it.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Row, bindparam, case, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ferry.db.base import table, utcnow
from ferry.db.engine import affected, session_scope
from ferry.db.models import Destination, Transfer, TransferStatus
from ferry.errors import Transient

log = structlog.get_logger(__name__)


_TRANSFER = table(Transfer)
_DESTINATION = table(Destination)

# Prebuilt statements (building one costs more than running it; every transfer claims).


def _taking(*holders: Any) -> Any:
    """The lease UPDATE: taken when free, expired, or held by one of ``holders``."""
    return (
        update(_DESTINATION)
        .where(
            _DESTINATION.c.id == bindparam("b_destination"),
            or_(
                _DESTINATION.c.lease_holder.is_(None),
                _DESTINATION.c.lease_expires_at < bindparam("b_now"),
                *(_DESTINATION.c.lease_holder == holder for holder in holders),
            ),
        )
        .values(lease_holder=bindparam("b_holder"), lease_expires_at=bindparam("b_expires"))
    )


# A lease free, expired or held by the transfer itself (its task delivered again).
_TAKE_LEASE = _taking(bindparam("b_holder"))
# A lease nobody holds, not even the transfer itself: for a transfer claimed alongside another,
# whose own task may be claiming it at the same moment.
_TAKE_FREE = _taking()
# Further columns (the plan's snapshot) are set from the keys of the parameters passed.
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
# The destination's summary fields (keys of the parameters passed) with the lease given back,
# if this transfer still holds it, in one statement.
_CONCLUDE = (
    update(_DESTINATION)
    .where(_DESTINATION.c.id == bindparam("b_destination"))
    .values(
        lease_holder=case(
            (_DESTINATION.c.lease_holder == bindparam("b_holder"), None),
            else_=_DESTINATION.c.lease_holder,
        ),
        lease_expires_at=case(
            (_DESTINATION.c.lease_holder == bindparam("b_holder"), None),
            else_=_DESTINATION.c.lease_expires_at,
        ),
    )
)


@dataclass(frozen=True, slots=True)
class Claim:
    transfer_id: uuid.UUID
    destination_id: uuid.UUID
    environment_id: uuid.UUID
    worker: str
    started_at: datetime
    is_debug_mode: bool


def take(session: Session, transfer: Row[Any], *, worker: str, lease: timedelta) -> Claim | None:
    """Take the lease of a transfer's destination, in the caller's transaction; ``transfer``
    is the transfer's row (``plan.transfer_row``). The transfer starts with ``start``.

    None when there is nothing to do (the transfer ended or was cancelled); Transient when the
    destination is still leased by a transfer that has not yet been found dead, so the task
    retries later.
    """
    if transfer.status != TransferStatus.PENDING.value:
        return None
    held = _take(session, _TAKE_LEASE, transfer, worker=worker, lease=lease)
    if held is None:
        raise Transient(
            f"destination {transfer.destination_id} is busy with another transfer; retrying later"
        )
    return held


def take_free(
    session: Session, transfer: Row[Any], *, worker: str, lease: timedelta
) -> Claim | None:
    """``take`` for a transfer claimed alongside another: None when the transfer is not
    PENDING or its destination's lease is held by anyone, itself included (its own task may be
    claiming it right now; that task then runs it)."""
    if transfer.status != TransferStatus.PENDING.value:
        return None
    return _take(session, _TAKE_FREE, transfer, worker=worker, lease=lease)


def _take(
    session: Session, statement: Any, transfer: Row[Any], *, worker: str, lease: timedelta
) -> Claim | None:
    now = utcnow()
    taken = affected(
        session,
        statement,
        {
            "b_destination": transfer.destination_id,
            "b_holder": str(transfer.id),
            "b_now": now,
            "b_expires": now + lease,
        },
    )
    if taken != 1:
        return None
    return Claim(
        transfer.id,
        transfer.destination_id,
        transfer.environment_id,
        worker,
        now,
        transfer.is_debug_mode,
    )


def start(session: Session, held: Claim, values: dict[str, Any]) -> bool:
    """Mark the leased transfer RUNNING with ``values`` (more of its columns); False, with the
    caller's transaction rolled back, when it is no longer PENDING (another worker runs it, or
    it was cancelled meanwhile). The claim holds once the transaction commits."""
    if not _started(session, held, values):
        session.rollback()
        return False
    return True


def join(session: Session, held: Claim, values: dict[str, Any]) -> bool:
    """``start`` for a transfer claimed alongside another, in the same transaction: when it
    is no longer PENDING, only its lease is given back, and the transaction goes on."""
    if not _started(session, held, values):
        release_in(session, held)
        return False
    return True


def _started(session: Session, held: Claim, values: dict[str, Any]) -> bool:
    started = affected(
        session,
        _START,
        {
            **values,
            "b_transfer": held.transfer_id,
            "b_now": held.started_at,
            "b_worker": held.worker,
        },
    )
    return started == 1


def release_in(session: Session, held: Claim) -> None:
    """Give the destination's lease back (within the caller's transaction)."""
    affected(
        session,
        _RELEASE,
        {"b_destination": held.destination_id, "b_holder": str(held.transfer_id)},
    )


def conclude_in(session: Session, held: Claim, summary: dict[str, Any]) -> None:
    """Set the destination's ``summary`` fields and give its lease back if this transfer
    still holds it (within the caller's transaction)."""
    affected(
        session,
        _CONCLUDE,
        {**summary, "b_destination": held.destination_id, "b_holder": str(held.transfer_id)},
    )


class Heartbeat:
    """Renews the lease every ``interval`` and notices cancellation requests.

    The transfers of a process share one thread per interval (``_Beats``): starting a thread
    for each would cost a short transfer more than its own work.
    """

    def __init__(
        self, sessions: sessionmaker[Session], held: Claim, *, interval: timedelta, lease: timedelta
    ) -> None:
        self.sessions = sessions
        self.held = held
        self.interval = interval
        self.lease = lease
        self.cancelled = threading.Event()
        self.lost = threading.Event()

    def __enter__(self) -> Heartbeat:
        _beats(self.interval.total_seconds()).add(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        _beats(self.interval.total_seconds()).discard(self)

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


class _Beats:
    """The heartbeats of one interval, renewed by one thread, which runs while there are any.

    A heartbeat added between two rounds is first renewed at the next round, within one
    interval, as a thread of its own would do; the claim's lease outlasts that.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._members: set[Heartbeat] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, heartbeat: Heartbeat) -> None:
        with self._lock:
            self._members.add(heartbeat)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name=f"ferry-heartbeats-{self.interval:g}s", daemon=True
                )
                self._thread.start()

    def discard(self, heartbeat: Heartbeat) -> None:
        with self._lock:
            self._members.discard(heartbeat)

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                if not self._members:
                    self._thread = None
                    return
                due = list(self._members)
            for heartbeat in due:
                with self._lock:
                    if heartbeat not in self._members:
                        continue
                try:
                    heartbeat.beat()
                except Exception:
                    log.warning(
                        "heartbeat_failed",
                        transfer_id=str(heartbeat.held.transfer_id),
                        exc_info=True,
                    )


_BEATS: dict[float, _Beats] = {}
_BEATS_LOCK = threading.Lock()


def _forget_beats() -> None:
    # A forked process (a prefork worker's child) has none of its parent's threads.
    _BEATS.clear()


os.register_at_fork(after_in_child=_forget_beats)


def _beats(interval: float) -> _Beats:
    with _BEATS_LOCK:
        found = _BEATS.get(interval)
        if found is None:
            found = _BEATS[interval] = _Beats(interval)
        return found
