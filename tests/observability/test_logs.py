"""Every log line names what it is about: the request and its caller in the API, the transfer,
its destination and its organization in a worker (threads included)."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import pytest
import structlog

from ferry import logging as logs
from ferry import transfer
from ferry.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.observability.conftest import Captured
from tests.transfer.conftest import Setup

log = structlog.get_logger(__name__)


def test_every_line_of_a_request_names_the_request_and_its_caller(
    api: Api, captured_logs: Captured
) -> None:
    whoami = api.ok("GET", "/")
    recipient = api.ok("POST", "/recipients", json=factories.recipient())["recipient"]
    destination = api.ok(
        "POST", "/destinations", json=factories.postgres_destination(recipient["id"])
    )["destination"]
    captured_logs.clear()

    request_id = f"obs-{uuid.uuid4().hex}"
    response = api.call(
        "POST",
        f"/destinations/{destination['id']}/transfer",
        json={},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 200, response.text

    lines = captured_logs.lines()
    events = {line["event"] for line in lines}
    # One line from the route's own thread (the job, logged as it is committed with no broker
    # to send it to), and the request's summary line written by the middleware.
    assert {"job_not_sent", "http_request"} <= events, lines
    for line in lines:
        assert line["request_id"] == request_id, line
        assert line["organization_id"] == whoami["organization_id"], line
        assert line["environment"] == "staging", line
    summary = next(line for line in lines if line["event"] == "http_request")
    assert summary["route"] == "/destinations/{destination_id}/transfer"
    assert summary["status"] == 200
    assert destination["id"] not in str(summary)


def test_a_request_starts_and_ends_with_a_clean_context(captured_logs: Captured) -> None:
    logs.bind(transfer_id="left-over")
    logs.start_request("obs-request-0002")
    logs.bind(organization_id="org-1", environment="prod")
    log.info("during")
    logs.end_request()
    log.info("after")
    during, after = captured_logs.lines()
    assert during["request_id"] == "obs-request-0002"
    assert during["organization_id"] == "org-1"
    assert "transfer_id" not in during
    assert not {"request_id", "organization_id", "environment", "transfer_id"} & set(after)


def test_an_unauthenticated_request_still_names_the_request(
    api: Api, captured_logs: Captured
) -> None:
    response = api.client.get("/", headers={"X-Request-ID": "obs-anonymous-0001"})
    assert response.status_code == 401
    (line,) = captured_logs.lines()
    assert line["request_id"] == "obs-anonymous-0001"
    assert line["status"] == 401
    assert "organization_id" not in line


@pytest.mark.postgres
def test_every_line_of_a_transfer_names_the_transfer_its_destination_and_organization(
    setup: Setup, app: Any, settings: Settings, captured_logs: Captured
) -> None:
    whoami = setup.api.ok("GET", "/")
    destination_id = setup.destinations["acme"]
    transfer_id = setup.api.ok("POST", f"/destinations/{destination_id}/transfer", json={})[
        "transfer_id"
    ]
    captured_logs.clear()

    status = transfer.run(
        app.state.sessionmaker, uuid.UUID(transfer_id), worker="test-worker", settings=settings
    )

    assert status == "SUCCESS"
    lines = captured_logs.lines()
    assert any(line["event"] == "transfer_log" for line in lines), lines
    for line in lines:
        assert line["transfer_id"] == transfer_id, line
        assert line["destination_id"] == destination_id, line
        assert line["organization_id"] == whoami["organization_id"], line
        assert line["environment"] == "staging", line
    # The run restores the context it found.
    captured_logs.clear()
    log.info("after_the_transfer")
    (after,) = captured_logs.lines()
    assert "transfer_id" not in after


def test_threads_of_a_running_transfer_name_it_too(captured_logs: Captured) -> None:
    """A new thread starts with an empty context (the heartbeats' thread): lines that name the
    transfer get its other fields."""
    transfer_id, destination_id = str(uuid.uuid4()), str(uuid.uuid4())

    def beat() -> None:
        log.warning("heartbeat_failed", transfer_id=transfer_id)
        log.info("unrelated_thread_line")

    captured_logs.clear()
    with logs.transfer_context(
        transfer_id=transfer_id,
        destination_id=destination_id,
        organization_id="org-1",
        environment="staging",
    ):
        thread = threading.Thread(target=beat)
        thread.start()
        thread.join()

    beat_line, other = captured_logs.lines()
    assert beat_line["event"] == "heartbeat_failed"
    assert beat_line["destination_id"] == destination_id
    assert beat_line["environment"] == "staging"
    assert beat_line["organization_id"] == "org-1"
    assert "transfer_id" not in other


def test_libraries_lines_come_out_in_ferrys_format(captured_logs: Captured) -> None:
    """What uvicorn, Celery or paramiko log through the standard logging module is one JSON
    line like Ferry's own, with the transfer's fields; paramiko's errors, which Ferry reports
    itself as the connector's error, only at DEBUG."""
    logs.configure("INFO", json_lines=True, file=captured_logs.buffer)
    transfer_id, destination_id = str(uuid.uuid4()), str(uuid.uuid4())
    with logs.transfer_context(transfer_id=transfer_id, destination_id=destination_id):
        logging.getLogger("celery.worker").warning("broker lost; reconnecting")
        logging.getLogger("sqlalchemy.engine.Engine").info("SELECT secret_column")
        logging.getLogger("paramiko.transport").error("channel open FAILED")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    warning, failure = captured_logs.lines()
    assert warning["event"] == "broker lost; reconnecting"
    assert (warning["level"], warning["logger"]) == ("warning", "celery.worker")
    assert warning["transfer_id"] == transfer_id
    assert warning["destination_id"] == destination_id
    assert "timestamp" in warning
    assert failure["level"] == "error"
    assert "ValueError: boom" in failure["exception"]

    captured_logs.clear()
    logs.configure("DEBUG", json_lines=True, file=captured_logs.buffer)
    logging.getLogger("paramiko.transport").error("channel open FAILED")
    (shown,) = captured_logs.lines()
    assert shown["event"] == "channel open FAILED"
