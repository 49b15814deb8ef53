"""Tenancy: organizations, and the two environments of one organization, are separate data
planes. Another tenant's object answers exactly like an id that never existed (docs/api.md,
Authentication and tenancy)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests import factories
from tests.conftest import Api

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


# --- how each resource is made ---------------------------------------------------------------


def make_source(api: Api) -> str:
    body = factories.postgres_source(unique("src"))
    return str(api.ok("POST", "/sources", json=body)["source"]["id"])


def make_model(api: Api) -> str:
    return str(api.ok("POST", "/models", json=factories.model(unique("m")))["model"]["id"])


def make_product(api: Api) -> str:
    body = {"product": {"product_name": unique("p"), "models": []}}
    return str(api.ok("POST", "/products", json=body)["product"]["id"])


def make_recipient(api: Api) -> str:
    return str(api.ok("POST", "/recipients", json=factories.recipient())["recipient"]["id"])


def make_destination(api: Api) -> str:
    body = factories.postgres_destination(make_recipient(api))
    return str(api.ok("POST", "/destinations", json=body)["destination"]["id"])


def make_transfer(api: Api) -> str:
    return str(api.ok("POST", f"/destinations/{make_destination(api)}/transfer")["transfer_id"])


def make_credential(api: Api) -> str:
    body = {
        "recipient_source_credential": {
            "recipient_id": make_recipient(api),
            "source_id": make_source(api),
            "username": "tenant_reader",
            "password": "tenant-pw",
        }
    }
    created = api.ok("POST", "/recipient-source-credentials", json=body)
    return str(created["recipient_source_credential"]["id"])


def make_magic_link(api: Api) -> str:
    body = {"magic_link": {"vendor": "postgres", "recipient_id": make_recipient(api)}}
    return str(api.ok("POST", "/magic-links", json=body)["magic_link"]["id"])


def make_webhook(api: Api) -> str:
    body = {
        "webhook": {"name": unique("hook"), "vendor": "generic_post", "url": "https://h.test/x"}
    }
    return str(api.ok("POST", "/webhooks", json=body)["webhook"]["id"])


def make_log(api: Api) -> str:
    recipient_id = make_recipient(api)
    events = api.ok("GET", "/logs", params={"event_type": "RECIPIENT_ADD", "page_size": 100})
    (event,) = [e for e in events["event_logs"] if e["resource_id"] == recipient_id]
    return str(event["id"])


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    list_key: str
    item_key: str
    make: Callable[[Api], str]
    patch: dict[str, Any] | None = None
    deletable: bool = True
    # Other routes naming the object by id: (method, path with {id}).
    actions: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        return self.name


RESOURCES = [
    Resource(
        "sources",
        "/sources",
        "sources",
        "source",
        make_source,
        patch={"source": {"name": "renamed"}},
    ),
    Resource(
        "models",
        "/models",
        "models",
        "model",
        make_model,
        patch={"model": {"description": "changed"}},
        actions=(("POST", "/models/{id}/validate"),),
    ),
    Resource(
        "products",
        "/products",
        "products",
        "product",
        make_product,
        patch={"product": {"models": ["*"]}},
        actions=(("POST", "/products/{id}/validate"),),
    ),
    Resource(
        "recipients",
        "/recipients",
        "recipients",
        "recipient",
        make_recipient,
        patch={"recipient": {"name": "Renamed"}},
    ),
    Resource(
        "destinations",
        "/destinations",
        "destinations",
        "destination",
        make_destination,
        patch={"destination": {"name": "Renamed", "frequency_minutes": 60}},
        actions=(
            ("POST", "/destinations/{id}/transfer"),
            ("GET", "/destinations/{id}/transfers"),
        ),
    ),
    Resource(
        "transfers",
        "/transfers",
        "transfers",
        "transfer",
        make_transfer,
        deletable=False,
        actions=(("POST", "/transfers/{id}/cancel"),),
    ),
    Resource(
        "recipient-source-credentials",
        "/recipient-source-credentials",
        "recipient_source_credentials",
        "recipient_source_credential",
        make_credential,
        patch={"recipient_source_credential": {"username": "someone_else"}},
    ),
    Resource(
        "magic-links",
        "/magic-links",
        "magic_links",
        "magic_link",
        make_magic_link,
    ),
    Resource(
        "webhooks",
        "/webhooks",
        "webhooks",
        "webhook",
        make_webhook,
        patch={"webhook": {"name": "renamed", "is_enabled": False}},
    ),
    Resource("logs", "/logs", "event_logs", "event_log", make_log, deletable=False),
]
BY_NAME = {resource.name: resource for resource in RESOURCES}


# --- who owns, who intrudes -------------------------------------------------------------------


@dataclass
class Pair:
    owner: Api
    intruder: Api


SEPARATIONS = ["other-org-staging", "other-org-prod", "prod-key-on-staging", "staging-key-on-prod"]


@pytest.fixture(params=SEPARATIONS)
def pair(request: pytest.FixtureRequest, make_tenant: Any) -> Pair:
    first, second = make_tenant(), make_tenant()
    return {
        "other-org-staging": Pair(first.staging, second.staging),
        "other-org-prod": Pair(first.prod, second.prod),
        "prod-key-on-staging": Pair(first.staging, first.prod),
        "staging-key-on-prod": Pair(first.prod, first.staging),
    }[request.param]


def normalized(message: str) -> str:
    """An error message with ids blanked, to compare answers about different ids."""
    return UUID_RE.sub("<id>", message)


def answer(api: Api, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    """(status, message with ids blanked) of a call expected to fail."""
    response = api.call(method, path, **kwargs)
    body = response.json()
    assert body["status"] == "error", (path, response.text)
    assert body["data"] is None
    return response.status_code, normalized(body["message"])


def listed_ids(api: Api, resource: Resource, version: str | None = None) -> list[str]:
    # The base version lists everything at once; 2023-12-01 pages, and one page is enough here.
    params = None if version == "2022-01-01" else {"page_size": 100}
    data = api.ok("GET", resource.path, params=params, version=version)
    return [item["id"] for item in data[resource.list_key]]


def attempts(resource: Resource) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every request naming one object: (method, path with {id}, body)."""
    tried: list[tuple[str, str, dict[str, Any] | None]] = [("GET", resource.path + "/{id}", None)]
    if resource.patch is not None:
        tried.append(("PATCH", resource.path + "/{id}", resource.patch))
    if resource.deletable:
        tried.append(("DELETE", resource.path + "/{id}", None))
    tried += [(method, path, None) for method, path in resource.actions]
    return tried


# --- each resource, each separation ----------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
@pytest.mark.parametrize("version", [None, "2022-01-01"])
def test_foreign_objects_are_not_listed(
    pair: Pair, resource: Resource, version: str | None
) -> None:
    foreign = resource.make(pair.owner)
    own = resource.make(pair.intruder)
    seen = listed_ids(pair.intruder, resource, version)
    assert own in seen
    assert foreign not in seen
    assert foreign in listed_ids(pair.owner, resource, version)


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_foreign_objects_answer_404_like_unknown_ones(pair: Pair, resource: Resource) -> None:
    foreign = resource.make(pair.owner)
    never = str(uuid.uuid4())
    for method, template, body in attempts(resource):
        status, message = answer(pair.intruder, method, template.format(id=foreign), json=body)
        expected = answer(pair.intruder, method, template.format(id=never), json=body)
        assert status == 404, (method, template, message)
        assert (status, message) == expected, (method, template)


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_foreign_objects_survive_the_attempts(pair: Pair, resource: Resource) -> None:
    foreign = resource.make(pair.owner)
    item_path = f"{resource.path}/{foreign}"
    before = pair.owner.ok("GET", item_path)[resource.item_key]
    events_before = pair.owner.ok("GET", "/logs", params={"page_size": 100})["event_logs"]
    for method, template, body in attempts(resource):
        pair.intruder.call(method, template.format(id=foreign), json=body)
    assert pair.owner.ok("GET", item_path)[resource.item_key] == before
    assert foreign in listed_ids(pair.owner, resource)
    # Nothing the intruder did was recorded against the owner's environment either.
    events_after = pair.owner.ok("GET", "/logs", params={"page_size": 100})["event_logs"]
    assert events_after == events_before


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
def test_the_export_prefix_is_isolated_too(pair: Pair, resource: Resource) -> None:
    foreign = resource.make(pair.owner)
    status, message = answer(pair.intruder, "GET", f"/export{resource.path}/{foreign}")
    assert status == 404
    assert (status, message) == answer(
        pair.intruder, "GET", f"/export{resource.path}/{uuid.uuid4()}"
    )
    assert foreign not in [
        item["id"]
        for item in pair.intruder.ok("GET", f"/export{resource.path}", params={"page_size": 100})[
            resource.list_key
        ]
    ]


NAMED = [
    ("/sources", "source", "name"),
    ("/models", "model", "model_name"),
    ("/products", "product", "product_name"),
]


@pytest.mark.parametrize(("path", "key", "name_field"), NAMED, ids=[n[0] for n in NAMED])
def test_foreign_names_answer_like_unknown_names(
    pair: Pair, path: str, key: str, name_field: str
) -> None:
    make = {"/sources": make_source, "/models": make_model, "/products": make_product}[path]
    foreign = pair.owner.ok("GET", f"{path}/{make(pair.owner)}")[key][name_field]
    never = unique("never")
    for method, body in (("GET", None), ("DELETE", None)):
        status, message = answer(pair.intruder, method, f"{path}/{foreign}", json=body)
        expected = answer(pair.intruder, method, f"{path}/{never}", json=body)
        assert status == 404
        assert (status, message.replace(foreign, "<name>")) == (
            expected[0],
            expected[1].replace(never, "<name>"),
        )
    assert pair.owner.ok("GET", f"{path}/{foreign}")[key][name_field] == foreign


def test_a_transfer_of_a_foreign_destination_is_not_cancelled(pair: Pair) -> None:
    transfer = make_transfer(pair.owner)
    pair.intruder.error("POST", f"/transfers/{transfer}/cancel", 404)
    assert pair.owner.ok("GET", f"/transfers/{transfer}")["transfer"]["status"] == "PENDING"


# --- references to foreign objects ------------------------------------------------------------


def refused_like_unknown(
    api: Api, method: str, path: str, body: Callable[[str], dict[str, Any]], foreign: str
) -> tuple[int, str]:
    """Send ``body(foreign)``, then ``body(<random uuid>)``: the answers must not differ."""
    got = answer(api, method, path, json=body(foreign))
    assert got == answer(api, method, path, json=body(str(uuid.uuid4())))
    return got


def test_a_destination_cannot_name_a_foreign_recipient(pair: Pair) -> None:
    foreign = make_recipient(pair.owner)
    status, _ = refused_like_unknown(
        pair.intruder, "POST", "/destinations", factories.postgres_destination, foreign
    )
    assert status == 404
    assert listed_ids(pair.intruder, BY_NAME["destinations"]) == []
    destinations = pair.owner.ok("GET", "/destinations", params={"recipient_id": foreign})
    assert destinations["destinations"] == []


def test_a_destination_cannot_be_moved_to_a_foreign_recipient(pair: Pair) -> None:
    own = make_destination(pair.intruder)
    own_recipient = pair.intruder.ok("GET", f"/destinations/{own}")["destination"]["recipient_id"]
    foreign = make_recipient(pair.owner)

    def body(recipient_id: str) -> dict[str, Any]:
        return {"destination": {"recipient_id": recipient_id}}

    with_foreign = pair.intruder.call("PATCH", f"/destinations/{own}", json=body(foreign))
    with_unknown = pair.intruder.call("PATCH", f"/destinations/{own}", json=body(str(uuid.uuid4())))
    assert with_foreign.status_code == with_unknown.status_code
    after = pair.intruder.ok("GET", f"/destinations/{own}")["destination"]
    assert after["recipient_id"] == own_recipient
    assert (
        pair.owner.ok("GET", "/destinations", params={"recipient_id": foreign})["destinations"]
        == []
    )


def credential_body(recipient_id: str, source_id: str) -> dict[str, Any]:
    return {
        "recipient_source_credential": {
            "recipient_id": recipient_id,
            "source_id": source_id,
            "username": "reader",
            "password": "pw",
        }
    }


def test_a_credential_cannot_name_a_foreign_source(pair: Pair) -> None:
    own_recipient = make_recipient(pair.intruder)
    make_source(pair.intruder)
    foreign = make_source(pair.owner)
    status, _ = refused_like_unknown(
        pair.intruder,
        "POST",
        "/recipient-source-credentials",
        lambda ident: credential_body(own_recipient, ident),
        foreign,
    )
    assert status == 404
    assert listed_ids(pair.intruder, BY_NAME["recipient-source-credentials"]) == []
    assert listed_ids(pair.owner, BY_NAME["recipient-source-credentials"]) == []


def test_a_credential_cannot_name_a_foreign_recipient(pair: Pair) -> None:
    own_source = make_source(pair.intruder)
    foreign = make_recipient(pair.owner)
    status, _ = refused_like_unknown(
        pair.intruder,
        "POST",
        "/recipient-source-credentials",
        lambda ident: credential_body(ident, own_source),
        foreign,
    )
    assert status == 404
    assert listed_ids(pair.intruder, BY_NAME["recipient-source-credentials"]) == []


def test_a_credential_cannot_be_moved_to_foreign_objects(pair: Pair) -> None:
    own = make_credential(pair.intruder)
    before = pair.intruder.ok("GET", f"/recipient-source-credentials/{own}")
    for field_name, make in (("recipient_id", make_recipient), ("source_id", make_source)):
        foreign = make(pair.owner)
        status, _ = refused_like_unknown(
            pair.intruder,
            "PATCH",
            f"/recipient-source-credentials/{own}",
            lambda ident, name=field_name: {"recipient_source_credential": {name: ident}},
            foreign,
        )
        assert status == 404
    assert pair.intruder.ok("GET", f"/recipient-source-credentials/{own}") == before


def test_a_magic_link_cannot_name_a_foreign_recipient(pair: Pair) -> None:
    foreign = make_recipient(pair.owner)
    status, _ = refused_like_unknown(
        pair.intruder,
        "POST",
        "/magic-links",
        lambda ident: {"magic_link": {"vendor": "postgres", "recipient_id": ident}},
        foreign,
    )
    assert status == 404
    assert listed_ids(pair.intruder, BY_NAME["magic-links"]) == []
    assert listed_ids(pair.owner, BY_NAME["magic-links"]) == []


def test_a_transfer_cannot_be_requested_on_a_foreign_destination(pair: Pair) -> None:
    foreign = make_destination(pair.owner)
    for body in (None, {"full_refresh": True}):
        status, message = answer(
            pair.intruder, "POST", f"/destinations/{foreign}/transfer", json=body
        )
        assert status == 404
        assert (status, message) == answer(
            pair.intruder, "POST", f"/destinations/{uuid.uuid4()}/transfer", json=body
        )
    assert listed_ids(pair.owner, BY_NAME["transfers"]) == []
    assert listed_ids(pair.intruder, BY_NAME["transfers"]) == []


def test_foreign_transfers_cannot_be_found_by_their_destination(pair: Pair) -> None:
    foreign_destination = make_destination(pair.owner)
    foreign_transfer = pair.owner.ok("POST", f"/destinations/{foreign_destination}/transfer")[
        "transfer_id"
    ]
    make_transfer(pair.intruder)

    def filtered(destination_id: str) -> Any:
        return pair.intruder.call("GET", "/transfers", params={"destination_id": destination_id})

    foreign, unknown = filtered(foreign_destination), filtered(str(uuid.uuid4()))
    assert foreign.status_code == unknown.status_code
    if foreign.status_code == 200:
        assert foreign.json()["data"]["transfers"] == []
        assert foreign.json()["data"] == unknown.json()["data"]
    assert foreign_transfer not in foreign.text
    status, message = answer(pair.intruder, "GET", f"/destinations/{foreign_destination}/transfers")
    assert status == 404
    assert (status, message) == answer(
        pair.intruder, "GET", f"/destinations/{uuid.uuid4()}/transfers"
    )
    # The owner still finds it.
    owned = pair.owner.ok("GET", "/transfers", params={"destination_id": foreign_destination})
    assert [t["id"] for t in owned["transfers"]] == [foreign_transfer]


@pytest.mark.parametrize(
    ("path", "list_key", "param", "make"),
    [
        ("/destinations", "destinations", "recipient_id", make_recipient),
        ("/recipient-source-credentials", "recipient_source_credentials", "recipient_id", None),
        ("/recipient-source-credentials", "recipient_source_credentials", "source_id", None),
    ],
    ids=["destinations-by-recipient", "credentials-by-recipient", "credentials-by-source"],
)
def test_list_filters_do_not_reach_foreign_objects(
    pair: Pair, path: str, list_key: str, param: str, make: Any
) -> None:
    if make is None:
        credential = make_credential(pair.owner)
        foreign = pair.owner.ok("GET", f"{path}/{credential}")["recipient_source_credential"][param]
    else:
        foreign = make(pair.owner)
        pair.owner.ok("POST", "/destinations", json=factories.postgres_destination(foreign))
    got = pair.intruder.call("GET", path, params={param: foreign})
    unknown = pair.intruder.call("GET", path, params={param: str(uuid.uuid4())})
    assert got.status_code == unknown.status_code == 200
    assert got.json()["data"][list_key] == []
    assert len(pair.owner.ok("GET", path, params={param: foreign})[list_key]) == 1


def test_a_model_cannot_read_a_foreign_source(pair: Pair) -> None:
    foreign = make_source(pair.owner)
    status, message = refused_like_unknown(
        pair.intruder,
        "POST",
        "/models",
        lambda ident: factories.model(unique("m"), source_id=ident),
        foreign,
    )
    assert status in {400, 404}
    assert "source" in message
    assert listed_ids(pair.intruder, BY_NAME["models"]) == []


def test_products_and_recipients_resolve_names_in_their_own_environment(pair: Pair) -> None:
    model_name = unique("m")
    pair.owner.ok("POST", "/models", json=factories.model(model_name))
    product_name = unique("p")
    pair.owner.ok("POST", "/products", json={"product": {"product_name": product_name}})
    message = pair.intruder.error(
        "POST", "/products", 400, json={"product": {"product_name": "x", "models": [model_name]}}
    )
    assert model_name in message
    message = pair.intruder.error(
        "POST", "/recipients", 400, json=factories.recipient(products=[product_name])
    )
    assert product_name in message
    recipient = make_recipient(pair.intruder)
    message = pair.intruder.error(
        "POST",
        "/destinations",
        400,
        json=factories.postgres_destination(recipient, enabled_models=[model_name]),
    )
    assert model_name in message


# --- uniqueness is per environment -----------------------------------------------------------


def test_two_organizations_may_use_the_same_names(make_tenant: Any) -> None:
    first, second = make_tenant(), make_tenant()
    key, model_name, product_name, source_name = "acme", "orders", "gold", "warehouse"
    for api in (first.staging, second.staging):
        recipient = api.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]
        assert recipient["id_in_provider_system"] == key
        assert api.ok("POST", "/models", json=factories.model(model_name))["model"]["model_name"]
        api.ok("POST", "/products", json={"product": {"product_name": product_name}})
        api.ok("POST", "/sources", json=factories.postgres_source(source_name))
    for plural, field_name, value in (
        ("recipients", "id_in_provider_system", key),
        ("models", "model_name", model_name),
    ):
        ids = [
            {item[field_name]: item["id"] for item in api.ok("GET", f"/{plural}")[plural]}[value]
            for api in (first.staging, second.staging)
        ]
        assert ids[0] != ids[1]
    # Names still resolve to each organization's own object.
    for api in (first.staging, second.staging):
        listed = api.ok("GET", "/models")["models"]
        assert api.ok("GET", f"/models/{model_name}")["model"]["id"] == listed[0]["id"]


def test_staging_and_prod_may_use_the_same_names(tenant: Any) -> None:
    for api in (tenant.staging, tenant.prod):
        api.ok("POST", "/recipients", json=factories.recipient("acme"))
        api.ok("POST", "/models", json=factories.model("orders"))
        api.ok("POST", "/sources", json=factories.postgres_source("warehouse"))
    staging_model = tenant.staging.ok("GET", "/models/orders")["model"]
    prod_model = tenant.prod.ok("GET", "/models/orders")["model"]
    assert staging_model["id"] != prod_model["id"]


def test_names_are_still_unique_within_one_environment(make_tenant: Any) -> None:
    api = make_tenant().staging
    api.ok("POST", "/recipients", json=factories.recipient("acme"))
    api.error("POST", "/recipients", 409, json=factories.recipient("acme"))
    api.ok("POST", "/models", json=factories.model("orders"))
    api.error("POST", "/models", 409, json=factories.model("orders"))


def test_destinations_of_different_tenants_may_write_to_the_same_place(make_tenant: Any) -> None:
    """The same-target conflict is about recipients of one environment, not across tenants."""
    first, second = make_tenant(), make_tenant()
    for api in (first.staging, second.staging, first.prod):
        recipient = make_recipient(api)
        api.ok(
            "POST", "/destinations", json=factories.postgres_destination(recipient, schema="shared")
        )


# --- each environment has its own default product ---------------------------------------------


def test_each_environment_has_its_own_default_product(make_tenant: Any) -> None:
    first, second = make_tenant(), make_tenant()
    defaults = {}
    for label, api in (
        ("a-staging", first.staging),
        ("a-prod", first.prod),
        ("b-staging", second.staging),
    ):
        product = api.ok("GET", "/products/default")["product"]
        assert product["product_name"] == "default"
        assert product["models"] == ["*"]
        assert [p["product_name"] for p in api.ok("GET", "/products")["products"]] == ["default"]
        defaults[label] = product["id"]
    assert len(set(defaults.values())) == 3
    # Another environment's default is as invisible as anything else of it.
    first.prod.error("GET", f"/products/{defaults['a-staging']}", 404)
    second.staging.error("GET", f"/products/{defaults['a-staging']}", 404)


def test_editing_one_default_product_leaves_the_others(make_tenant: Any) -> None:
    first, second = make_tenant(), make_tenant()
    first.staging.ok("POST", "/models", json=factories.model("orders"))
    edited = first.staging.ok(
        "PATCH", "/products/default", json={"product": {"models": ["orders"]}}
    )["product"]
    assert edited["models"] == ["orders"]
    assert first.prod.ok("GET", "/products/default")["product"]["models"] == ["*"]
    assert second.staging.ok("GET", "/products/default")["product"]["models"] == ["*"]


# --- more ways in: cursors, provider ids ------------------------------------------------------


def test_a_foreign_cursor_pages_only_through_ones_own_objects(pair: Pair) -> None:
    foreign = [make_recipient(pair.owner) for _ in range(3)]
    own = [make_recipient(pair.intruder) for _ in range(2)]
    first = pair.owner.call("GET", "/recipients", params={"page_size": 1})
    next_url = first.json()["next_url"]
    assert next_url
    cursor = next_url.split("cursor=", 1)[1]
    response = pair.intruder.call("GET", f"/recipients?page_size=100&cursor={cursor}")
    assert not any(ident in response.text for ident in foreign)
    if response.status_code == 200:
        assert {r["id"] for r in response.json()["data"]["recipients"]} <= set(own)


def test_a_foreign_provider_id_creates_ones_own_recipient(pair: Pair) -> None:
    key = unique("cust")
    foreign = pair.owner.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]
    body = factories.postgres_destination(str(uuid.uuid4()))
    del body["destination"]["recipient_id"]
    body["destination"]["id_in_provider_system"] = key
    created = pair.intruder.ok("POST", "/destinations", json=body)["destination"]
    assert created["id_in_provider_system"] == key
    assert created["recipient_id"] != foreign["id"]
    assert pair.owner.ok("GET", f"/recipients/{foreign['id']}")["recipient"] == foreign
    assert (
        pair.owner.ok("GET", "/destinations", params={"recipient_id": foreign["id"]})[
            "destinations"
        ]
        == []
    )


def test_filtering_by_a_foreign_provider_id_finds_nothing(pair: Pair) -> None:
    recipient = make_recipient(pair.owner)
    key = pair.owner.ok("GET", f"/recipients/{recipient}")["recipient"]["id_in_provider_system"]
    pair.owner.ok("POST", "/destinations", json=factories.postgres_destination(recipient))
    for path, list_key in (("/recipients", "recipients"), ("/destinations", "destinations")):
        found = pair.intruder.ok("GET", path, params={"id_in_provider_system": key})
        assert found[list_key] == []
        assert len(pair.owner.ok("GET", path, params={"id_in_provider_system": key})[list_key]) == 1


def test_a_base_version_magic_link_names_only_ones_own_recipients(pair: Pair) -> None:
    key = unique("cust")
    foreign = pair.owner.ok("POST", "/recipients", json=factories.recipient(key))["recipient"]
    link = pair.intruder.ok(
        "POST",
        "/magic-links",
        json={"magic_link": {"vendor": "postgres", "id_in_provider_system": key}},
        version="2022-01-01",
    )["magic_link"]
    assert link["recipient_id"] != foreign["id"]
    assert link["id_in_provider_system"] == key
    assert listed_ids(pair.owner, BY_NAME["magic-links"]) == []
