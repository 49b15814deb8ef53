"""The Celery application. Redis is the broker in production (FERRY_BROKER_URL); without one,
the in-memory transport serves the worker embedded in ``ferry serve``."""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery

from ferry.jobs import JobSender
from ferry.settings import Settings
from workers.tasks import register

# A transfer may run for hours; Redis must not hand its unacknowledged message to another
# worker meanwhile (the lease, not redelivery, is what detects a dead worker).
VISIBILITY_TIMEOUT_SECONDS = 12 * 3600


WEBHOOK_TASK = "ferry.webhooks.deliver"


def webhook_queue(settings: Settings) -> str:
    return f"{settings.broker_queue}.webhooks"


def queues(settings: Settings) -> list[str]:
    """Every queue a Ferry worker consumes."""
    return [settings.broker_queue, webhook_queue(settings)]


def make_celery(settings: Settings) -> Celery:
    app = Celery("ferry", broker=settings.broker_url or "memory://localhost//")
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        task_default_queue=settings.broker_queue,
        # Deliveries have their own queue: a backlog of transfers never holds notifications.
        task_routes={WEBHOOK_TASK: {"queue": webhook_queue(settings)}},
        enable_utc=True,
    )
    register(app)
    return app


def sender(app: Celery) -> JobSender:
    """Sends queued jobs by task name (the API never imports the tasks themselves)."""

    def send(name: str, kwargs: dict[str, Any]) -> None:
        app.send_task(name, kwargs=kwargs)

    return send


def worker(app: Celery, *, concurrency: int, hostname: str, settings: Settings) -> Any:
    """A Celery worker (threads pool: transfers wait on databases, not on the CPU)."""
    return app.Worker(
        queues=queues(settings),
        pool="threads",
        concurrency=concurrency,
        hostname=hostname,
        loglevel="WARNING",
        quiet=True,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )


def start_embedded(app: Celery, *, concurrency: int, settings: Settings) -> threading.Thread:
    """A worker inside this process, on the in-memory transport (the embedded default)."""
    embedded = worker(app, concurrency=concurrency, hostname="embedded@ferry", settings=settings)
    thread = threading.Thread(target=embedded.start, name="ferry-embedded-worker", daemon=True)
    thread.start()
    return thread
