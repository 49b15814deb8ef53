"""Recipient source credentials through the API: CRUD, one per pair, write-only passwords."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ferry.db.engine import session_scope
from ferry.db.models import RecipientSourceCredential
from ferry.services import credentials as credential_service
from tests import factories
from tests.conftest import Api, Tenant

CREDENTIAL_FIELDS = {"id", "recipient_id", "source_id", "username", "created_at", "updated_at"}
PATH = "/recipient-source-credentials"
KEY = "recipient_source_credential"


@pytest.fixture
def pair(api: Api) -> dict[str, str]:
    source = api.ok("POST", "/sources", json=factories.postgres_source())["source"]
    recipient = api.ok("POST", "/recipients", json=factories.recipient("acme"))["recipient"]
    return {"recipient_id": recipient["id"], "source_id": source["id"]}


def create(api: Api, pair: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = factories.credential(pair["recipient_id"], pair["source_id"], **overrides)
    return api.ok("POST", PATH, json=body)[KEY]


def stored_password(sessions: Any, credential_id: str) -> str | None:
    with session_scope(sessions) as session:
        row = session.get_one(RecipientSourceCredential, uuid.UUID(credential_id))
        return credential_service.password_of(session, row)


def test_create_returns_the_credential_without_its_password(
    api: Api, pair: dict[str, str], sessions: Any
) -> None:
    body = factories.credential(pair["recipient_id"], pair["source_id"])
    response = api.call("POST", PATH, json=body)
    assert response.status_code == 200, response.text
    assert factories.CREDENTIAL_PASSWORD not in response.text
    created = response.json()["data"][KEY]
    assert set(created) == CREDENTIAL_FIELDS
    assert created["recipient_id"] == pair["recipient_id"]
    assert created["source_id"] == pair["source_id"]
    assert created["username"] == "tenant_reader"
    assert factories.is_rfc3339_utc(created["created_at"])
    assert created["updated_at"] == created["created_at"]
    got = api.call("GET", f"{PATH}/{created['id']}")
    assert factories.CREDENTIAL_PASSWORD not in got.text
    assert got.json()["data"][KEY] == created
    assert stored_password(sessions, created["id"]) == factories.CREDENTIAL_PASSWORD


def test_one_credential_per_recipient_and_source(api: Api, pair: dict[str, str]) -> None:
    create(api, pair)
    body = factories.credential(pair["recipient_id"], pair["source_id"], username="other")
    assert "recipient_source_credential" in api.error("POST", PATH, 409, json=body)
    assert len(api.ok("GET", PATH)[f"{KEY}s"]) == 1
    # Another source, or another recipient, is another pair.
    other_source = api.ok(
        "POST", "/sources", json=factories.postgres_source("second", host="second.internal")
    )["source"]
    other_recipient = api.ok("POST", "/recipients", json=factories.recipient("globex"))["recipient"]
    create(api, pair | {"source_id": other_source["id"]})
    moved = create(api, pair | {"recipient_id": other_recipient["id"]})
    # Nor can a PATCH make a second credential for a pair.
    message = api.error(
        "PATCH", f"{PATH}/{moved['id']}", 409, json={KEY: {"recipient_id": pair["recipient_id"]}}
    )
    assert "recipient_source_credential" in message


def test_unknown_recipient_or_source(api: Api, pair: dict[str, str]) -> None:
    missing = "3f8e2c9a-0000-4000-8000-000000000000"
    api.error("POST", PATH, 404, json=factories.credential(missing, pair["source_id"]))
    api.error("POST", PATH, 404, json=factories.credential(pair["recipient_id"], missing))
    assert api.ok("GET", PATH)[f"{KEY}s"] == []


def test_patch(api: Api, pair: dict[str, str], sessions: Any) -> None:
    created = create(api, pair)
    response = api.call(
        "PATCH",
        f"{PATH}/{created['id']}",
        json={KEY: {"username": "reader2", "password": "new-Pw-9"}},
    )
    assert response.status_code == 200, response.text
    assert "new-Pw-9" not in response.text
    updated = response.json()["data"][KEY]
    assert updated == created | {"username": "reader2", "updated_at": updated["updated_at"]}
    assert factories.is_rfc3339_utc(updated["updated_at"])
    assert updated["updated_at"] > created["updated_at"]
    assert stored_password(sessions, created["id"]) == "new-Pw-9"
    only_name = api.ok("PATCH", f"{PATH}/{created['id']}", json={KEY: {"username": "reader3"}})
    assert only_name[KEY]["username"] == "reader3"
    assert stored_password(sessions, created["id"]) == "new-Pw-9"


def test_list_filters(api: Api, pair: dict[str, str]) -> None:
    second_source = api.ok(
        "POST", "/sources", json=factories.postgres_source("second", host="second.internal")
    )["source"]
    globex = api.ok("POST", "/recipients", json=factories.recipient("globex"))["recipient"]
    a = create(api, pair)
    b = create(api, pair | {"source_id": second_source["id"]})
    c = create(api, pair | {"recipient_id": globex["id"]})

    def listed(**params: str) -> list[str]:
        return [x["id"] for x in api.ok("GET", PATH, params=params)[f"{KEY}s"]]

    assert listed() == [c["id"], b["id"], a["id"]]
    assert listed(recipient_id=pair["recipient_id"]) == [b["id"], a["id"]]
    assert listed(source_id=pair["source_id"]) == [c["id"], a["id"]]
    assert listed(recipient_id=globex["id"], source_id=second_source["id"]) == []
    assert "recipient_id" in api.error("GET", PATH, 400, params={"recipient_id": "acme"})


def test_delete(api: Api, pair: dict[str, str]) -> None:
    created = create(api, pair)
    assert api.ok("DELETE", f"{PATH}/{created['id']}") == {}
    api.error("GET", f"{PATH}/{created['id']}", 404)
    api.error("DELETE", f"{PATH}/{created['id']}", 404)
    api.error("PATCH", f"{PATH}/{created['id']}", 404, json={KEY: {"username": "x"}})
    assert api.ok("GET", PATH)[f"{KEY}s"] == []
    # The pair is free again.
    create(api, pair)


@pytest.mark.parametrize("owner", ["source", "recipient"])
def test_deleting_the_source_or_recipient_removes_the_credential(
    api: Api, pair: dict[str, str], owner: str
) -> None:
    created = create(api, pair)
    api.ok("DELETE", f"/{owner}s/{pair[f'{owner}_id']}")
    api.error("GET", f"{PATH}/{created['id']}", 404)
    assert api.ok("GET", PATH)[f"{KEY}s"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": ""}, "recipient_source_credential.password"),
        ({"password": None}, "recipient_source_credential.password"),
        ({"username": ""}, "recipient_source_credential.username"),
        ({"source_id": "main"}, "recipient_source_credential.source_id"),
        ({"recipient_id": "acme"}, "recipient_source_credential.recipient_id"),
        ({"role": "reader"}, "recipient_source_credential.role"),
    ],
)
def test_invalid_bodies_are_refused(
    api: Api, pair: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = factories.credential(pair["recipient_id"], pair["source_id"])
    body[KEY].update(change)
    assert field in api.error("POST", PATH, 400, json=body)


def test_other_environments_and_organizations_see_nothing(tenant: Tenant, make_tenant: Any) -> None:
    api = tenant.staging
    source = api.ok("POST", "/sources", json=factories.postgres_source())["source"]
    recipient = api.ok("POST", "/recipients", json=factories.recipient("acme"))["recipient"]
    created = create(api, {"recipient_id": recipient["id"], "source_id": source["id"]})
    stranger = make_tenant()
    for other in (tenant.prod, stranger.staging):
        other.error("GET", f"{PATH}/{created['id']}", 404)
        other.error("PATCH", f"{PATH}/{created['id']}", 404, json={KEY: {"username": "x"}})
        other.error("DELETE", f"{PATH}/{created['id']}", 404)
        other.error("POST", PATH, 404, json=factories.credential(recipient["id"], source["id"]))
        assert other.ok("GET", PATH)[f"{KEY}s"] == []
