"""The signing key: one per deployment, published without credentials, rotatable, pinnable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import delete

from ferry import webhooks
from ferry.db.base import utcnow
from ferry.db.engine import make_engine, make_sessionmaker, session_scope
from ferry.db.models import WebhookSigningKey
from ferry.settings import Settings
from tests import factories

PATH = "/public/signatures/webhook-public-key"


def published(client: TestClient) -> dict[str, Any]:
    response = client.get(PATH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    return dict(body["data"])


def test_the_public_key_needs_no_credentials_and_stays_the_same(client: TestClient) -> None:
    first = published(client)
    key = serialization.load_pem_public_key(first["public_key"].encode())
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == webhooks.KEY_BITS
    assert first["key_id"] == webhooks.key_id_of(key)
    assert first["keys"][0]["key_id"] == first["key_id"]
    assert first["keys"][0]["public_key"] == first["public_key"]
    assert factories.is_rfc3339_utc(first["keys"][0]["created_at"])
    # One key for the deployment: every organization, every call.
    assert published(client) == first
    assert (
        published(client)["public_key"] == client.get("/export" + PATH).json()["data"]["public_key"]
    )


def test_a_rotation_keeps_the_replaced_key_listed_for_a_while(
    client: TestClient, sessions: Any
) -> None:
    before = published(client)
    with session_scope(sessions) as session:
        rotated = webhooks.rotate(session)
    after = published(client)
    assert after["key_id"] == rotated.public.key_id != before["key_id"]
    assert [k["key_id"] for k in after["keys"]][:2] == [rotated.public.key_id, before["key_id"]]
    with session_scope(sessions) as session:
        later = webhooks.published(
            session, now=utcnow() + webhooks.RETIRED_KEYS_LISTED_FOR + timedelta(minutes=1)
        )
    assert [k.key_id for k in later] == [rotated.public.key_id]


def test_the_newest_key_signs(sessions: Any) -> None:
    with session_scope(sessions) as session:
        key = webhooks.current(session)
        headers = key.headers(b'{"type":"x"}')
    public = serialization.load_pem_public_key(key.public.public_key.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        bytes.fromhex(headers[webhooks.SIGNATURE_HEADER]),
        headers[webhooks.TIMESTAMP_HEADER].encode() + b'.{"type":"x"}',
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def test_the_first_key_is_generated_once_when_two_processes_race(settings: Settings) -> None:
    engine = make_engine(settings)
    factory = make_sessionmaker(engine, settings)
    try:
        with session_scope(factory) as session:
            session.execute(delete(WebhookSigningKey))
        with session_scope(factory) as session:
            theirs = webhooks._generate(session, 1)
        assert theirs is not None
        # This process generated a key too, but stored it second: it signs with theirs.
        with session_scope(factory) as session:
            assert webhooks._generate(session, 1) is None
            assert webhooks.current(session).public.key_id == theirs.key_id
            assert [k.key_id for k in webhooks.published(session)] == [theirs.key_id]
    finally:
        engine.dispose()


def test_a_pinned_key_is_the_only_one(settings: Settings) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    pinned = settings.model_copy(update={"webhook_signing_key": SecretStr(pem)})
    engine = make_engine(pinned)
    try:
        with session_scope(make_sessionmaker(engine, pinned)) as session:
            keys = webhooks.published(session)
            current = webhooks.current(session)
        assert [k.key_id for k in keys] == [webhooks.key_id_of(private.public_key())]
        assert keys[0].created_at is None
        assert current.public == keys[0]
    finally:
        engine.dispose()
