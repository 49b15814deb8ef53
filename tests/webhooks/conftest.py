"""Webhook delivery: a real HTTP receiver that checks signatures, and real Celery workers."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from celery.contrib.testing.worker import start_worker
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from ferry import runtime
from ferry.db.engine import session_scope
from ferry.db.models import DeliveryStatus, WebhookDelivery
from ferry.jobs import SENDER
from ferry.services import webhook_delivery
from ferry.settings import Settings
from tests import factories
from tests.conftest import Api

# The transfer fixtures, for the tests of transfer events.
from tests.transfer.conftest import dest_db, run_transfer, setup, source_db  # noqa: F401
from workers.app import make_celery, queues, sender

RFC3339_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TIMESTAMP_TOLERANCE = timedelta(minutes=5)


@dataclass
class Received:
    method: str
    path: str
    query: str  # the raw query string, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: datetime

    def json(self) -> Any:
        return json.loads(self.body)

    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def signed(self) -> bytes:
        """What the signature covers: the body, or the query string of a GET."""
        return self.query.encode() if self.method == "GET" else self.body


@dataclass
class Receiver:
    """An HTTP server recording every request; it answers ``statuses`` in order (then 200),
    and holds each answer while ``hold`` is clear."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    answered: int = 0
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.hold.set()

    def record(self, received: Received) -> int:
        with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()
            return self.statuses.pop(0) if self.statuses else 200

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} request(s) arrived, not {count}")
            return list(self.requests)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            path, _, query = self.path.partition("?")
            status = receiver.record(
                Received(
                    method=self.command,
                    path=path,
                    query=query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    at=datetime.now(UTC),
                )
            )
            receiver.hold.wait(60)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver is down")
            except OSError:
                pass  # the sender gave up waiting
            receiver.answered += 1

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver("")))
    made = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    server.RequestHandlerClass = _handler(made)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield made
    finally:
        made.hold.set()
        server.shutdown()
        server.server_close()


def public_key(api: Api) -> rsa.RSAPublicKey:
    """The verification key, as a receiver fetches it (no credentials)."""
    response = api.client.get("/public/signatures/webhook-public-key")
    assert response.status_code == 200, response.text
    key = serialization.load_pem_public_key(response.json()["data"]["public_key"].encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def verify(received: Received, key: rsa.RSAPublicKey) -> None:
    """What a receiver checks: the digest, the signature, and a fresh timestamp."""
    stamp = received.headers["x-prequel-webhook-timestamp"]
    assert RFC3339_SECONDS.match(stamp), stamp
    sent_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert abs(received.at - sent_at) < TIMESTAMP_TOLERANCE
    assert (
        received.headers["x-prequel-webhook-digest"] == hashlib.sha256(received.signed).hexdigest()
    )
    key.verify(
        bytes.fromhex(received.headers["x-prequel-webhook-signature"]),
        stamp.encode() + b"." + received.signed,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def make_webhook(
    api: Api, url: str, events: list[str], vendor: str = "generic_post", **overrides: Any
) -> dict[str, Any]:
    if vendor in ("datadog", "pagerduty"):
        overrides.setdefault("api_key", factories.WEBHOOK_API_KEY)
    body = factories.webhook(vendor, url=url, events=events, **overrides)
    return dict(api.ok("POST", "/webhooks", json=body)["webhook"])


def deliveries_of(sessions: Any, webhook_id: str) -> list[WebhookDelivery]:
    with session_scope(sessions) as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.webhook_id == uuid.UUID(webhook_id))
                .order_by(WebhookDelivery.created_at)
            )
        )


def deliver_pending(sessions: Any, webhook_id: str) -> list[float | None]:
    """One attempt at each due delivery of the webhook, as the deliver job makes it."""
    return [
        webhook_delivery.deliver(sessions, d.id)
        for d in deliveries_of(sessions, webhook_id)
        if d.status == DeliveryStatus.PENDING.value
    ]


def wait_until(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def worker(app: Any, settings: Settings) -> Iterator[None]:
    """A real Celery worker (threads pool, in-memory broker) running this process's tasks;
    the app's commits send their jobs to it."""
    queue = settings.model_copy(update={"broker_queue": f"ferry-test-{uuid.uuid4().hex[:8]}"})
    celery = make_celery(queue)
    previous = list(runtime._installed)
    runtime.install(app.state.runtime)
    info = app.state.runtime.sessions.kw.setdefault("info", {})
    info[SENDER] = sender(celery)
    try:
        with start_worker(
            celery,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            loglevel="WARNING",
            queues=queues(queue),
        ):
            yield
    finally:
        info.pop(SENDER, None)
        runtime._installed[:] = previous


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> webhook_delivery.Policy:
    """The delivery policy with short waits, so retries happen within a test."""
    policy = webhook_delivery.Policy(
        timeout_seconds=1, max_attempts=3, first_retry_seconds=0.2, factor=1, lease_seconds=5
    )
    monkeypatch.setattr(webhook_delivery, "POLICY", policy)
    return policy
