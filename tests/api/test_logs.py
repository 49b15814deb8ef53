"""The audit log: exactly one event per write, of the spec's type, with before and after."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ferry import crypto
from ferry.db.engine import session_scope
from ferry.db.models import ApiKey
from tests import factories
from tests.conftest import Api, Tenant

EVENT_FIELDS = {
    "id",
    "created_at",
    "event_type",
    "resource_id",
    "actor",
    "object",
    "previous_object",
}


@dataclass
class Write:
    """One write request; ``view`` is where the resource is read (None: derived from a create)."""

    method: str
    path: str
    key: str
    body: Any = None
    view: str | None = None


def all_events(api: Api, **params: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    url: str | None = "/logs"
    query: dict[str, Any] | None = {"page_size": 100, **params}
    while url:
        body = api.call("GET", url, params=query).json()
        assert body["status"] == "success", body
        events += body["data"]["event_logs"]
        url, query = body.get("next_url"), None
    return events


def source(api: Api) -> dict[str, Any]:
    return api.ok("POST", "/sources", json=factories.postgres_source())["source"]


def recipient(api: Api, key: str = "acme") -> dict[str, Any]:
    return api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]


def destination(api: Api) -> dict[str, Any]:
    body = factories.postgres_destination(recipient(api)["id"])
    return api.ok("POST", "/destinations", json=body)["destination"]


def model(api: Api) -> dict[str, Any]:
    return api.ok("POST", "/models", json=factories.unchecked_model("orders"))["model"]


def product(api: Api) -> dict[str, Any]:
    return api.ok("POST", "/products", json=factories.product("gold"))["product"]


def link(api: Api) -> dict[str, Any]:
    return api.ok("POST", "/magic-links", json=factories.magic_link(recipient(api)["id"]))[
        "magic_link"
    ]


def webhook(api: Api) -> dict[str, Any]:
    return api.ok("POST", "/webhooks", json=factories.webhook())["webhook"]


def credential(api: Api) -> dict[str, Any]:
    body = factories.credential(recipient(api)["id"], source(api)["id"])
    return api.ok("POST", "/recipient-source-credentials", json=body)["recipient_source_credential"]


def updated(path: str, key: str, make: Callable[[Api], dict[str, Any]], patch: Any) -> Any:
    def setup(api: Api) -> Write:
        ident = make(api)["id"]
        return Write("PATCH", f"{path}/{ident}", key, {key: patch}, f"{path}/{ident}")

    return setup


def deleted(path: str, key: str, make: Callable[[Api], dict[str, Any]]) -> Any:
    def setup(api: Api) -> Write:
        ident = make(api)["id"]
        return Write("DELETE", f"{path}/{ident}", key, None, f"{path}/{ident}")

    return setup


def added(path: str, key: str, body: Callable[[Api], Any]) -> Any:
    return lambda api: Write("POST", path, key, body(api))


def cancelled(api: Api) -> Write:
    transfer = api.ok("POST", f"/destinations/{destination(api)['id']}/transfer", json={})
    ident = transfer["transfer_id"]
    return Write("POST", f"/transfers/{ident}/cancel", "transfer", None, f"/transfers/{ident}")


CREDENTIALS = "/recipient-source-credentials"
CREDENTIAL = "recipient_source_credential"

WRITES = [
    ("SOURCE_ADD", added("/sources", "source", lambda _api: factories.postgres_source())),
    ("SOURCE_UPDATE", updated("/sources", "source", source, {"name": "renamed"})),
    ("SOURCE_DELETE", deleted("/sources", "source", source)),
    ("MODEL_ADD", added("/models", "model", lambda _api: factories.unchecked_model())),
    ("MODEL_UPDATE", updated("/models", "model", model, {"description": "Orders"})),
    ("MODEL_DELETE", deleted("/models", "model", model)),
    ("PRODUCT_ADD", added("/products", "product", lambda _api: factories.product("gold"))),
    ("PRODUCT_UPDATE", updated("/products", "product", product, {"product_name": "platinum"})),
    ("PRODUCT_DELETE", deleted("/products", "product", product)),
    ("RECIPIENT_ADD", added("/recipients", "recipient", lambda _api: factories.recipient("acme"))),
    ("RECIPIENT_UPDATE", updated("/recipients", "recipient", recipient, {"name": "Acme Corp"})),
    ("RECIPIENT_DELETE", deleted("/recipients", "recipient", recipient)),
    (
        "DESTINATION_ADD",
        added(
            "/destinations",
            "destination",
            lambda api: factories.postgres_destination(recipient(api)["id"]),
        ),
    ),
    (
        "DESTINATION_UPDATE",
        updated(
            "/destinations",
            "destination",
            destination,
            {"is_enabled": False, "postgres": {"password_auth": {"password": "rotated-Pw-7"}}},
        ),
    ),
    ("DESTINATION_DELETE", deleted("/destinations", "destination", destination)),
    (
        "MAGIC_LINK_CREATE",
        added("/magic-links", "magic_link", lambda api: factories.magic_link(recipient(api)["id"])),
    ),
    ("MAGIC_LINK_DELETE", deleted("/magic-links", "magic_link", link)),
    ("WEBHOOK_ADD", added("/webhooks", "webhook", lambda _api: factories.webhook())),
    ("WEBHOOK_UPDATE", updated("/webhooks", "webhook", webhook, {"is_enabled": False})),
    ("WEBHOOK_DELETE", deleted("/webhooks", "webhook", webhook)),
    (
        "RECIPIENT_SOURCE_CREDENTIAL_ADD",
        added(
            CREDENTIALS,
            CREDENTIAL,
            lambda api: factories.credential(recipient(api)["id"], source(api)["id"]),
        ),
    ),
    (
        "RECIPIENT_SOURCE_CREDENTIAL_UPDATE",
        updated(CREDENTIALS, CREDENTIAL, credential, {"password": "rotated-Pw-8"}),
    ),
    ("RECIPIENT_SOURCE_CREDENTIAL_DELETE", deleted(CREDENTIALS, CREDENTIAL, credential)),
    ("TRANSFER_CANCELED", cancelled),
]


def api_key_id(sessions: Any, key: str) -> str:
    with session_scope(sessions) as session:
        found = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == crypto.hash_token(key)))
    return str(found)


def without_link(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {k: v for k, v in view.items() if k != "link"}


@pytest.mark.parametrize(("event_type", "setup"), [pytest.param(*w, id=w[0]) for w in WRITES])
def test_each_write_records_exactly_one_event(
    api: Api, sessions: Any, event_type: str, setup: Callable[[Api], Write]
) -> None:
    write = setup(api)
    before_view = api.ok("GET", write.view)[write.key] if write.view else None
    seen = {e["id"] for e in all_events(api)}
    started = datetime.now(UTC) - timedelta(seconds=1)

    data = api.ok(write.method, write.path, json=write.body)

    new = [e for e in all_events(api) if e["id"] not in seen]
    assert [e["event_type"] for e in new] == [event_type]
    event = new[0]
    assert set(event) == EVENT_FIELDS
    view = write.view or f"{write.path}/{data[write.key]['id']}"
    resource_id = view.rsplit("/", 1)[-1]
    assert event["resource_id"] == resource_id
    assert event["actor"] == {"actor_id": api_key_id(sessions, api.key), "type": "api_key"}
    assert factories.is_rfc3339_utc(event["created_at"])
    created_at = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))
    assert started <= created_at <= datetime.now(UTC) + timedelta(seconds=1)
    after_view = None if write.method == "DELETE" else api.ok("GET", view)[write.key]
    if event_type.endswith(("_ADD", "_CREATE")):
        assert event["previous_object"] is None
        assert event["object"] == without_link(after_view)
    elif event_type.endswith("_DELETE"):
        assert event["object"] is None
        assert event["previous_object"] == without_link(before_view)
    else:
        assert event["previous_object"] == without_link(before_view)
        assert event["object"] == without_link(after_view)
        assert event["object"] != event["previous_object"]
    assert api.ok("GET", f"/logs/{event['id']}")["event_log"] == event


def test_the_actor_of_a_transfer_and_its_cancellation_agree(api: Api) -> None:
    dest = destination(api)
    transfer_id = api.ok("POST", f"/destinations/{dest['id']}/transfer", json={})["transfer_id"]
    api.ok("POST", f"/transfers/{transfer_id}/cancel")
    transfer = api.ok("GET", f"/transfers/{transfer_id}")["transfer"]
    (event,) = all_events(api, event_type="TRANSFER_CANCELED")
    assert event["actor"] == {"actor_id": transfer["actor_id"], "type": transfer["actor_type"]}
    assert event["object"]["status"] == "CANCELLED"
    assert event["previous_object"]["status"] == "PENDING"


def test_reads_requests_and_failed_writes_record_nothing(api: Api) -> None:
    dest = destination(api)
    recipient_id = dest["recipient_id"]
    seen = all_events(api)
    for path in ("/sources", "/models", "/products", "/recipients", "/destinations", "/webhooks"):
        api.ok("GET", path)
    api.ok("GET", f"/destinations/{dest['id']}")
    api.ok("POST", "/actions/validate-config", json=factories.model())
    api.ok("POST", "/products/default/validate")
    # Requesting a transfer is not an audited write (spec §9.11).
    api.ok("POST", f"/destinations/{dest['id']}/transfer", json={})
    api.error("POST", "/recipients", 409, json=factories.recipient("acme"))
    api.error("POST", "/models", 400, json={"model": {"model_name": "x"}})
    api.error("DELETE", "/products/default", 409)
    api.error(
        "PATCH", f"/destinations/{dest['id']}", 400, json={"destination": {"frequency_minutes": 7}}
    )
    api.error("PATCH", f"/recipients/{recipient_id}", 400, json={"recipient": {"products": ["x"]}})
    assert all_events(api) == seen


def test_creating_a_destination_with_a_new_recipient_records_both(api: Api) -> None:
    body = factories.postgres_destination("ignored")
    del body["destination"]["recipient_id"]
    body["destination"]["id_in_provider_system"] = "newco"
    created = api.ok("POST", "/destinations", json=body)["destination"]
    events = all_events(api, order="asc")
    assert [(e["event_type"], e["resource_id"]) for e in events] == [
        ("RECIPIENT_ADD", created["recipient_id"]),
        ("DESTINATION_ADD", created["id"]),
    ]


def test_deleting_a_recipient_records_its_destinations_deletion(api: Api) -> None:
    acme = recipient(api)
    owned = [
        api.ok("POST", "/destinations", json=factories.postgres_destination(acme["id"]))[
            "destination"
        ]["id"]
        for _ in range(2)
    ]
    seen = {e["id"] for e in all_events(api)}
    api.ok("DELETE", f"/recipients/{acme['id']}")
    new = [e for e in all_events(api, order="asc") if e["id"] not in seen]
    assert sorted((e["event_type"], e["resource_id"]) for e in new) == sorted(
        [("DESTINATION_DELETE", d) for d in owned] + [("RECIPIENT_DELETE", acme["id"])]
    )


def test_no_secret_reaches_the_log(api: Api) -> None:
    src = source(api)
    acme = recipient(api)
    dest = api.ok("POST", "/destinations", json=factories.postgres_destination(acme["id"]))[
        "destination"
    ]
    api.ok(
        "PATCH",
        f"/destinations/{dest['id']}",
        json={"destination": {"postgres": {"password_auth": {"password": "rotated-Pw-7"}}}},
    )
    api.ok(
        "POST", "/recipient-source-credentials", json=factories.credential(acme["id"], src["id"])
    )
    hook = factories.webhook("datadog", api_key=factories.WEBHOOK_API_KEY)
    api.ok("POST", "/webhooks", json=hook)
    magic = api.ok("POST", "/magic-links", json=factories.magic_link(acme["id"]))["magic_link"]
    api.ok("DELETE", f"/magic-links/{magic['id']}")
    token = magic["link"].rsplit("/", 1)[-1]
    text = api.call("GET", "/logs", params={"page_size": 100}).text
    for secret in (
        factories.SOURCE_PASSWORD,
        factories.DEST_PASSWORD,
        "rotated-Pw-7",
        factories.CREDENTIAL_PASSWORD,
        factories.WEBHOOK_API_KEY,
        token,
    ):
        assert secret not in text


def test_filter_by_event_type(api: Api) -> None:
    src = source(api)
    api.ok("PATCH", f"/sources/{src['id']}", json={"source": {"name": "renamed"}})
    recipient(api)
    model(api)

    def types(**params: str) -> list[str]:
        return [e["event_type"] for e in all_events(api, **params)]

    assert types() == ["MODEL_ADD", "RECIPIENT_ADD", "SOURCE_UPDATE", "SOURCE_ADD"]
    assert types(event_type="SOURCE_ADD") == ["SOURCE_ADD"]
    assert types(event_type="SOURCE_ADD,SOURCE_UPDATE") == ["SOURCE_UPDATE", "SOURCE_ADD"]
    assert types(event_type="recipient_add,model_add") == ["MODEL_ADD", "RECIPIENT_ADD"]
    assert types(event_type="WEBHOOK_ADD") == []
    assert "event_type" in api.error("GET", "/logs", 400, params={"event_type": "SOURCE_CREATE"})


def test_filter_by_min_time(api: Api) -> None:
    start = datetime.now(UTC) - timedelta(seconds=2)
    source(api)
    (first,) = all_events(api)
    time.sleep(0.01)
    recipient(api)
    second = next(e for e in all_events(api) if e["event_type"] == "RECIPIENT_ADD")

    def types(min_time: str) -> list[str]:
        return [e["event_type"] for e in all_events(api, min_time=min_time)]

    assert types(first["created_at"]) == ["RECIPIENT_ADD", "SOURCE_ADD"]
    assert types(second["created_at"]) == ["RECIPIENT_ADD"]
    assert types(start.isoformat()) == ["RECIPIENT_ADD", "SOURCE_ADD"]
    assert types(str(int(start.timestamp()))) == ["RECIPIENT_ADD", "SOURCE_ADD"]
    assert types(str(int(time.time()) + 3600)) == []
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert types(later) == []
    assert "min_time" in api.error("GET", "/logs", 400, params={"min_time": "yesterday"})


def test_list_pages_newest_first(api: Api) -> None:
    for key in ("a", "b", "c"):
        recipient(api, key)
    first = api.call("GET", "/logs", params={"page_size": 2}).json()
    assert first["has_next"] is True
    rest = api.ok("GET", first["next_url"])
    resources = [e["object"]["id_in_provider_system"] for e in first["data"]["event_logs"]]
    resources += [e["object"]["id_in_provider_system"] for e in rest["event_logs"]]
    assert resources == ["c", "b", "a"]


def test_get_one_event(api: Api) -> None:
    source(api)
    (event,) = all_events(api)
    assert api.ok("GET", f"/logs/{event['id']}")["event_log"] == event
    api.error("GET", "/logs/3f8e2c9a-0000-4000-8000-000000000000", 404)
    assert "log_id" in api.error("GET", "/logs/latest", 400)


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    source(tenant.staging)
    (event,) = all_events(tenant.staging)
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        other.error("GET", f"/logs/{event['id']}", 404)
        assert all_events(other) == []
