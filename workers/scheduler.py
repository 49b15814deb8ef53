"""The scheduler loop: one tick every few seconds (see ferry.transfer.schedule)."""

from __future__ import annotations

import threading

import structlog

from ferry.runtime import Runtime
from ferry.transfer import schedule

log = structlog.get_logger(__name__)

TICK_SECONDS = 15.0


def run_forever(runtime: Runtime, stop: threading.Event, *, interval: float = TICK_SECONDS) -> None:
    log.info("scheduler_started", interval_seconds=interval)
    while not stop.is_set():
        try:
            done = schedule.tick(runtime.sessions, runtime.settings)
            if any(vars(done).values()):
                log.info("scheduler_tick", **vars(done))
        except Exception:
            log.exception("scheduler_tick_failed")
        stop.wait(interval)


def start_embedded(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=run_forever, args=(runtime, stop), name="ferry-embedded-scheduler", daemon=True
    )
    thread.start()
    return thread
