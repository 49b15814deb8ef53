"""Models through the API: the structural rules of docs/api.md, sources, revisions, products."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ferry.connectors import registry
from tests import factories
from tests.conftest import Api, Tenant
from tests.connectors.test_vendor_configs import SOURCE_SAMPLES

Config = dict[str, Any]


def config(name: str = "orders", **overrides: Any) -> Config:
    return factories.model(name, **overrides)["model"]


def create(api: Api, name: str = "orders", **overrides: Any) -> dict[str, Any]:
    """Create a model; live-source validation is skipped, since tests cannot reach a source."""
    body = {"model": config(name, **overrides), "skip_model_validation": True}
    return api.ok("POST", "/models", json=body)["model"]


def column(name: str, data_type: str = "string", **flags: Any) -> dict[str, Any]:
    return {"name_in_source": name, "name_in_destination": name, "data_type": data_type, **flags}


def with_columns(*columns: dict[str, Any]) -> Callable[[Config], None]:
    def change(cfg: Config) -> None:
        cfg["columns"] = list(columns)

    return change


def set_in(path: str, value: Any) -> Callable[[Config], None]:
    """Set a value at a dotted path of the config; ``columns.1.data_type`` indexes lists."""

    def change(cfg: Config) -> None:
        node: Any = cfg
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value

    return change


def drop(key: str) -> Callable[[Config], None]:
    return lambda cfg: cfg.pop(key)


PK = column("id", "bigint", is_primary_key=True)
LM = column("updated_at", "timestamp", is_last_modified=True)

STRUCTURAL = [
    pytest.param(
        with_columns(column("id", "bigint"), LM),
        ["model.columns", "is_primary_key"],
        id="no-primary-key",
    ),
    pytest.param(
        with_columns(PK, LM, column("created_at", "timestamp", is_last_modified=True)),
        ["model.columns", "exactly one column must set is_last_modified (found 2)"],
        id="two-last-modified",
    ),
    pytest.param(
        with_columns(PK, column("updated_at", "timestamp")),
        ["model.columns", "(found 0)"],
        id="no-last-modified",
    ),
    pytest.param(
        with_columns(PK, column("updated_at", "date", is_last_modified=True)),
        ["model.columns", "must be of type timestamp"],
        id="last-modified-date",
    ),
    pytest.param(
        with_columns(PK, column("version", "bigint", is_last_modified=True)),
        ["model.columns", "must be of type timestamp"],
        id="last-modified-bigint",
    ),
    pytest.param(
        with_columns(
            PK,
            LM,
            {"name_in_source": "other_id", "name_in_destination": "ID", "data_type": "string"},
        ),
        ["model.columns", "name_in_destination 'ID' appears twice"],
        id="duplicate-destination-name-any-case",
    ),
    pytest.param(
        with_columns(
            PK,
            LM,
            {"name_in_source": "id", "name_in_destination": "id_copy", "data_type": "bigint"},
        ),
        ["model.columns", "name_in_source 'id' appears twice"],
        id="duplicate-source-name",
    ),
    pytest.param(
        set_in("columns.1.data_type", "varchar"), ["model.columns[1].data_type"], id="bad-data-type"
    ),
    pytest.param(
        with_columns(column("id", "json", is_primary_key=True), LM),
        ["model.columns", "cannot be of type json"],
        id="json-primary-key",
    ),
    pytest.param(
        with_columns(column("id", "float", is_primary_key=True), LM),
        ["model.columns", "cannot be of type float"],
        id="float-primary-key",
    ),
    pytest.param(
        set_in("model_name", "_transfer_status"),
        ["model.model_name", "reserved"],
        id="reserved-transfer-status",
    ),
    pytest.param(
        set_in("model_name", "_ferry_orders"),
        ["model.model_name", "reserved"],
        id="reserved-ferry-prefix",
    ),
    pytest.param(
        set_in("model_name", "_FERRY_orders"),
        ["model.model_name", "reserved"],
        id="reserved-prefix-any-case",
    ),
    pytest.param(
        set_in("destination_table_name", "_transfer_status"),
        ["model.model_name", "reserved"],
        id="reserved-destination-table",
    ),
    pytest.param(
        with_columns(PK, LM, column("_ferry_row")),
        ["model.columns", "reserved"],
        id="reserved-column-prefix",
    ),
    pytest.param(
        set_in("model_name", "1orders"), ["model.model_name"], id="name-starts-with-digit"
    ),
    pytest.param(set_in("model_name", "order-lines"), ["model.model_name"], id="name-with-dash"),
    pytest.param(set_in("model_name", "o" * 64), ["model.model_name"], id="name-too-long"),
    pytest.param(set_in("model_name", ""), ["model.model_name"], id="name-empty"),
    pytest.param(
        set_in("destination_table_name", "bad name"),
        ["model.destination_table_name"],
        id="bad-table-name",
    ),
    pytest.param(
        set_in("columns.0.name_in_destination", "order id"),
        ["model.columns[0].name_in_destination"],
        id="bad-column-identifier",
    ),
    pytest.param(
        set_in("source_table", 'public."orders'),
        ["model.source_table"],
        id="source-table-double-quote",
    ),
    pytest.param(
        set_in("source_table", "public.`orders`"),
        ["model.source_table"],
        id="source-table-backtick",
    ),
    pytest.param(
        set_in("source_table", "a.b.c.d"), ["model.source_table"], id="source-table-four-parts"
    ),
    pytest.param(
        set_in("source_table", "public..orders"),
        ["model.source_table"],
        id="source-table-empty-part",
    ),
    pytest.param(
        set_in("columns.1.name_in_source", 'am"ount'),
        ["model.columns[1].name_in_source"],
        id="source-column-quote",
    ),
    pytest.param(set_in("columns", []), ["model.columns"], id="no-columns"),
    pytest.param(drop("columns"), ["model.columns", "is required"], id="columns-missing"),
    pytest.param(
        drop("source_table"), ["model.source_table", "is required"], id="source-table-missing"
    ),
    pytest.param(
        drop("organization_column"),
        ["model.organization_column", "is required"],
        id="org-column-missing",
    ),
    pytest.param(drop("model_name"), ["model.model_name", "is required"], id="model-name-missing"),
    pytest.param(
        set_in("colums", []), ["model.colums", "is not a known field"], id="unknown-field"
    ),
    pytest.param(
        set_in("columns.0.is_primary", True),
        ["model.columns[0].is_primary", "is not a known field"],
        id="unknown-column-field",
    ),
    pytest.param(
        lambda cfg: cfg.update(
            source_name="main", source_id="3f8e2c9a-0000-4000-8000-000000000000"
        ),
        ["model.source_id", "not both"],
        id="source-name-and-id",
    ),
    pytest.param(
        set_in("max_transfer_time_window_seconds", 10),
        ["model.max_transfer_time_window_seconds"],
        id="window-too-small",
    ),
]


def broken(change: Callable[[Config], None]) -> Config:
    cfg = copy.deepcopy(config())
    change(cfg)
    return cfg


@pytest.mark.parametrize(("change", "expected"), STRUCTURAL)
def test_create_refuses_structural_problems(
    api: Api, change: Callable[[Config], None], expected: list[str]
) -> None:
    message = api.error("POST", "/models", 400, json={"model": broken(change)})
    for part in expected:
        assert part in message
    assert api.ok("GET", "/models")["models"] == []


@pytest.mark.parametrize(("change", "expected"), STRUCTURAL)
def test_validate_config_refuses_structural_problems(
    api: Api, change: Callable[[Config], None], expected: list[str]
) -> None:
    wrapped = api.error("POST", "/actions/validate-config", 400, json={"model": broken(change)})
    for part in expected:
        assert part in wrapped
    bare = api.error("POST", "/actions/validate-config", 400, json=broken(change))
    for part in expected:
        # Without the wrapper the path starts at the config itself.
        assert part.removeprefix("model.") in bare
    assert "model." not in bare.split(":")[0]


NOT_FOR_PATCH = {
    "name-starts-with-digit",
    "name-with-dash",
    "name-too-long",
    "name-empty",
    "model-name-missing",
    "reserved-transfer-status",
    "reserved-ferry-prefix",
    "reserved-prefix-any-case",
    "columns-missing",
    "source-table-missing",
    "org-column-missing",
}


@pytest.mark.parametrize(
    ("change", "expected"), [p for p in STRUCTURAL if p.id not in NOT_FOR_PATCH]
)
def test_patch_refuses_structural_problems(
    api: Api, change: Callable[[Config], None], expected: list[str]
) -> None:
    created = create(api)
    original = config()
    cfg = broken(change)
    patch = {k: v for k, v in cfg.items() if v != original.get(k)}
    assert patch
    message = api.error("PATCH", "/models/orders", 400, json={"model": patch})
    for part in expected:
        assert part in message
    assert api.ok("GET", "/models/orders")["model"] == created


@pytest.mark.parametrize("field", ["columns", "source_table", "organization_column"])
def test_patch_cannot_clear_a_required_field(api: Api, field: str) -> None:
    created = create(api)
    message = api.error("PATCH", "/models/orders", 400, json={"model": {field: None}})
    assert f"model.{field}" in message
    assert api.ok("GET", "/models/orders")["model"] == created


def test_several_problems_are_reported_at_once(api: Api) -> None:
    cfg = config(
        columns=[
            column("id", "json", is_primary_key=True),
            column("a", "timestamp", is_last_modified=True),
            column("b", "timestamp", is_last_modified=True),
            {"name_in_source": "c", "name_in_destination": "A", "data_type": "string"},
        ]
    )
    message = api.error("POST", "/models", 400, json={"model": cfg})
    parts = message.split("; ")
    assert len(parts) == 3, message
    assert all(p.startswith("model.columns: ") for p in parts)
    assert "cannot be of type json" in message
    assert "(found 2)" in message
    assert "'A' appears twice" in message


def test_several_field_errors_are_reported_at_once(api: Api) -> None:
    cfg = broken(set_in("columns.1.data_type", "varchar"))
    cfg["columns"][2]["data_type"] = "datetime"
    cfg["model_name"] = "bad-name"
    message = api.error("POST", "/models", 400, json={"model": cfg})
    assert "model.columns[1].data_type" in message
    assert "model.columns[2].data_type" in message
    assert "model.model_name" in message
    assert message.count("; ") == 2


def test_create_returns_the_model(api: Api) -> None:
    response = api.call("POST", "/models", json=factories.model("orders"))
    assert response.status_code == 200
    body = response.json()
    assert "structurally only" in body["message"]
    created = body["data"]["model"]
    cfg = config()
    for key in ("model_name", "columns", "source_table", "organization_column"):
        assert created[key] == (
            cfg[key]
            if key != "columns"
            else [
                {"is_primary_key": False, "is_last_modified": False, "description": None} | c
                for c in cfg[key]
            ]
        )
    assert {"id", "revision_id", "source_id", "created_at", "updated_at"} <= set(created)
    assert created["source_id"] is None
    # The fields the React SDK's ModelConfig type declares are present even when unset.
    assert created["description"] is None
    assert created["source_schema"] is None
    assert factories.is_rfc3339_utc(created["created_at"])
    assert created["updated_at"] == created["created_at"]
    assert api.ok("GET", f"/models/{created['id']}")["model"] == created


@pytest.mark.parametrize(
    "columns",
    [
        [
            column("tenant", "string", is_primary_key=True),
            column("id", "bigint", is_primary_key=True),
            column("day", "date", is_primary_key=True),
            LM,
        ],
        [column("id", "text", is_primary_key=True), LM, column("payload", "json")],
    ],
    ids=["composite-key", "text-key"],
)
def test_valid_key_shapes_are_accepted(api: Api, columns: list[dict[str, Any]]) -> None:
    created = create(api, columns=columns)
    assert [c["is_primary_key"] for c in created["columns"]] == [
        bool(c.get("is_primary_key")) for c in columns
    ]


@pytest.mark.parametrize(
    "data_type",
    [
        "string",
        "text",
        "bytes",
        "boolean",
        "integer",
        "bigint",
        "decimal",
        "float",
        "date",
        "timestamp",
        "json",
    ],
)
def test_every_data_type_is_accepted(api: Api, data_type: str) -> None:
    created = create(api, columns=[PK, LM, column("value", data_type)])
    assert created["columns"][2]["data_type"] == data_type


@pytest.mark.parametrize(
    "source_table", ["orders", "public.orders", "app.public.orders", "my schema.Order Lines"]
)
def test_source_table_forms(api: Api, source_table: str) -> None:
    assert create(api, source_table=source_table)["source_table"] == source_table


def test_model_names_are_unique(api: Api) -> None:
    create(api)
    message = api.error("POST", "/models", 409, json=factories.model("orders"))
    assert "model.model_name" in message
    assert len(api.ok("GET", "/models")["models"]) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"destination_table_name": "shared"}, {"destination_table_name": "shared"}),
        ({}, {"destination_table_name": "orders"}),
        ({"destination_table_name": "purchases"}, {"model_name": "purchases"}),
    ],
    ids=["same-table-name", "table-name-of-another-model", "model-name-of-another-table"],
)
def test_two_models_cannot_write_the_same_destination_table(
    api: Api, first: dict[str, Any], second: dict[str, Any]
) -> None:
    # docs/api.md: model_name and destination_table_name are identifiers unique per
    # environment; two models loading one table would overwrite each other's rows.
    create(api, "orders", **first)
    body = {"model": config("orders_v2") | second, "skip_model_validation": True}
    message = api.error("POST", "/models", 409, json=body)
    assert "model." in message
    assert len(api.ok("GET", "/models")["models"]) == 1


def test_model_names_are_per_environment(tenant: Tenant) -> None:
    create(tenant.staging)
    create(tenant.prod)


@pytest.mark.parametrize("by", ["id", "model_name"])
def test_get_patch_delete_by_id_or_name(api: Api, by: str) -> None:
    created = create(api)
    ident = created[by]
    assert api.ok("GET", f"/models/{ident}")["model"] == created
    updated = api.ok("PATCH", f"/models/{ident}", json={"model": {"description": "Orders"}})[
        "model"
    ]
    assert updated["description"] == "Orders"
    assert api.ok("DELETE", f"/models/{ident}") == {}
    api.error("GET", f"/models/{ident}", 404)
    api.error("PATCH", f"/models/{ident}", 404, json={"model": {"description": "x"}})
    api.error("DELETE", f"/models/{ident}", 404)


def test_patch_keeps_what_it_does_not_name_and_makes_a_new_revision(api: Api) -> None:
    created = create(api)
    updated = api.ok(
        "PATCH",
        "/models/orders",
        json={
            "model": {"description": "Orders", "columns": [*config()["columns"], column("note")]}
        },
    )["model"]
    assert updated["id"] == created["id"]
    assert updated["revision_id"] != created["revision_id"]
    assert updated["description"] == "Orders"
    assert [c["name_in_destination"] for c in updated["columns"]] == [
        "id",
        "amount",
        "updated_at",
        "note",
    ]
    assert updated["source_table"] == created["source_table"]
    assert updated["created_at"] == created["created_at"]
    assert factories.is_rfc3339_utc(updated["updated_at"])
    assert updated["updated_at"] > created["updated_at"]
    again = api.ok("PATCH", "/models/orders", json={"model": {"description": "Again"}})["model"]
    assert again["revision_id"] not in {created["revision_id"], updated["revision_id"]}
    assert api.ok("GET", "/models/orders")["model"] == again


def test_patch_cannot_rename(api: Api) -> None:
    created = create(api)
    message = api.error("PATCH", "/models/orders", 400, json={"model": {"model_name": "purchases"}})
    assert "model.model_name" in message
    assert api.ok("GET", "/models/orders")["model"] == created
    api.error("GET", "/models/purchases", 404)
    # Naming the model's own name is no rename.
    api.ok("PATCH", "/models/orders", json={"model": {"model_name": "orders", "description": "x"}})


def changed_type(data_type: str) -> dict[str, Any]:
    columns = copy.deepcopy(config()["columns"])
    columns[1]["data_type"] = data_type
    return {"model": {"columns": columns}}


def test_patch_changing_a_data_type_is_refused_in_prod(tenant: Tenant) -> None:
    created = create(tenant.prod)
    message = tenant.prod.error("PATCH", "/models/orders", 400, json=changed_type("float"))
    assert "model.columns" in message
    assert "amount" in message
    assert tenant.prod.ok("GET", "/models/orders")["model"] == created


def test_patch_changing_a_data_type_is_allowed_in_staging(tenant: Tenant) -> None:
    create(tenant.staging)
    updated = tenant.staging.ok("PATCH", "/models/orders", json=changed_type("float"))["model"]
    assert updated["columns"][1]["data_type"] == "float"


def test_prod_allows_adding_columns_and_text_string_aliases(tenant: Tenant) -> None:
    created = create(tenant.prod, columns=[PK, LM, column("note", "text")])
    columns = copy.deepcopy(created["columns"])
    columns[2]["data_type"] = "string"
    columns.append(column("extra", "integer"))
    updated = tenant.prod.ok("PATCH", "/models/orders", json={"model": {"columns": columns}})[
        "model"
    ]
    assert [c["data_type"] for c in updated["columns"]] == [
        "bigint",
        "timestamp",
        "string",
        "integer",
    ]


def test_patch_unknown_field_is_refused(api: Api) -> None:
    create(api)
    assert "model.colour" in api.error(
        "PATCH", "/models/orders", 400, json={"model": {"colour": "red"}}
    )
    assert "patch" in api.error("PATCH", "/models/orders", 400, json={"model": {}, "patch": 1})


def source(api: Api, name: str) -> dict[str, Any]:
    body = factories.postgres_source(name, host=f"{name}.internal")
    return api.ok("POST", "/sources", json=body)["source"]


def test_one_source_is_bound_implicitly(api: Api) -> None:
    only = source(api, "main")
    created = create(api)
    assert created["source_id"] == only["id"]
    assert "source_name" not in created


def test_several_sources_need_a_name_or_id(api: Api) -> None:
    first = source(api, "first")
    second = source(api, "second")
    message = api.error("POST", "/models", 400, json=factories.model("orders"))
    assert "model.source_name" in message
    by_name = create(api, "a", source_name="second")
    assert by_name["source_id"] == second["id"]
    assert by_name["source_name"] == "second"
    by_id = create(api, "b", source_id=first["id"])
    assert by_id["source_id"] == first["id"]
    moved = api.ok(
        "PATCH",
        "/models/a",
        json={"model": {"source_name": "first"}, "skip_model_validation": True},
    )["model"]
    assert moved["source_id"] == first["id"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"source_name": "nowhere"}, "model.source_name"),
        ({"source_id": "3f8e2c9a-0000-4000-8000-000000000000"}, "model.source_id"),
        ({"source_id": "not-a-uuid"}, "model.source_id"),
    ],
)
def test_unknown_source_is_refused(api: Api, overrides: dict[str, Any], field: str) -> None:
    source(api, "main")
    assert field in api.error("POST", "/models", 400, json=factories.model("orders", **overrides))


def test_a_source_of_another_environment_is_unknown(tenant: Tenant) -> None:
    elsewhere = source(tenant.prod, "main")
    message = tenant.staging.error(
        "POST", "/models", 400, json=factories.model("orders", source_id=elsewhere["id"])
    )
    assert "model.source_id" in message


@pytest.mark.parametrize("where", ["inside", "beside", "both"])
def test_skip_model_validation_is_accepted_inside_and_beside(api: Api, where: str) -> None:
    source(api, "main")
    body: dict[str, Any] = {"model": config()}
    if where in ("inside", "both"):
        body["model"]["skip_model_validation"] = True
    if where in ("beside", "both"):
        body["skip_model_validation"] = True
    response = api.call("POST", "/models", json=body)
    assert response.status_code == 200, response.text
    assert "skipped" in response.json()["message"]
    created = response.json()["data"]["model"]
    assert "skip_model_validation" not in created
    patch = {"model": {"description": "x", "skip_model_validation": True}}
    if where == "beside":
        patch = {"model": {"description": "x"}, "skip_model_validation": True}
    response = api.call("PATCH", "/models/orders", json=patch)
    assert response.status_code == 200, response.text
    assert "skipped" in response.json()["message"]
    assert "skip_model_validation" not in response.json()["data"]["model"]


UNAVAILABLE = sorted(v for v, cls in registry.sources().items() if not cls.available)


@pytest.mark.skipif(not UNAVAILABLE, reason="every source connector is available")
def test_validation_against_an_unavailable_source_connector_says_so(api: Api) -> None:
    vendor = UNAVAILABLE[0]
    body = factories.vendored("source", vendor, SOURCE_SAMPLES[vendor], name="main")
    api.ok("POST", "/sources", json=body)
    response = api.call("POST", "/models", json=factories.model())
    assert response.status_code == 200, response.text
    assert "structurally only" in response.json()["message"]
    validated = api.call("POST", "/models/orders/validate")
    assert validated.status_code == 200, validated.text
    assert "structurally only" in validated.json()["message"]


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "bare"])
def test_validate_config_accepts_a_valid_config_and_saves_nothing(api: Api, wrapped: bool) -> None:
    cfg = config()
    body = {"model": cfg} if wrapped else cfg
    data = api.ok("POST", "/actions/validate-config", json=body)
    assert data["is_valid"] is True
    assert data["model"]["model_name"] == "orders"
    assert data["model"]["columns"][0]["name_in_source"] == "id"
    assert api.ok("GET", "/models")["models"] == []
    assert api.ok("GET", "/logs", params={"event_type": "MODEL_ADD"})["event_logs"] == []
    # Validating the name of an existing model is fine: nothing is created.
    create(api)
    api.ok("POST", "/actions/validate-config", json=body)
    assert len(api.ok("GET", "/models")["models"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"model": config(), "skip_model_validation": True},
        {"model": config() | {"skip_model_validation": True}},
        config() | {"skip_model_validation": True},
    ],
    ids=["beside", "inside", "bare"],
)
def test_validate_config_accepts_the_skip_switch(api: Api, body: dict[str, Any]) -> None:
    assert api.ok("POST", "/actions/validate-config", json=body)["is_valid"] is True


@pytest.mark.parametrize("body", [[1, 2], "model", 3])
def test_validate_config_needs_an_object(api: Api, body: Any) -> None:
    api.error("POST", "/actions/validate-config", 400, json=body)


def test_validate_config_needs_an_api_key(client: Any) -> None:
    response = client.post("/actions/validate-config", json={"model": config()})
    assert response.status_code == 401
    assert response.json()["status"] == "error"


@pytest.mark.parametrize("by", ["model_name", "id"])
def test_validate_stored_model(api: Api, by: str) -> None:
    created = create(api)
    response = api.call("POST", f"/models/{created[by]}/validate")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"]["model_name"] == "orders"
    assert body["data"]["is_valid"] is True
    assert body["message"]
    api.error("POST", "/models/missing/validate", 404)


def test_validate_stored_model_needs_a_source_when_there_are_several(api: Api) -> None:
    source(api, "main")
    create(api)
    source(api, "second")
    assert "model.source_name" in api.error("POST", "/models/orders/validate", 400)


def product(api: Api, name: str, models: list[str]) -> dict[str, Any]:
    return api.ok("POST", "/products", json=factories.product(name, models))["product"]


def names(api: Api, **params: str) -> set[str]:
    return {m["model_name"] for m in api.ok("GET", "/models", params=params)["models"]}


def test_list_filters(api: Api) -> None:
    for name in ("a", "b", "c", "d"):
        create(api, name)
    product(api, "p1", ["a"])
    product(api, "p2", ["b", "c"])
    assert names(api) == {"a", "b", "c", "d"}
    assert names(api, model_name="a") == {"a"}
    assert names(api, model_name="a,c") == {"a", "c"}
    assert names(api, model_name="a, c,zzz") == {"a", "c"}
    assert names(api, product_name="p1") == {"a"}
    assert names(api, product_name="p1,p2") == {"a", "b", "c"}
    assert names(api, product_name="default") == {"a", "b", "c", "d"}
    assert names(api, product_name="p2", model_name="a,b") == {"b"}
    assert names(api, product_name="nothing") == set()


def test_list_pages_newest_first(api: Api) -> None:
    created = [create(api, f"m{i}")["model_name"] for i in range(3)]
    first = api.call("GET", "/models", params={"page_size": 2}).json()
    assert [m["model_name"] for m in first["data"]["models"]] == created[::-1][:2]
    assert first["has_next"] is True
    rest = api.ok("GET", first["next_url"])
    assert [m["model_name"] for m in rest["models"]] == created[:1]


def test_deleting_a_model_removes_it_from_products(api: Api) -> None:
    for name in ("a", "b"):
        create(api, name)
    both = product(api, "both", ["a", "b"])
    only_a = product(api, "only_a", ["a"])
    api.ok("DELETE", "/models/a")
    assert api.ok("GET", f"/products/{both['id']}")["product"]["models"] == ["b"]
    assert api.ok("GET", f"/products/{only_a['id']}")["product"]["models"] == []
    assert api.ok("GET", "/products/default")["product"]["models"] == ["*"]
    assert names(api) == {"b"}
    # The name is free again.
    create(api, "a")


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    created = create(tenant.staging)
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        for ident in (created["id"], "orders"):
            other.error("GET", f"/models/{ident}", 404)
            other.error("PATCH", f"/models/{ident}", 404, json={"model": {"description": "x"}})
            other.error("DELETE", f"/models/{ident}", 404)
            other.error("POST", f"/models/{ident}/validate", 404)
        assert other.ok("GET", "/models")["models"] == []
