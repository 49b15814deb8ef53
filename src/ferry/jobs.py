"""Background jobs, sent only once the transaction that asked for them has committed.

``enqueue`` parks a job on the session; an ``after_commit`` listener hands it to the session's
job sender (the Celery app, in a deployment with workers), and ``after_rollback`` drops it. The
database row is the truth and the message only a wake-up call: the scheduler re-enqueues
whatever is due, pending or orphaned, so a lost message delays a transfer but never loses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

log = structlog.get_logger(__name__)

JobSender = Callable[[str, dict[str, Any]], None]
_PENDING = "ferry.jobs.pending"
SENDER = "job_sender"


def enqueue(session: Session, name: str, **kwargs: Any) -> None:
    session.info.setdefault(_PENDING, []).append((name, kwargs))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending: list[tuple[str, dict[str, Any]]] = session.info.pop(_PENDING, [])
    sender: JobSender | None = session.info.get(SENDER)
    for name, kwargs in pending:
        if sender is None:
            log.debug("job_not_sent", job=name, reason="no worker configured", **kwargs)
            continue
        try:
            sender(name, kwargs)
        except Exception:
            log.warning("job_send_failed", job=name, exc_info=True, **kwargs)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
