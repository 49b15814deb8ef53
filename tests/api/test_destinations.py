"""Destinations through the API: shapes, recipients, settings, targets, PATCH, every vendor."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from ferry.connectors import registry
from ferry.db.engine import session_scope
from ferry.db.models import Destination
from ferry.services import destinations as destination_service
from tests import factories
from tests.conftest import Api, Tenant
from tests.connectors.test_vendor_configs import DESTINATION_SAMPLES

DESTINATION_FIELDS = {
    "id",
    "vendor",
    "name",
    "recipient_id",
    "id_in_provider_system",
    "products",
    "enabled_models",
    "frequency_minutes",
    "is_enabled",
    "max_concurrent_transfers",
    "max_concurrent_queries_per_transfer",
    "created_at",
    "updated_at",
    "last_successful_transfer_ended_at",
    "last_completed_transfer",
}


def recipient(api: Api, key: str = "acme", **overrides: Any) -> dict[str, Any]:
    return api.ok("POST", "/recipients", json=factories.recipient(key, **overrides))["recipient"]


def create(api: Api, recipient_id: str, **overrides: Any) -> dict[str, Any]:
    body = factories.postgres_destination(recipient_id, **overrides)
    return api.ok("POST", "/destinations", json=body)["destination"]


def stored_config(sessions: Any, destination_id: str) -> dict[str, Any]:
    """The destination's full config as a connector would get it, secrets included."""
    with session_scope(sessions) as session:
        row = session.get_one(Destination, uuid.UUID(destination_id))
        return destination_service.config_of(session, row).reveal()


def test_create_returns_every_field_without_secrets(api: Api) -> None:
    acme = recipient(api)
    body = factories.postgres_destination(acme["id"], schema="acme")
    response = api.call("POST", "/destinations", json=body)
    assert response.status_code == 200, response.text
    assert factories.DEST_PASSWORD not in response.text
    destination = response.json()["data"]["destination"]
    assert set(destination) == DESTINATION_FIELDS | {"postgres"}
    assert destination["vendor"] == "postgres"
    assert destination["name"] == "Warehouse"
    assert destination["recipient_id"] == acme["id"]
    assert destination["id_in_provider_system"] == "acme"
    assert destination["products"] == ["default"]
    assert destination["enabled_models"] == ["*"]
    assert destination["frequency_minutes"] == 0
    assert destination["is_enabled"] is True
    assert destination["max_concurrent_transfers"] == 1
    assert destination["max_concurrent_queries_per_transfer"] == 1
    assert destination["last_successful_transfer_ended_at"] is None
    assert destination["last_completed_transfer"] is None
    assert destination["postgres"] == {
        "host": "warehouse.example.com",
        "port": 5432,
        "database": "analytics",
        "schema": "acme",
        "auth_method": "password_auth",
        "password_auth": {"username": "writer"},
        "disable_ssl": False,
        "use_ssh_tunnel": False,
    }
    assert factories.is_rfc3339_utc(destination["created_at"])
    assert destination["updated_at"] == destination["created_at"]
    got = api.call("GET", f"/destinations/{destination['id']}")
    assert factories.DEST_PASSWORD not in got.text
    assert got.json()["data"]["destination"] == destination


def test_settings_are_kept(api: Api, sessions: Any) -> None:
    api.ok("POST", "/models", json=factories.unchecked_model("orders"))
    api.ok("POST", "/products", json=factories.product("gold", ["orders"]))
    acme = recipient(api)
    destination = create(
        api,
        acme["id"],
        products=["gold"],
        enabled_models=["orders"],
        frequency_minutes=360,
        is_enabled=False,
        max_concurrent_transfers=3,
        max_concurrent_queries_per_transfer=4,
        machine_type_id="1a2b3c4d-0000-4000-8000-000000000000",
    )
    assert destination["products"] == ["gold"]
    assert destination["enabled_models"] == ["orders"]
    assert destination["frequency_minutes"] == 360
    assert destination["is_enabled"] is False
    assert destination["max_concurrent_transfers"] == 3
    assert destination["max_concurrent_queries_per_transfer"] == 4
    assert "machine_type_id" not in destination
    assert stored_config(sessions, destination["id"])["password_auth"] == {
        "username": "writer",
        "password": factories.DEST_PASSWORD,
    }


def test_products_follow_the_recipient_when_absent(api: Api) -> None:
    api.ok("POST", "/products", json=factories.product("gold"))
    acme = recipient(api)
    destination = create(api, acme["id"])
    assert destination["products"] == ["default"]
    api.ok("PATCH", f"/recipients/{acme['id']}", json={"recipient": {"products": ["gold"]}})
    assert api.ok("GET", f"/destinations/{destination['id']}")["destination"]["products"] == [
        "gold"
    ]


def test_unknown_provider_id_creates_the_recipient(api: Api) -> None:
    body = factories.postgres_destination("ignored")
    del body["destination"]["recipient_id"]
    body["destination"]["id_in_provider_system"] = "newco"
    destination = api.ok("POST", "/destinations", json=body)["destination"]
    assert destination["id_in_provider_system"] == "newco"
    recipients = api.ok("GET", "/recipients", params={"id_in_provider_system": "newco"})[
        "recipients"
    ]
    assert [r["id"] for r in recipients] == [destination["recipient_id"]]
    assert recipients[0]["products"] == ["default"]


def test_existing_provider_id_without_recipient_id_is_a_conflict(api: Api) -> None:
    acme = recipient(api)
    body = factories.postgres_destination("ignored")
    del body["destination"]["recipient_id"]
    body["destination"]["id_in_provider_system"] = "acme"
    message = api.error("POST", "/destinations", 409, json=body)
    assert "recipient_id" in message
    assert acme["id"] in message
    assert api.ok("GET", "/destinations")["destinations"] == []
    # Naming the recipient adds a second destination to it.
    body["destination"]["recipient_id"] = acme["id"]
    api.ok("POST", "/destinations", json=body)


def test_recipient_id_and_a_matching_provider_id(api: Api) -> None:
    acme = recipient(api)
    create(api, acme["id"], id_in_provider_system="acme")
    message = api.error(
        "POST",
        "/destinations",
        400,
        json=factories.postgres_destination(acme["id"], id_in_provider_system="globex"),
    )
    assert "destination.id_in_provider_system" in message


def test_unknown_recipient_is_not_found(api: Api) -> None:
    missing = "3f8e2c9a-0000-4000-8000-000000000000"
    api.error("POST", "/destinations", 404, json=factories.postgres_destination(missing))
    assert api.ok("GET", "/recipients")["recipients"] == []


def test_a_recipient_is_required(api: Api) -> None:
    body = factories.postgres_destination("ignored")
    del body["destination"]["recipient_id"]
    assert "destination.recipient_id" in api.error("POST", "/destinations", 400, json=body)


def test_a_recipient_of_another_environment_is_not_found(tenant: Tenant) -> None:
    elsewhere = recipient(tenant.prod)
    tenant.staging.error(
        "POST", "/destinations", 404, json=factories.postgres_destination(elsewhere["id"])
    )


@pytest.mark.parametrize("frequency", [0, 15, 60, 360, 720, 1440])
def test_allowed_frequencies(api: Api, frequency: int) -> None:
    destination = create(api, recipient(api)["id"], frequency_minutes=frequency)
    assert destination["frequency_minutes"] == frequency


@pytest.mark.parametrize("frequency", [1, 30, 90, 1439, 2880, -15])
def test_other_frequencies_are_refused(api: Api, frequency: int) -> None:
    acme = recipient(api)
    body = factories.postgres_destination(acme["id"], frequency_minutes=frequency)
    assert "destination.frequency_minutes" in api.error("POST", "/destinations", 400, json=body)
    destination = create(api, acme["id"])
    message = api.error(
        "PATCH",
        f"/destinations/{destination['id']}",
        400,
        json={"destination": {"frequency_minutes": frequency}},
    )
    assert "destination.frequency_minutes" in message


def test_unknown_enabled_models_are_refused(api: Api) -> None:
    api.ok("POST", "/models", json=factories.unchecked_model("orders"))
    acme = recipient(api)
    body = factories.postgres_destination(acme["id"], enabled_models=["orders", "nope"])
    message = api.error("POST", "/destinations", 400, json=body)
    assert "destination.enabled_models" in message
    assert "nope" in message
    destination = create(api, acme["id"], enabled_models=["orders"])
    message = api.error(
        "PATCH",
        f"/destinations/{destination['id']}",
        400,
        json={"destination": {"enabled_models": ["nope"]}},
    )
    assert "destination.enabled_models" in message


def test_unknown_products_are_refused(api: Api) -> None:
    acme = recipient(api)
    body = factories.postgres_destination(acme["id"], products=["gold"])
    assert "destination.products" in api.error("POST", "/destinations", 400, json=body)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_concurrent_transfers", 0),
        ("max_concurrent_transfers", 101),
        ("max_concurrent_queries_per_transfer", 0),
        ("is_enabled", "yes please"),
        ("name", ""),
        ("machine_type_id", "m5.large"),
        ("colour", "red"),
    ],
)
def test_invalid_settings_are_refused(api: Api, field: str, value: Any) -> None:
    acme = recipient(api)
    body = factories.postgres_destination(acme["id"], **{field: value})
    assert f"destination.{field}" in api.error("POST", "/destinations", 400, json=body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(vendor="oracle9"), "destination.vendor"),
        (lambda d: d.pop("postgres"), "destination.postgres"),
        (lambda d: d.update(mysql=DESTINATION_SAMPLES["mysql"]), "mysql"),
        (lambda d: d["postgres"].update(port="5432"), "destination.postgres.port"),
        (lambda d: d["postgres"].pop("host"), "destination.postgres.host"),
        (lambda d: d["postgres"].update(hostname="x"), "destination.postgres.hostname"),
        (
            lambda d: d["postgres"].update(auth_method="kerberos"),
            "destination.postgres.auth_method",
        ),
        (lambda d: d["postgres"].pop("password_auth"), "destination.postgres.password_auth"),
    ],
)
def test_invalid_vendor_objects_are_refused(api: Api, change: Any, field: str) -> None:
    body = factories.postgres_destination(recipient(api)["id"])
    change(body["destination"])
    assert field in api.error("POST", "/destinations", 400, json=body)


def test_two_recipients_cannot_write_to_the_same_place(api: Api) -> None:
    acme = recipient(api, "acme")
    globex = recipient(api, "globex")
    first = create(api, acme["id"], schema="shared")
    # The same recipient may write there twice.
    create(api, acme["id"], schema="shared", name="Second")
    message = api.error(
        "POST",
        "/destinations",
        409,
        json=factories.postgres_destination(globex["id"], schema="shared"),
    )
    assert first["id"] in message or "another recipient" in message
    # Names are compared without regard to letter case.
    api.error(
        "POST",
        "/destinations",
        409,
        json=factories.postgres_destination(globex["id"], schema="SHARED"),
    )
    # Any other schema, database, host or port is another place.
    create(api, globex["id"], schema="other")
    for key, value in (("database", "other_db"), ("host", "other.example.com"), ("port", 6543)):
        body = factories.postgres_destination(globex["id"], schema="shared")
        body["destination"]["postgres"][key] = value
        api.ok("POST", "/destinations", json=body)


def test_patch_cannot_move_onto_another_recipients_place(api: Api) -> None:
    acme = recipient(api, "acme")
    globex = recipient(api, "globex")
    create(api, acme["id"], schema="acme")
    theirs = create(api, globex["id"], schema="globex")
    message = api.error(
        "PATCH",
        f"/destinations/{theirs['id']}",
        409,
        json={"destination": {"postgres": {"schema": "acme"}}},
    )
    assert "another recipient" in message
    assert api.ok("GET", f"/destinations/{theirs['id']}")["destination"] == theirs


def test_the_same_place_in_another_environment_is_fine(tenant: Tenant) -> None:
    create(tenant.staging, recipient(tenant.staging, "acme")["id"], schema="shared")
    create(tenant.prod, recipient(tenant.prod, "globex")["id"], schema="shared")


def test_patch_deep_merges_a_partial_vendor_object(api: Api, sessions: Any) -> None:
    destination = create(api, recipient(api)["id"])
    updated = api.ok(
        "PATCH",
        f"/destinations/{destination['id']}",
        json={"destination": {"postgres": {"port": 6543}}},
    )["destination"]
    assert updated["postgres"] == destination["postgres"] | {"port": 6543}
    assert {k: v for k, v in updated.items() if k not in ("postgres", "updated_at")} == {
        k: v for k, v in destination.items() if k not in ("postgres", "updated_at")
    }
    assert updated["updated_at"] > destination["updated_at"]
    assert stored_config(sessions, destination["id"])["password_auth"]["password"] == (
        factories.DEST_PASSWORD
    )


def test_patch_changes_only_the_password(api: Api, sessions: Any) -> None:
    destination = create(api, recipient(api)["id"])
    response = api.call(
        "PATCH",
        f"/destinations/{destination['id']}",
        json={"destination": {"postgres": {"password_auth": {"password": "brand-New-pw"}}}},
    )
    assert response.status_code == 200, response.text
    assert "brand-New-pw" not in response.text
    assert response.json()["data"]["destination"]["postgres"] == destination["postgres"]
    assert stored_config(sessions, destination["id"])["password_auth"] == {
        "username": "writer",
        "password": "brand-New-pw",
    }


def test_patch_common_fields(api: Api) -> None:
    api.ok("POST", "/models", json=factories.unchecked_model("orders"))
    destination = create(api, recipient(api)["id"])
    patch = {
        "name": "Renamed",
        "is_enabled": False,
        "frequency_minutes": 60,
        "enabled_models": ["orders"],
        "max_concurrent_transfers": 2,
        "max_concurrent_queries_per_transfer": 5,
    }
    updated = api.ok("PATCH", f"/destinations/{destination['id']}", json={"destination": patch})[
        "destination"
    ]
    assert updated == destination | patch | {"updated_at": updated["updated_at"]}
    assert factories.is_rfc3339_utc(updated["updated_at"])
    assert updated["updated_at"] > destination["updated_at"]
    assert updated["created_at"] == destination["created_at"]
    assert api.ok("GET", f"/destinations/{destination['id']}")["destination"] == updated
    back = api.ok(
        "PATCH", f"/destinations/{destination['id']}", json={"destination": {"is_enabled": True}}
    )["destination"]
    assert back["is_enabled"] is True
    assert back["name"] == "Renamed"


def test_patch_products_and_back_to_the_recipients(api: Api) -> None:
    api.ok("POST", "/products", json=factories.product("gold"))
    destination = create(api, recipient(api)["id"])
    url = f"/destinations/{destination['id']}"
    assert api.ok("PATCH", url, json={"destination": {"products": ["gold"]}})["destination"][
        "products"
    ] == ["gold"]
    assert api.ok("PATCH", url, json={"destination": {"products": None}})["destination"][
        "products"
    ] == ["default"]


def test_patch_changing_auth_details_drops_nothing_else(api: Api, sessions: Any) -> None:
    destination = create(api, recipient(api)["id"])
    tunnel = {
        "use_ssh_tunnel": True,
        "ssh_tunnel": {"ssh_tunnel_host": "bastion.example.com", "ssh_tunnel_username": "ferry"},
    }
    updated = api.ok(
        "PATCH", f"/destinations/{destination['id']}", json={"destination": {"postgres": tunnel}}
    )["destination"]
    assert updated["postgres"]["ssh_tunnel"] == tunnel["ssh_tunnel"] | {"ssh_tunnel_port": 22}
    assert updated["postgres"]["host"] == "warehouse.example.com"
    assert stored_config(sessions, destination["id"])["password_auth"]["password"] == (
        factories.DEST_PASSWORD
    )


def test_patch_refuses_invalid_vendor_fields(api: Api) -> None:
    destination = create(api, recipient(api)["id"])
    url = f"/destinations/{destination['id']}"
    for patch, field in (
        ({"port": "x"}, "destination.postgres.port"),
        ({"hostname": "x"}, "destination.postgres.hostname"),
        ({"host": None}, "destination.postgres.host"),
    ):
        assert field in api.error("PATCH", url, 400, json={"destination": {"postgres": patch}})
    assert api.ok("GET", url)["destination"] == destination


def test_patch_refuses_another_vendors_object(api: Api) -> None:
    destination = create(api, recipient(api)["id"])
    url = f"/destinations/{destination['id']}"
    # A postgres destination has no mysql object: docs/api.md refuses unknown fields everywhere.
    message = api.error("PATCH", url, 400, json={"destination": {"mysql": {"host": "other"}}})
    assert "mysql" in message
    assert api.ok("GET", url)["destination"] == destination


@pytest.mark.parametrize("field", ["recipient_id", "id_in_provider_system"])
def test_patch_does_not_silently_ignore_the_recipient(api: Api, field: str) -> None:
    destination = create(api, recipient(api, "acme")["id"])
    globex = recipient(api, "globex")
    url = f"/destinations/{destination['id']}"
    value = globex["id"] if field == "recipient_id" else globex[field]
    response = api.call("PATCH", url, json={"destination": {field: value}})
    # Either the destination moves to the named recipient, or the request is refused;
    # a success that leaves it where it was would mislead the client.
    if response.status_code == 200:
        assert response.json()["data"]["destination"]["recipient_id"] == globex["id"]
    else:
        assert response.status_code == 400, response.text
        assert field in response.json()["message"]
        assert api.ok("GET", url)["destination"] == destination


def test_changing_vendor_requires_the_whole_object(api: Api, sessions: Any) -> None:
    destination = create(api, recipient(api)["id"])
    url = f"/destinations/{destination['id']}"
    message = api.error("PATCH", url, 400, json={"destination": {"vendor": "mysql"}})
    assert "destination.mysql" in message
    message = api.error(
        "PATCH",
        url,
        400,
        json={"destination": {"vendor": "mysql", "mysql": {"host": "my.example.com"}}},
    )
    assert "destination.mysql" in message
    mysql = DESTINATION_SAMPLES["mysql"]
    updated = api.ok("PATCH", url, json={"destination": {"vendor": "mysql", "mysql": mysql}})[
        "destination"
    ]
    assert updated["vendor"] == "mysql"
    assert "postgres" not in updated
    assert updated["mysql"]["write_database"] == "acme"
    assert "password" not in updated["mysql"]["password_auth"]
    assert stored_config(sessions, destination["id"])["password_auth"] == mysql["password_auth"]
    assert api.ok("GET", url)["destination"] == updated


def test_list_filters(api: Api) -> None:
    acme = recipient(api, "acme")
    globex = recipient(api, "globex")
    initech = recipient(api, "initech")
    a1 = create(api, acme["id"])
    a2 = create(api, acme["id"])
    g1 = create(api, globex["id"])
    body = factories.vendored(
        "destination", "mysql", DESTINATION_SAMPLES["mysql"], recipient_id=initech["id"]
    )
    i1 = api.ok("POST", "/destinations", json=body)["destination"]

    def listed(**params: str) -> set[str]:
        return {d["id"] for d in api.ok("GET", "/destinations", params=params)["destinations"]}

    assert listed() == {a1["id"], a2["id"], g1["id"], i1["id"]}
    assert listed(recipient_id=acme["id"]) == {a1["id"], a2["id"]}
    assert listed(id_in_provider_system="globex") == {g1["id"]}
    assert listed(id_in_provider_system="globex,initech") == {g1["id"], i1["id"]}
    assert listed(vendor="mysql") == {i1["id"]}
    assert listed(vendor="postgres,mysql") == {a1["id"], a2["id"], g1["id"], i1["id"]}
    assert listed(vendor="postgres", id_in_provider_system="acme,initech") == {a1["id"], a2["id"]}
    assert listed(recipient_id="3f8e2c9a-0000-4000-8000-000000000000") == set()
    assert "recipient_id" in api.error("GET", "/destinations", 400, params={"recipient_id": "acme"})


def test_list_pages(api: Api) -> None:
    acme = recipient(api)
    ids = [create(api, acme["id"])["id"] for _ in range(3)]
    first = api.call("GET", "/destinations", params={"page_size": 2}).json()
    assert [d["id"] for d in first["data"]["destinations"]] == ids[::-1][:2]
    assert first["has_next"] is True
    assert "page_size=2" in first["next_url"]
    rest = api.call("GET", first["next_url"]).json()
    assert [d["id"] for d in rest["data"]["destinations"]] == ids[:1]
    assert rest["has_next"] is False


def test_delete(api: Api) -> None:
    acme = recipient(api)
    destination = create(api, acme["id"])
    assert api.ok("DELETE", f"/destinations/{destination['id']}") == {}
    api.error("GET", f"/destinations/{destination['id']}", 404)
    api.error("DELETE", f"/destinations/{destination['id']}", 404)
    assert api.ok("GET", "/destinations")["destinations"] == []
    # The recipient stays.
    api.ok("GET", f"/recipients/{acme['id']}")


def test_delete_with_transfers(api: Api) -> None:
    destination = create(api, recipient(api)["id"])
    transfer = api.ok("POST", f"/destinations/{destination['id']}/transfer", json={})
    api.ok("POST", f"/transfers/{transfer['transfer_id']}/cancel")
    api.ok("POST", f"/destinations/{destination['id']}/transfer", json={})
    assert api.ok("DELETE", f"/destinations/{destination['id']}") == {}
    api.error("GET", f"/transfers/{transfer['transfer_id']}", 404)
    assert api.ok("GET", "/transfers")["transfers"] == []


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_bad_uuid_is_refused(api: Api, method: str) -> None:
    body = {"destination": {"name": "x"}} if method == "PATCH" else None
    assert "destination_id" in api.error(method, "/destinations/warehouse", 400, json=body)


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    created = create(tenant.staging, recipient(tenant.staging)["id"])
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        url = f"/destinations/{created['id']}"
        other.error("GET", url, 404)
        other.error("PATCH", url, 404, json={"destination": {"name": "x"}})
        other.error("DELETE", url, 404)
        assert other.ok("GET", "/destinations")["destinations"] == []


@pytest.mark.parametrize("vendor", sorted(registry.destinations()))
def test_every_vendor_can_be_created_and_read_back_without_secrets(api: Api, vendor: str) -> None:
    config = copy.deepcopy(DESTINATION_SAMPLES[vendor])
    expected, secrets = factories.public_and_secrets(
        registry.destination_class(vendor).config_model, config
    )
    body = factories.vendored("destination", vendor, config, recipient_id=recipient(api)["id"])
    response = api.call("POST", "/destinations", json=body)
    assert response.status_code == 200, response.text
    created = response.json()["data"]["destination"]
    assert set(created) == DESTINATION_FIELDS | {vendor}
    assert created["vendor"] == vendor
    assert created[vendor] == expected
    got = api.call("GET", f"/destinations/{created['id']}")
    assert got.json()["data"]["destination"] == created
    listed = api.call("GET", "/destinations")
    assert listed.json()["data"]["destinations"] == [created]
    for secret in secrets:
        for text in (response.text, got.text, listed.text):
            assert secret not in text


def test_public_destination_vendors_need_no_credentials(client: Any) -> None:
    response = client.get("/public/destination-vendors")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    vendors = body["data"]
    assert isinstance(vendors, list)
    assert {v["key"] for v in vendors} == set(registry.destinations())
    assert len(vendors) == len(registry.destinations())
    for vendor in vendors:
        assert {"key", "display"} <= set(vendor)
        assert isinstance(vendor["display"], str)
        assert vendor["display"]
        assert vendor.get("disabled") in (None, False)
    postgres = next(v for v in vendors if v["key"] == "postgres")
    assert postgres["display"] == registry.destination_class("postgres").display_name
