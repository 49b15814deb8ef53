"""Celery tasks: they take ids, carry stable names and hold no logic."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery, Task

from ferry import runtime, transfer
from ferry.errors import Transient
from ferry.services import webhook_delivery


def register(app: Celery) -> None:
    # shared=False: these tasks belong to ``app`` alone; shared ones would also be added to
    # every Celery app made later in the process, colliding with that app's own registration.
    @app.task(
        name="ferry.transfer.run",
        shared=False,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=(Transient,),
        retry_backoff=5,
        retry_backoff_max=600,
        retry_jitter=True,
        max_retries=12,
    )
    def run_transfer(self: Task[Any, Any], transfer_id: str) -> None:
        current = runtime.current()
        transfer.run(
            current.sessions,
            uuid.UUID(transfer_id),
            worker=self.request.hostname or "worker",
            settings=current.settings,
        )

    # The retry schedule is the delivery row's (``next_attempt_at``), not Celery's: the task
    # retries with the countdown the row gives, and stops when the row says it is done.
    @app.task(
        name="ferry.webhooks.deliver",
        shared=False,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=None,
    )
    def deliver_webhook(self: Task[Any, Any], delivery_id: str) -> None:
        wait = webhook_delivery.deliver(runtime.current().sessions, uuid.UUID(delivery_id))
        if wait is not None:
            raise self.retry(countdown=wait)
