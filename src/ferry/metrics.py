"""Prometheus metrics, served by the API at ``GET /metrics``.

Ferry runs as several processes: the API, any number of Celery workers (often on other
machines) and the scheduler. A counter incremented in a worker would never show on the API's
``/metrics``; Prometheus' multiprocess mode needs one shared directory, so it cannot span
machines either. Hence two kinds of metric:

- **HTTP metrics live in the API process** that answers the requests:
  ``ferry_http_requests_total{method,route,status}`` and
  ``ferry_http_request_duration_seconds{method,route}``, labelled by route *template*
  (``/models/{model_id}``), never by raw path. Each API replica counts its own requests:
  ``sum()`` them across instances.
- **Transfer metrics are read from the metadata database at scrape time**, which every process
  writes: the truth whichever worker ran what, and it survives restarts. Gauges:
  ``ferry_transfers_pending``, ``ferry_transfers_running``, ``ferry_destinations_due`` and, with
  a Redis broker, ``ferry_queue_depth`` (the length of the broker queue). Counters and a
  histogram over *ended* transfers: ``ferry_transfers_total{status}``,
  ``ferry_rows_transferred_total``, ``ferry_bytes_transferred_total`` and
  ``ferry_transfer_duration_seconds{status}`` (``ended_at - started_at``; transfers that never
  started, such as EXPIRED ones, are counted but not timed). Every replica reports the same
  values: aggregate them with ``max()``, not ``sum()``.

The database totals can shrink: deleting a destination (or its recipient) deletes its transfer
history. Prometheus would read that as a counter reset and ``increase()`` would jump by the whole
total, so each process exposes a running sum of the totals' *growth* (seeded from the totals at
its first scrape) that never goes down. A restart re-seeds from the database, which normally
continues the series seamlessly.

Each scrape costs one ``GROUP BY status`` pass over ended transfers, an indexed count of active
ones and a read of enabled destinations; results are reused for ``CACHE_SECONDS`` so several
scrapers cost no more than one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from ferry.db.base import utcnow
from ferry.db.models import (
    ACTIVE_STATUSES,
    Destination,
    Environment,
    Transfer,
    TransferStatus,
)
from ferry.settings import Settings
from ferry.transfer.schedule import DEFAULT_FREQUENCY_MINUTES, slot_start

log = structlog.get_logger(__name__)

CACHE_SECONDS = 5.0
MB = 1024 * 1024
UNMATCHED = "unmatched"  # the route label of requests no route answered
ENDED = tuple(s.value for s in TransferStatus if not s.is_active)
# Seconds: transfers take from a second to many hours.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
# Kombu's Redis transport keeps a queue's messages of priority p > 0 under "<queue>\x06\x16<p>".
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

HTTP_REQUESTS = Counter(
    "ferry_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ("method", "route", "status"),
    registry=None,
)
HTTP_DURATION = Histogram(
    "ferry_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ("method", "route"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


@dataclass
class Active:
    """What is going on now, read from the metadata database."""

    pending: int
    running: int
    due: list[tuple[str, datetime]]  # (destination id, start of the slot it is due for)


def active(session: Session, now: datetime | None = None) -> Active:
    now = now or utcnow()
    counted = session.execute(
        select(Transfer.status, func.count())
        .where(Transfer.status.in_(ACTIVE_STATUSES))
        .group_by(Transfer.status)
    )
    counts: dict[str, int] = dict(counted.all())
    return Active(
        pending=int(counts.get(TransferStatus.PENDING.value, 0)),
        running=int(counts.get(TransferStatus.RUNNING.value, 0)),
        due=due_destinations(session, now),
    )


def due_destinations(session: Session, now: datetime) -> list[tuple[str, datetime]]:
    """Enabled destinations whose schedule slot has started but that the scheduler has not
    yet served (the rule of ``ferry.transfer.schedule``); each with its slot's start."""
    rows = session.execute(
        select(
            Destination.id,
            Destination.frequency_minutes,
            Destination.last_scheduled_at,
            Environment.settings,
        )
        .join(Environment, Environment.id == Destination.environment_id)
        .where(Destination.is_enabled.is_(True))
    ).all()
    due = []
    for destination_id, frequency, last, env_settings in rows:
        minutes = frequency or int(
            (env_settings or {}).get("default_frequency_minutes") or DEFAULT_FREQUENCY_MINUTES
        )
        slot = slot_start(now, minutes)
        if last is None or last < slot:
            due.append((str(destination_id), slot))
    return due


def queue_depth(settings: Settings) -> int | None:
    """Messages waiting in the broker queue of the transfers (Redis brokers only)."""
    url = settings.broker_url
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
    try:
        pipe = client.pipeline(transaction=False)
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(settings.broker_queue + suffix)
        return sum(int(n) for n in pipe.execute())
    except redis.RedisError:
        log.warning("queue_depth_unavailable", exc_info=True)
        return None
    finally:
        client.close()


@dataclass
class _Growth:
    """Totals that may shrink, turned into counters that never do: each read adds how much
    every total grew since the previous read."""

    exposed: dict[tuple[str, ...], float] = field(default_factory=dict)
    last: dict[tuple[str, ...], float] = field(default_factory=dict)

    def update(self, totals: dict[tuple[str, ...], float]) -> None:
        for key, value in totals.items():
            grown = max(0.0, value - self.last.get(key, 0.0))
            self.exposed[key] = self.exposed.get(key, 0.0) + grown
        self.last = {key: totals.get(key, 0.0) for key in self.last.keys() | totals.keys()}
        for status in {key[1] for key in self.exposed if key[0] == "bucket"}:
            self._keep_cumulative(status)

    def _keep_cumulative(self, status: str) -> None:
        # Growth added bucket by bucket can leave a smaller bucket above a larger one (a short
        # transfer added while a longer one was deleted); raising the larger ones keeps the
        # histogram valid and every series non-decreasing.
        floor = 0.0
        keys: list[tuple[str, ...]] = [("bucket", status, str(b)) for b in DURATION_BUCKETS]
        for key in [*keys, ("timed", status)]:
            floor = self.exposed[key] = max(self.exposed.get(key, 0.0), floor)

    def value(self, *key: str) -> float:
        return self.exposed.get(key, 0.0)


def _duration(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":  # naive UTC text: julianday() reads it
        return (func.julianday(Transfer.ended_at) - func.julianday(Transfer.started_at)) * 86400.0
    return func.extract("epoch", Transfer.ended_at - Transfer.started_at)


def ended_totals(session: Session) -> dict[tuple[str, ...], float]:
    """Per status of ended transfers: how many, rows, bytes, and their durations' histogram."""
    timed = and_(Transfer.started_at.is_not(None), Transfer.ended_at.is_not(None))
    duration = _duration(session.get_bind().dialect.name)
    columns: list[ColumnElement[Any]] = [
        func.count(),
        func.coalesce(func.sum(Transfer.rows_transferred), 0),
        func.coalesce(func.sum(Transfer.volume_transferred_in_mb), 0.0),
        func.count(case((timed, 1))),
        func.coalesce(func.sum(case((timed, duration), else_=0.0)), 0.0),
        *(func.count(case((and_(timed, duration <= bound), 1))) for bound in DURATION_BUCKETS),
    ]
    totals: dict[tuple[str, ...], float] = {}
    rows = session.execute(
        select(Transfer.status, *columns)
        .where(Transfer.status.in_(ENDED))
        .group_by(Transfer.status)
    )
    for status, count, rows_moved, mb, timed_count, seconds, *buckets in rows:
        totals[("count", status)] = float(count)
        totals[("rows", status)] = float(rows_moved)
        totals[("bytes", status)] = float(mb) * MB
        totals[("timed", status)] = float(timed_count)
        totals[("seconds", status)] = float(seconds)
        for bound, in_bucket in zip(DURATION_BUCKETS, buckets, strict=True):
            totals[("bucket", status, str(bound))] = float(in_bucket)
    return totals


class MetadataCollector:
    """Transfer metrics computed from the metadata database when Prometheus scrapes."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._growth = _Growth()
        self._lock = threading.Lock()
        self._read_at = -CACHE_SECONDS
        self._families: list[Metric] = []

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._read_at >= CACHE_SECONDS:
                self._families = self._read()
                self._read_at = time.monotonic()
            families = list(self._families)
        yield from families

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily(
            "ferry_metadata_database_up", "1 when the metadata database answered this scrape."
        )
        depth = queue_depth(self.settings)
        try:
            with self.sessions() as session:
                now = active(session)
                self._growth.update(ended_totals(session))
        except Exception:
            log.warning("metrics_database_unavailable", exc_info=True)
            up.add_metric([], 0)
            return [up, *self._queue(depth)]
        up.add_metric([], 1)
        return [up, *self._active(now), *self._queue(depth), *self._ended()]

    def _queue(self, depth: int | None) -> Iterator[Metric]:
        if depth is not None:
            yield GaugeMetricFamily(
                "ferry_queue_depth",
                "Messages waiting in the broker queue of the transfers (Redis).",
                value=depth,
            )

    def _active(self, now: Active) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "ferry_transfers_pending", "Transfers waiting for a worker.", value=now.pending
        )
        yield GaugeMetricFamily(
            "ferry_transfers_running", "Transfers a worker is running.", value=now.running
        )
        yield GaugeMetricFamily(
            "ferry_destinations_due",
            "Enabled destinations whose schedule slot started and that the scheduler has not "
            "served yet (stays above zero when no scheduler runs).",
            value=len(now.due),
        )

    def _ended(self) -> Iterator[Metric]:
        growth = self._growth
        statuses = sorted({key[1] for key in growth.exposed if key[0] == "count"})
        transfers = CounterMetricFamily(
            "ferry_transfers", "Transfers ended, by final status.", labels=["status"]
        )
        for status in statuses:
            transfers.add_metric([status], growth.value("count", status))
        yield transfers
        yield CounterMetricFamily(
            "ferry_rows_transferred",
            "Rows delivered by ended transfers.",
            value=sum(growth.value("rows", s) for s in statuses),
        )
        yield CounterMetricFamily(
            "ferry_bytes_transferred",
            "Bytes delivered by ended transfers (the sum of their volume_transferred_in_mb).",
            value=sum(growth.value("bytes", s) for s in statuses),
        )
        durations = HistogramMetricFamily(
            "ferry_transfer_duration_seconds",
            "Time from start to end of ended transfers, by final status.",
            labels=["status"],
        )
        for status in statuses:
            buckets = [
                (str(float(b)), growth.value("bucket", status, str(b))) for b in DURATION_BUCKETS
            ]
            buckets.append(("+Inf", growth.value("timed", status)))
            durations.add_metric([status], buckets, growth.value("seconds", status))
        yield durations


def registry(sessions: sessionmaker[Session], settings: Settings) -> CollectorRegistry:
    """Everything ``GET /metrics`` shows for one app: its process, its HTTP metrics and the
    metadata database's view of transfers."""
    collected = CollectorRegistry(auto_describe=False)
    for collector in (HTTP_REQUESTS, HTTP_DURATION, MetadataCollector(sessions, settings)):
        collected.register(collector)
    ProcessCollector(registry=collected)
    PlatformCollector(registry=collected)
    GCCollector(registry=collected)
    return collected
