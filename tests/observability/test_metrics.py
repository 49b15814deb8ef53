"""``GET /metrics``: HTTP metrics by route template, transfer metrics read from the metadata
database, and the switches that protect the endpoint."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from ferry import metrics
from ferry.api.app import create_app
from ferry.settings import Settings
from tests.conftest import Api
from tests.transfer.conftest import Setup

REDIS = "redis://127.0.0.1:6379/0"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def _fresh_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scrape reads the database (outside tests, reads are reused for a few seconds)."""
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 0.0)


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@contextmanager
def serve(settings: Settings, **changes: Any) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=changes))
    try:
        with TestClient(app, base_url="http://ferry.test") as client:
            yield client
    finally:
        app.state.engine.dispose()


def test_http_metrics_are_labelled_by_route_template(api: Api, client: TestClient) -> None:
    before = scrape(client)
    api.ok("GET", "/models")
    missing = str(uuid.uuid4())
    api.error("GET", f"/models/{missing}", 404)
    api.error("GET", f"/export/models/{missing}", 404)
    api.error("GET", f"/no/such/{missing}", 404)

    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "ferry_http_requests_total"
    assert grew(requests, method="GET", route="/models", status="200") == 1
    assert grew(requests, method="GET", route="/models/{model_id}", status="404") == 2
    assert grew(requests, method="GET", route=metrics.UNMATCHED, status="404") == 1
    durations = "ferry_http_request_duration_seconds_count"
    assert grew(durations, method="GET", route="/models/{model_id}") == 2
    bucket = "ferry_http_request_duration_seconds_bucket"
    assert value(after, bucket, method="GET", route="/models", le="+Inf") >= 1
    # No ids in labels: one series per route, whatever the path held.
    for (_, labels), _value in after.items():
        for _, label in labels:
            assert missing not in label
            assert not UUID.search(label), labels


def test_metrics_need_no_api_key_but_honour_a_token(settings: Settings) -> None:
    with serve(settings, metrics_token=SecretStr("scrape-Secret-1")) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["status"] == "error"
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        samples = scrape(client, Authorization="Bearer scrape-Secret-1")
        assert value(samples, "ferry_metadata_database_up") == 1


def test_metrics_can_be_switched_off(settings: Settings) -> None:
    with serve(settings, metrics_enabled=False) as client:
        response = client.get("/metrics")
        assert response.status_code == 404
        assert response.json()["status"] == "error"


def test_openmetrics_is_served_to_scrapers_that_ask(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_metrics_are_not_in_the_openapi_documents(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert "/metrics" not in document["paths"]


@pytest.mark.postgres
def test_transfer_metrics_come_from_the_metadata_database(
    setup: Setup, client: TestClient, run_transfer: Callable[..., dict[str, Any]]
) -> None:
    before = scrape(client)
    for name in ("ferry_transfers_pending", "ferry_transfers_running", "ferry_destinations_due"):
        assert (name, ()) in before, name

    done = run_transfer(setup.api, setup.destinations["acme"])
    assert done["status"] == "SUCCESS", done["log"]
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("ferry_transfers_total", status="SUCCESS") == 1
    assert done["rows_transferred"] > 0
    assert grew("ferry_rows_transferred_total") == done["rows_transferred"]
    assert grew("ferry_bytes_transferred_total") == pytest.approx(
        done["volume_transferred_in_mb"] * metrics.MB
    )
    assert grew("ferry_transfer_duration_seconds_count", status="SUCCESS") == 1
    assert grew("ferry_transfer_duration_seconds_bucket", status="SUCCESS", le="+Inf") == 1
    assert grew("ferry_transfer_duration_seconds_bucket", status="SUCCESS", le="86400.0") == 1
    assert grew("ferry_transfer_duration_seconds_sum", status="SUCCESS") >= 0
    # Nothing left waiting or running once it ended.
    assert value(after, "ferry_transfers_running") == 0


@pytest.mark.redis
def test_queue_depth_is_the_length_of_the_broker_queue(settings: Settings) -> None:
    queue = f"ferry-test-{uuid.uuid4().hex[:8]}"
    broker = redis.Redis.from_url(REDIS)
    broker.rpush(queue, "one", "two", "three")
    broker.rpush(queue + "\x06\x163", "urgent")
    try:
        with serve(settings, broker_url=REDIS, broker_queue=queue) as client:
            assert value(scrape(client), "ferry_queue_depth") == 4
    finally:
        broker.delete(queue, queue + "\x06\x163")
        broker.close()


def test_without_a_redis_broker_there_is_no_queue_depth(client: TestClient) -> None:
    assert ("ferry_queue_depth", ()) not in scrape(client)


def test_counters_never_go_down_when_history_is_deleted() -> None:
    growth = metrics._Growth()
    growth.update({("count", "SUCCESS"): 10.0, ("rows", "SUCCESS"): 100.0})
    assert growth.value("count", "SUCCESS") == 10
    # A destination and its transfers were deleted...
    growth.update({("count", "SUCCESS"): 7.0, ("rows", "SUCCESS"): 40.0})
    assert growth.value("count", "SUCCESS") == 10
    assert growth.value("rows", "SUCCESS") == 100
    # ...and then new transfers ended: only the growth counts.
    growth.update({("count", "SUCCESS"): 9.0, ("rows", "SUCCESS"): 65.0})
    assert growth.value("count", "SUCCESS") == 12
    assert growth.value("rows", "SUCCESS") == 125
    # A status whose every transfer was deleted keeps its value, and counts again from zero.
    growth.update({})
    growth.update({("count", "SUCCESS"): 1.0})
    assert growth.value("count", "SUCCESS") == 13


def test_duration_buckets_stay_cumulative() -> None:
    growth = metrics._Growth()
    first, second = (str(b) for b in metrics.DURATION_BUCKETS[:2])
    growth.update(
        {("bucket", "ERROR", first): 1.0, ("bucket", "ERROR", second): 2.0, ("timed", "ERROR"): 2.0}
    )
    # A short transfer ended while a longer one was deleted: the smaller bucket grew, the
    # larger did not; the larger ones are raised to keep the histogram valid.
    growth.update(
        {("bucket", "ERROR", first): 2.0, ("bucket", "ERROR", second): 2.0, ("timed", "ERROR"): 2.0}
    )
    buckets = [growth.value("bucket", "ERROR", str(b)) for b in metrics.DURATION_BUCKETS]
    assert buckets[0] == 2
    assert buckets == sorted(buckets)
    assert growth.value("timed", "ERROR") >= buckets[-1]
