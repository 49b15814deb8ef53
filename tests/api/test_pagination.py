"""Cursor pagination of the 2023-12-01 lists (docs/api.md "Pagination", spec §5)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import event, select

from ferry.db.engine import session_scope
from ferry.db.models import Environment, Recipient
from tests import factories
from tests.conftest import Api

UUID_ZERO = "00000000-0000-4000-8000-000000000000"


def make_recipients(api: Api, count: int, prefix: str = "cust") -> list[str]:
    """``count`` recipients, oldest first."""
    ids = []
    for i in range(count):
        body = factories.recipient(f"{prefix}-{i:03d}")
        ids.append(api.ok("POST", "/recipients", json=body)["recipient"]["id"])
    return ids


def pages(api: Api, url: str) -> Iterator[dict[str, Any]]:
    """Every page of a list, following next_url until has_next is false."""
    next_page: str | None = url
    for _ in range(1000):
        if next_page is None:
            return
        response = api.call("GET", next_page)
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body["has_next"], bool)
        assert body["has_next"] == ("next_url" in body), body
        yield body
        next_page = body.get("next_url")
    pytest.fail("pagination did not end")


def walk(api: Api, url: str, key: str) -> list[dict[str, Any]]:
    return [item for body in pages(api, url) for item in body["data"][key]]


def cursor_of(next_url: str) -> str:
    """The cursor as it appears in next_url, still percent-encoded."""
    found = re.search(r"[?&]cursor=([^&]*)", next_url)
    assert found is not None, next_url
    return found.group(1)


def encode(payload: Any) -> str:
    text = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


def environment_id(api: Api, sessions: Any) -> uuid.UUID:
    who = api.ok("GET", "/")
    with session_scope(sessions) as session:
        env = session.scalars(
            select(Environment).where(
                Environment.organization_id == uuid.UUID(who["organization_id"]),
                Environment.kind == who["environment"],
            )
        ).one()
        return env.id


# --- page size and order ------------------------------------------------------------------------


def test_page_size_defaults_to_10(api: Api) -> None:
    make_recipients(api, 12)

    body = api.call("GET", "/recipients").json()

    assert len(body["data"]["recipients"]) == 10
    assert body["has_next"] is True


@pytest.mark.parametrize(("size", "expected"), [("1", 1), ("100", 12), ("12", 12), ("11", 11)])
def test_page_size_in_range(api: Api, size: str, expected: int) -> None:
    make_recipients(api, 12)

    body = api.call("GET", f"/recipients?page_size={size}").json()

    assert len(body["data"]["recipients"]) == expected
    assert body["has_next"] is (expected < 12)


@pytest.mark.parametrize(
    "size", ["0", "101", "abc", "-1", "1.5", "1e2", "%C2%B2", "99999999999999999999"]
)
def test_page_size_out_of_range_is_400(api: Api, size: str) -> None:
    message = api.error("GET", f"/recipients?page_size={size}", 400)

    assert "page_size" in message


def test_count_is_an_alias_of_page_size(api: Api) -> None:
    make_recipients(api, 5)

    body = api.call("GET", "/recipients?count=3").json()

    assert len(body["data"]["recipients"]) == 3
    assert body["has_next"] is True
    assert parse_qs(urlsplit(body["next_url"]).query)["count"] == ["3"]
    walked = walk(api, "/recipients?count=3", "recipients")
    assert len(walked) == 5


@pytest.mark.parametrize("size", ["0", "101", "abc", "%C2%B2"])
def test_bad_count_is_400(api: Api, size: str) -> None:
    message = api.error("GET", f"/recipients?count={size}", 400)

    assert "count" in message


def test_page_size_wins_over_count(api: Api) -> None:
    make_recipients(api, 5)

    body = api.call("GET", "/recipients?page_size=2&count=4").json()

    assert len(body["data"]["recipients"]) == 2


def test_order_defaults_to_newest_first(api: Api) -> None:
    make_recipients(api, 6)

    default = api.ok("GET", "/recipients")["recipients"]
    desc = api.ok("GET", "/recipients?order=desc")["recipients"]
    asc = api.ok("GET", "/recipients?order=asc")["recipients"]

    assert default == desc
    assert asc == desc[::-1]
    stamps = [r["created_at"] for r in desc]
    assert stamps == sorted(stamps, reverse=True)
    assert [r["id_in_provider_system"] for r in asc] == [f"cust-{i:03d}" for i in range(6)]


@pytest.mark.parametrize("order", ["sideways", "ASCENDING", "1"])
def test_unknown_order_is_400(api: Api, order: str) -> None:
    message = api.error("GET", f"/recipients?order={order}", 400)

    assert "order" in message


# --- walking next_url ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("size", [1, 4, 10, 27])
def test_walking_next_url_visits_every_item_once(api: Api, order: str, size: int) -> None:
    created = make_recipients(api, 27)

    walked = walk(api, f"/recipients?page_size={size}&order={order}", "recipients")

    ids = [r["id"] for r in walked]
    assert len(ids) == len(set(ids)) == 27
    assert set(ids) == set(created)
    expected = created if order == "asc" else created[::-1]
    assert ids == expected


def test_every_page_but_the_last_is_full(api: Api) -> None:
    make_recipients(api, 25)

    sizes = [len(body["data"]["recipients"]) for body in pages(api, "/recipients?page_size=7")]

    assert sizes == [7, 7, 7, 4]


def test_exactly_full_last_page_has_no_next(api: Api) -> None:
    make_recipients(api, 6)

    bodies = list(pages(api, "/recipients?page_size=3"))

    assert [len(b["data"]["recipients"]) for b in bodies] == [3, 3]
    assert bodies[-1]["has_next"] is False
    assert "next_url" not in bodies[-1]


def test_empty_list(api: Api) -> None:
    body = api.call("GET", "/recipients?id_in_provider_system=nobody").json()

    assert body["data"]["recipients"] == []
    assert body["has_next"] is False
    assert "next_url" not in body


def test_next_url_is_absolute_and_keeps_the_other_parameters(api: Api) -> None:
    make_recipients(api, 8)
    wanted = ",".join(f"cust-{i:03d}" for i in (0, 2, 3, 5, 7))
    url = f"/recipients?id_in_provider_system={wanted}&page_size=2&order=asc"

    first = api.call("GET", url).json()

    next_url = first["next_url"]
    parts = urlsplit(next_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "ferry.test", "/recipients")
    query = parse_qs(parts.query)
    assert query["id_in_provider_system"] == [wanted]
    assert query["page_size"] == ["2"]
    assert query["order"] == ["asc"]
    assert len(query["cursor"]) == 1
    walked = walk(api, url, "recipients")
    assert [r["id_in_provider_system"] for r in walked] == wanted.split(",")


def test_next_url_replaces_the_cursor(api: Api) -> None:
    make_recipients(api, 7)

    bodies = list(pages(api, "/recipients?page_size=2"))

    assert len(bodies) == 4
    for body in bodies[:-1]:
        assert parse_qs(urlsplit(body["next_url"]).query)["page_size"] == ["2"]
        assert body["next_url"].count("cursor=") == 1


def test_cursor_is_percent_encoded_standard_base64_of_compact_json(api: Api) -> None:
    make_recipients(api, 30)

    for body in pages(api, "/recipients?page_size=3"):
        if not body["has_next"]:
            break
        encoded = cursor_of(body["next_url"])
        assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+", encoded), encoded
        decoded_text = base64.b64decode(unquote(encoded), validate=True).decode()
        payload = json.loads(decoded_text)
        assert set(payload) == {"id", "last_seen_sort_value"}
        assert decoded_text == json.dumps(payload, separators=(",", ":"))
        last = body["data"]["recipients"][-1]
        assert payload["id"] == last["id"]
        assert isinstance(payload["last_seen_sort_value"], str)
        assert payload["last_seen_sort_value"] == last["created_at"]


def test_cursor_alphabet_characters_are_escaped(api: Api) -> None:
    """Base64 padding and '+'/'/' must not reach the URL raw, or URLSearchParams breaks them."""
    make_recipients(api, 30)

    encoded = [
        cursor_of(body["next_url"])
        for body in pages(api, "/recipients?page_size=1")
        if body["has_next"]
    ]

    assert len(encoded) == 29
    for value in encoded:
        assert not set(value) & set("+/=")
    assert any("%3D" in value for value in encoded)


# --- cursors this API did not issue -------------------------------------------------------------


FOREIGN_CURSORS = {
    "not-base64": "not base64!",
    "not-base64-either": "@@@@",
    "truncated": "eyJpZCI6",
    "base64-of-text": encode("hello, world"),
    "base64-of-bytes": encode(b"\xff\xfe\xfd\xfc"),
    "json-array": encode("[1, 2, 3]"),
    "json-string": encode('"just a string"'),
    "json-null": encode("null"),
    "json-number": encode("42"),
    "missing-sort-value": encode({"id": UUID_ZERO}),
    "missing-id": encode({"last_seen_sort_value": "2024-01-01T00:00:00.000000Z"}),
    "bad-id": encode({"id": "not-a-uuid", "last_seen_sort_value": "2024-01-01T00:00:00.000000Z"}),
    "bad-sort-value": encode({"id": UUID_ZERO, "last_seen_sort_value": "yesterday"}),
    "null-sort-value": encode({"id": UUID_ZERO, "last_seen_sort_value": None}),
    "list-id": encode({"id": [UUID_ZERO], "last_seen_sort_value": "2024-01-01T00:00:00Z"}),
    "year-one": encode({"id": UUID_ZERO, "last_seen_sort_value": "0001-01-01T00:00:00+01:00"}),
    "year-9999": encode({"id": UUID_ZERO, "last_seen_sort_value": "9999-12-31T23:59:59-01:00"}),
    "deeply-nested": encode("[" * 5000),
}


@pytest.mark.parametrize("cursor", list(FOREIGN_CURSORS.values()), ids=list(FOREIGN_CURSORS))
def test_foreign_cursor_is_400(api: Api, cursor: str) -> None:
    make_recipients(api, 2)

    response = api.call("GET", "/recipients", params={"cursor": cursor})

    assert response.status_code == 400, response.text
    assert "cursor" in response.json()["message"]


def test_cursor_survives_a_round_trip_through_the_sdk_encoding(api: Api) -> None:
    """The SDK decodes the cursor and re-encodes it with btoa(JSON.stringify(...))."""
    created = make_recipients(api, 5)
    first = api.call("GET", "/recipients?page_size=2&order=asc").json()
    payload = json.loads(base64.b64decode(unquote(cursor_of(first["next_url"]))))

    again = api.ok(
        "GET",
        "/recipients",
        params={
            "page_size": "2",
            "order": "asc",
            "cursor": encode(json.dumps(payload, separators=(",", ":"))),
        },
    )

    assert [r["id"] for r in again["recipients"]] == created[2:4]


# --- ties ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_items_sharing_a_timestamp_are_not_skipped(
    api: Api, sessions: Any, order: str, size: int
) -> None:
    env_id = environment_id(api, sessions)
    stamp = datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=UTC)
    before = make_recipients(api, 2, prefix="before")
    with session_scope(sessions) as session:
        tied = [
            Recipient(
                environment_id=env_id,
                name=f"Tied {i}",
                id_in_provider_system=f"tied-{i}",
                products=["default"],
                created_at=stamp,
                updated_at=stamp,
            )
            for i in range(7)
        ]
        session.add_all(tied)
        session.flush()
        tied_ids = [str(r.id) for r in tied]

    walked = walk(api, f"/recipients?page_size={size}&order={order}", "recipients")

    ids = [r["id"] for r in walked]
    assert len(ids) == len(set(ids)) == 9
    assert set(ids) == set(tied_ids) | set(before)
    by_id = sorted(tied_ids, key=uuid.UUID, reverse=order == "desc")
    in_walk = [i for i in ids if i in set(tied_ids)]
    assert in_walk == by_id


# --- every list endpoint ------------------------------------------------------------------------


@pytest.fixture
def populated(api: Api) -> dict[str, str]:
    """At least three of every listable resource in one environment."""
    sources = [
        api.ok("POST", "/sources", json=factories.postgres_source(f"src{i}"))["source"]["id"]
        for i in range(3)
    ]
    for name in ("orders", "customers", "payments"):
        body = factories.model(name, source_name="src0", skip_model_validation=True)
        api.ok("POST", "/models", json=body)
    for name in ("gold", "silver"):
        api.ok("POST", "/products", json={"product": {"product_name": name, "models": ["orders"]}})
    recipients = make_recipients(api, 3)
    destinations = [
        api.ok("POST", "/destinations", json=factories.postgres_destination(r))["destination"]["id"]
        for r in recipients
    ]
    for _ in range(3):
        transfer_id = api.ok("POST", f"/destinations/{destinations[0]}/transfer")["transfer_id"]
        api.ok("POST", f"/transfers/{transfer_id}/cancel")
    api.ok("POST", f"/destinations/{destinations[1]}/transfer")
    for recipient_id in recipients:
        api.ok(
            "POST",
            "/recipient-source-credentials",
            json={
                "recipient_source_credential": {
                    "recipient_id": recipient_id,
                    "source_id": sources[0],
                    "username": "tenant_reader",
                    "password": "tenant-Secret-pw-3",
                }
            },
        )
        api.ok(
            "POST",
            "/magic-links",
            json={"magic_link": {"vendor": "postgres", "recipient_id": recipient_id}},
        )
    for i in range(3):
        api.ok(
            "POST",
            "/webhooks",
            json={
                "webhook": {
                    "name": f"hook {i}",
                    "vendor": "generic_post",
                    "url": f"https://hooks.example.com/{i}",
                }
            },
        )
    return {"destination": destinations[0]}


LISTS = [
    ("/sources", "sources"),
    ("/models", "models"),
    ("/products", "products"),
    ("/recipients", "recipients"),
    ("/destinations", "destinations"),
    ("/transfers", "transfers"),
    ("/destinations/{destination}/transfers", "transfers"),
    ("/recipient-source-credentials", "recipient_source_credentials"),
    ("/magic-links", "magic_links"),
    ("/webhooks", "webhooks"),
    ("/logs", "event_logs"),
]


@pytest.mark.parametrize(("path", "key"), LISTS)
def test_every_list_endpoint_paginates(
    api: Api, populated: dict[str, str], path: str, key: str
) -> None:
    path = path.format(**populated)
    everything = api.call("GET", f"{path}?page_size=100").json()
    assert everything["has_next"] is False
    full = [item["id"] for item in everything["data"][key]]
    assert len(full) >= 3

    first = api.call("GET", f"{path}?page_size=2").json()
    desc = [item["id"] for item in walk(api, f"{path}?page_size=2", key)]
    asc = [item["id"] for item in walk(api, f"{path}?page_size=2&order=asc", key)]

    assert len(first["data"][key]) == 2
    assert first["has_next"] is True
    assert urlsplit(first["next_url"]).path == path
    assert desc == full
    assert asc == full[::-1]


@pytest.mark.parametrize(("path", "key"), LISTS)
def test_every_list_endpoint_refuses_bad_paging(
    api: Api, populated: dict[str, str], path: str, key: str
) -> None:
    path = path.format(**populated)

    assert "page_size" in api.error("GET", f"{path}?page_size=0", 400)
    assert "page_size" in api.error("GET", f"{path}?page_size=101", 400)
    assert "cursor" in api.error("GET", f"{path}?cursor=garbage!", 400)
    assert "order" in api.error("GET", f"{path}?order=up", 400)
    assert len(api.ok("GET", f"{path}?page_size=1")[key]) == 1


def test_transfers_sort_by_submitted_at(api: Api, populated: dict[str, str]) -> None:
    walked = walk(api, "/transfers?page_size=1", "transfers")

    stamps = [t["submitted_at"] for t in walked]
    assert stamps == sorted(stamps, reverse=True)
    first = api.call("GET", "/transfers?page_size=1").json()
    payload = json.loads(base64.b64decode(unquote(cursor_of(first["next_url"]))))
    assert payload["last_seen_sort_value"] == first["data"]["transfers"][0]["submitted_at"]


def test_filters_survive_paging(api: Api, populated: dict[str, str]) -> None:
    url = f"/transfers?destination_id={populated['destination']}&status=CANCELLED&page_size=1"

    walked = walk(api, url, "transfers")

    assert len(walked) == 3
    assert {t["status"] for t in walked} == {"CANCELLED"}
    assert {t["destination_id"] for t in walked} == {populated["destination"]}


# --- keyset, not OFFSET -------------------------------------------------------------------------


def test_pages_are_keyset_queries(api: Api, app: Any) -> None:
    make_recipients(api, 25)
    first = api.call("GET", "/recipients?page_size=5").json()
    second = api.call("GET", first["next_url"]).json()
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(app.state.engine, "before_cursor_execute", capture)
    try:
        third = api.call("GET", second["next_url"]).json()
    finally:
        event.remove(app.state.engine, "before_cursor_execute", capture)

    assert len(third["data"]["recipients"]) == 5
    assert statements
    for statement, parameters in statements:
        if re.search(r"\bOFFSET\b", statement, re.IGNORECASE):
            # SQLAlchemy's SQLite dialect writes every LIMIT as "LIMIT ? OFFSET ?", with 0 bound.
            assert statement.rstrip().endswith("LIMIT ? OFFSET ?"), statement
            assert list(parameters)[-1] == 0, (statement, parameters)
    page_queries = [s for s, _ in statements if re.search(r"\bFROM recipient\b", s)]
    assert len(page_queries) == 1, page_queries
    (query,) = page_queries
    where = query[query.upper().index("WHERE") :]
    assert re.search(r"recipient\.created_at\s*<", where), query
    assert re.search(r"\bLIMIT\b", query, re.IGNORECASE), query
    assert re.search(r"ORDER BY recipient\.created_at DESC, recipient\.id DESC", query), query
