"""Celery tasks: they take ids, carry stable names and hold no logic."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery, Task

from ferry import runtime, transfer
from ferry.errors import Transient


def register(app: Celery) -> None:
    @app.task(
        name="ferry.transfer.run",
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
