"""Transfers through the API: request, one at a time, read, cancel, list and filter."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import factories
from tests.conftest import Api, Tenant

TRANSFER_FIELDS = {
    "id",
    "status",
    "is_full_refresh",
    "is_debug_mode",
    "models",
    "log",
    "submitted_at",
    "started_at",
    "ended_at",
    "start_transfer_window_at",
    "end_transfer_window_at",
    "rows_transferred",
    "delta_rows_transferred",
    "volume_transferred_in_mb",
    "actor_id",
    "actor_type",
    "source_ids",
    "destination_id",
    "model_metrics",
    "models_snapshot",
    "tags",
}


def destination(api: Api, key: str = "acme", **overrides: Any) -> dict[str, Any]:
    recipient = api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]
    body = factories.postgres_destination(recipient["id"], **overrides)
    return api.ok("POST", "/destinations", json=body)["destination"]


@pytest.fixture
def setup(api: Api) -> dict[str, Any]:
    """A source, two models and one destination receiving both."""
    api.ok("POST", "/sources", json=factories.postgres_source())
    orders = api.ok("POST", "/models", json=factories.unchecked_model("orders"))["model"]
    customers = api.ok("POST", "/models", json=factories.unchecked_model("customers"))["model"]
    return {"destination": destination(api), "orders": orders, "customers": customers}


def request(api: Api, destination_id: str, **body: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.ok("POST", f"/destinations/{destination_id}/transfer", json=body)
    return data


def get(api: Api, transfer_id: str) -> dict[str, Any]:
    transfer: dict[str, Any] = api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
    return transfer


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_request_records_a_pending_transfer(api: Api, setup: dict[str, Any]) -> None:
    dest = setup["destination"]
    response = api.call("POST", f"/destinations/{dest['id']}/transfer", json={})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert set(body["data"]) == {"transfer_id", "status"}
    assert body["data"]["status"] == "PENDING"
    transfer = get(api, body["data"]["transfer_id"])
    assert set(transfer) >= TRANSFER_FIELDS
    assert transfer["id"] == body["data"]["transfer_id"]
    assert transfer["status"] == "PENDING"
    assert transfer["destination_id"] == dest["id"]
    assert transfer["is_full_refresh"] is False
    assert transfer["is_debug_mode"] is False
    assert transfer["models"] == []
    assert transfer["tags"] == {}
    assert factories.is_rfc3339_utc(transfer["submitted_at"])
    for unset in ("started_at", "ended_at", "start_transfer_window_at", "end_transfer_window_at"):
        assert transfer[unset] is None
    assert transfer["rows_transferred"] == 0
    assert transfer["delta_rows_transferred"] == 0
    assert transfer["volume_transferred_in_mb"] == 0
    assert transfer["actor_type"] == "api_key"
    assert transfer["actor_id"]
    assert isinstance(transfer["source_ids"], list)
    assert transfer["model_metrics"] == []
    assert isinstance(transfer["log"], str)
    assert sorted(transfer["models_snapshot"], key=lambda s: s["model_name"]) == [
        {
            "model_id": setup["customers"]["id"],
            "model_name": "customers",
            "revision_id": setup["customers"]["revision_id"],
        },
        {
            "model_id": setup["orders"]["id"],
            "model_name": "orders",
            "revision_id": setup["orders"]["revision_id"],
        },
    ]


def test_request_with_every_option(api: Api, setup: dict[str, Any]) -> None:
    dest = setup["destination"]
    start = datetime(2024, 6, 1, tzinfo=UTC)
    end = datetime(2024, 7, 1, tzinfo=UTC)
    data = request(
        api,
        dest["id"],
        full_refresh=True,
        is_debug_mode=True,
        models=["orders"],
        start_transfer_window_at="2024-06-01T00:00:00Z",
        end_transfer_window_at="2024-07-01T02:00:00+02:00",
        tags={"reason": "backfill-2024-06"},
    )
    transfer = get(api, data["transfer_id"])
    assert transfer["is_full_refresh"] is True
    assert transfer["is_debug_mode"] is True
    assert transfer["models"] == ["orders"]
    assert transfer["tags"] == {"reason": "backfill-2024-06"}
    assert transfer["start_transfer_window_at"] == iso(start)
    assert transfer["end_transfer_window_at"] == iso(end)
    assert [s["model_name"] for s in transfer["models_snapshot"]] == ["orders"]


@pytest.mark.parametrize("body", [None, {}], ids=["no-body", "empty-object"])
def test_an_empty_body_is_accepted(api: Api, setup: dict[str, Any], body: Any) -> None:
    dest = setup["destination"]
    response = api.call("POST", f"/destinations/{dest['id']}/transfer", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "PENDING"


def test_one_transfer_at_a_time(api: Api, setup: dict[str, Any]) -> None:
    dest = setup["destination"]
    first = request(api, dest["id"])
    again = api.call(
        "POST",
        f"/destinations/{dest['id']}/transfer",
        json={"full_refresh": True, "models": ["orders"]},
    )
    assert again.status_code == 200
    assert again.json()["data"] == first
    assert "PENDING" in again.json()["message"]
    assert len(api.ok("GET", "/transfers")["transfers"]) == 1
    # Another destination is not held up.
    other = destination(api, "globex")
    assert request(api, other["id"])["transfer_id"] != first["transfer_id"]


def test_cancel_a_pending_transfer(api: Api, setup: dict[str, Any]) -> None:
    dest = setup["destination"]
    transfer_id = request(api, dest["id"])["transfer_id"]
    cancelled = api.ok("POST", f"/transfers/{transfer_id}/cancel")["transfer"]
    assert cancelled["id"] == transfer_id
    assert cancelled["status"] == "CANCELLED"
    assert factories.is_rfc3339_utc(cancelled["ended_at"])
    assert cancelled["ended_at"] >= cancelled["submitted_at"]
    assert get(api, transfer_id) == cancelled
    message = api.error("POST", f"/transfers/{transfer_id}/cancel", 409)
    assert "CANCELLED" in message
    assert get(api, transfer_id) == cancelled
    # A new request now makes a new transfer.
    fresh = request(api, dest["id"])
    assert fresh["transfer_id"] != transfer_id
    assert fresh["status"] == "PENDING"
    assert request(api, dest["id"]) == fresh


def test_unknown_transfer(api: Api) -> None:
    missing = "3f8e2c9a-0000-4000-8000-000000000000"
    api.error("GET", f"/transfers/{missing}", 404)
    api.error("POST", f"/transfers/{missing}/cancel", 404)
    assert "transfer_id" in api.error("GET", "/transfers/latest", 400)


def test_unknown_destination(api: Api) -> None:
    missing = "3f8e2c9a-0000-4000-8000-000000000000"
    api.error("POST", f"/destinations/{missing}/transfer", 404, json={})
    api.error("GET", f"/destinations/{missing}/transfers", 404)


def test_models_must_be_models_the_destination_receives(api: Api) -> None:
    for name in ("orders", "customers", "invoices"):
        api.ok("POST", "/models", json=factories.unchecked_model(name))
    api.ok("POST", "/products", json=factories.product("sales", ["orders", "customers"]))
    recipient = api.ok("POST", "/recipients", json=factories.recipient("acme", products=["sales"]))
    body = factories.postgres_destination(recipient["recipient"]["id"], enabled_models=["orders"])
    dest = api.ok("POST", "/destinations", json=body)["destination"]
    url = f"/destinations/{dest['id']}/transfer"
    for models in (["nope"], ["customers"], ["invoices"], ["orders", "nope"]):
        message = api.error("POST", url, 400, json={"models": models})
        assert "models" in message
    assert api.ok("GET", "/transfers")["transfers"] == []
    assert request(api, dest["id"], models=["orders"])["status"] == "PENDING"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-07-01T00:00:00Z", "2024-06-01T00:00:00Z"),
        ("2024-07-01T00:00:00Z", "2024-07-01T00:00:00Z"),
        ("2024-07-01T02:00:00+02:00", "2024-07-01T00:00:00Z"),
    ],
    ids=["start-after-end", "start-equals-end", "same-instant-other-offset"],
)
def test_window_start_must_come_before_end(
    api: Api, setup: dict[str, Any], start: str, end: str
) -> None:
    dest = setup["destination"]
    body = {"start_transfer_window_at": start, "end_transfer_window_at": end}
    message = api.error("POST", f"/destinations/{dest['id']}/transfer", 400, json=body)
    assert "transfer_window_at" in message
    assert api.ok("GET", "/transfers")["transfers"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"end_transfer_window_at": "future"},
        {"start_transfer_window_at": "past", "end_transfer_window_at": "future"},
        {"start_transfer_window_at": "future"},
        {"start_transfer_window_at": "future", "end_transfer_window_at": "far-future"},
    ],
    ids=["end", "end-only-future", "start-alone", "both"],
)
def test_window_cannot_be_in_the_future(
    api: Api, setup: dict[str, Any], body: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    moments = {
        "past": iso(now - timedelta(days=1)),
        "future": iso(now + timedelta(days=1)),
        "far-future": iso(now + timedelta(days=2)),
    }
    dest = setup["destination"]
    sent = {key: moments[value] for key, value in body.items()}
    message = api.error("POST", f"/destinations/{dest['id']}/transfer", 400, json=sent)
    assert "transfer_window_at" in message
    assert api.ok("GET", "/transfers")["transfers"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_transfer_window_at": "2024-06-01T00:00:00"}, "start_transfer_window_at"),
        ({"start_transfer_window_at": "yesterday"}, "start_transfer_window_at"),
        ({"models": "orders"}, "models"),
        ({"full_refresh": "please"}, "full_refresh"),
        ({"tags": {"reason": 1}}, "tags"),
        ({"tags": ["reason"]}, "tags"),
        ({"model": ["orders"]}, "model"),
    ],
)
def test_invalid_requests_are_refused(
    api: Api, setup: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    dest = setup["destination"]
    assert field in api.error("POST", f"/destinations/{dest['id']}/transfer", 400, json=body)


@pytest.fixture
def history(api: Api) -> dict[str, Any]:
    """Transfers of two destinations: one cancelled (ended), two pending."""
    d1 = destination(api, "acme")
    d2 = destination(api, "globex")
    before = datetime.now(UTC) - timedelta(seconds=1)
    t1 = request(api, d1["id"], tags={"reason": "backfill", "team": "a"})["transfer_id"]
    api.ok("POST", f"/transfers/{t1}/cancel")
    after = datetime.now(UTC) + timedelta(seconds=1)
    time.sleep(0.002)
    t2 = request(api, d1["id"], tags={"reason": "nightly"})["transfer_id"]
    t3 = request(api, d2["id"], tags={"reason": "backfill", "team": "b"})["transfer_id"]
    return {"d1": d1, "d2": d2, "t1": t1, "t2": t2, "t3": t3, "before": before, "after": after}


def listed(api: Api, path: str = "/transfers", **params: Any) -> list[str]:
    return [t["id"] for t in api.ok("GET", path, params=params)["transfers"]]


def test_list_newest_first(api: Api, history: dict[str, Any]) -> None:
    h = history
    assert listed(api) == [h["t3"], h["t2"], h["t1"]]
    assert listed(api, order="asc") == [h["t1"], h["t2"], h["t3"]]
    first = api.call("GET", "/transfers", params={"page_size": 2}).json()
    assert [t["id"] for t in first["data"]["transfers"]] == [h["t3"], h["t2"]]
    assert first["has_next"] is True
    rest = api.ok("GET", first["next_url"])
    assert [t["id"] for t in rest["transfers"]] == [h["t1"]]
    listing = api.ok("GET", "/transfers")["transfers"]
    assert listing[2] == get(api, h["t1"])


def test_list_filter_status(api: Api, history: dict[str, Any]) -> None:
    h = history
    assert listed(api, status="CANCELLED") == [h["t1"]]
    assert listed(api, status="PENDING") == [h["t3"], h["t2"]]
    assert listed(api, status="pending,cancelled") == [h["t3"], h["t2"], h["t1"]]
    assert listed(api, status="SUCCESS,ERROR") == []
    assert "status" in api.error("GET", "/transfers", 400, params={"status": "DONE"})


def test_list_filter_destination(api: Api, history: dict[str, Any]) -> None:
    h = history
    assert listed(api, destination_id=h["d1"]["id"]) == [h["t2"], h["t1"]]
    assert listed(api, destination_id=h["d2"]["id"]) == [h["t3"]]
    assert "destination_id" in api.error(
        "GET", "/transfers", 400, params={"destination_id": "acme"}
    )


def test_list_filter_tags(api: Api, history: dict[str, Any]) -> None:
    h = history
    assert listed(api, include_tags="reason.backfill") == [h["t3"], h["t1"]]
    assert listed(api, include_tags="reason.backfill,team.a") == [h["t1"]]
    assert listed(api, include_tags="reason.nightly") == [h["t2"]]
    assert listed(api, include_tags="team.c") == []
    assert listed(api, include_tags="missing.x") == []
    assert "include_tags" in api.error("GET", "/transfers", 400, params={"include_tags": "reason"})


def test_list_filter_ended(api: Api, history: dict[str, Any]) -> None:
    h = history
    before, after = h["before"], h["after"]
    assert listed(api, ended_after=iso(before)) == [h["t1"]]
    assert listed(api, ended_after=iso(after)) == []
    assert listed(api, ended_before=iso(after)) == [h["t1"]]
    assert listed(api, ended_before=iso(before)) == []
    assert listed(api, ended_after=str(int(before.timestamp()) - 1)) == [h["t1"]]
    assert listed(api, ended_before=str(int(after.timestamp()) + 1)) == [h["t1"]]
    assert listed(api, ended_after=iso(before), ended_before=iso(after)) == [h["t1"]]
    assert "ended_before" in api.error("GET", "/transfers", 400, params={"ended_before": "soon"})


def test_destination_transfers_lists_only_that_destination(
    api: Api, history: dict[str, Any]
) -> None:
    h = history
    d1 = f"/destinations/{h['d1']['id']}/transfers"
    d2 = f"/destinations/{h['d2']['id']}/transfers"
    assert listed(api, d1) == [h["t2"], h["t1"]]
    assert listed(api, d2) == [h["t3"]]
    assert listed(api, d1, status="CANCELLED") == [h["t1"]]
    assert listed(api, d1, include_tags="reason.backfill") == [h["t1"]]
    assert listed(api, d2, include_tags="reason.nightly") == []
    assert listed(api, d1, ended_after=iso(h["before"])) == [h["t1"]]
    # A destination_id query parameter cannot widen the listing.
    assert listed(api, d2, destination_id=h["d1"]["id"]) == [h["t3"]]


def test_cancelled_transfer_is_not_the_last_completed_one(api: Api, setup: dict[str, Any]) -> None:
    dest = setup["destination"]
    transfer_id = request(api, dest["id"])["transfer_id"]
    api.ok("POST", f"/transfers/{transfer_id}/cancel")
    again = api.ok("GET", f"/destinations/{dest['id']}")["destination"]
    assert again["last_successful_transfer_ended_at"] is None


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    dest = destination(tenant.staging)
    transfer_id = request(tenant.staging, dest["id"])["transfer_id"]
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        other.error("GET", f"/transfers/{transfer_id}", 404)
        other.error("POST", f"/transfers/{transfer_id}/cancel", 404)
        other.error("POST", f"/destinations/{dest['id']}/transfer", 404, json={})
        other.error("GET", f"/destinations/{dest['id']}/transfers", 404)
        assert other.ok("GET", "/transfers")["transfers"] == []
    assert get(tenant.staging, transfer_id)["status"] == "PENDING"
