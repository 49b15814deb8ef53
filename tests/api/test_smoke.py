"""The quickstart, end to end through the API: key → source → model → recipient → destination."""

from __future__ import annotations

from tests import factories
from tests.conftest import Api


def test_quickstart(api: Api) -> None:
    source = api.ok("POST", "/sources", json=factories.postgres_source())["source"]
    assert source["postgres"]["password_auth"] == {"username": "reader"}
    # The source is a placeholder host: skip validation against it.
    model = api.ok("POST", "/models", json=factories.model() | {"skip_model_validation": True})[
        "model"
    ]
    assert model["model_name"] == "orders"
    assert model["source_id"] == source["id"]
    recipient = api.ok("POST", "/recipients", json=factories.recipient("acme"))["recipient"]
    destination = api.ok(
        "POST", "/destinations", json=factories.postgres_destination(recipient["id"])
    )["destination"]
    assert destination["id_in_provider_system"] == "acme"
    assert destination["products"] == ["default"]
    listed = api.ok("GET", "/destinations")
    assert [d["id"] for d in listed["destinations"]] == [destination["id"]]
