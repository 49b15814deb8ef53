"""The form and key routes as the SDK calls them: no credentials, the one envelope."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select

from ferry import crypto, forms
from ferry.db.engine import session_scope
from ferry.db.models import SshKey
from ferry.services import ssh_keys
from ferry.services.secrets import settings_of

FORM_PATH = "/public/forms/destination-vendors"


def envelope(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "data", "message"}, body
    assert body["status"] == ("success" if status == 200 else "error"), body
    assert body["message"]
    return body["data"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Prequel-Api-Version": "2023-12-01"}, {"X-Prequel-Api-Version": "2022-01-01"}],
)
def test_the_form_needs_no_credentials(client: TestClient, headers: dict[str, str]) -> None:
    data = envelope(client.get(FORM_PATH, headers=headers))
    assert data == forms.destination_form()
    assert data["form"]["name"] == "vendor"
    assert [s["id"] for s in data["sections"]] == sorted(s["id"] for s in data["sections"])


def test_the_form_of_one_vendor(client: TestClient) -> None:
    data = envelope(client.get(FORM_PATH, params={"org_id": str(uuid.uuid4()), "vendor": "s3"}))
    assert data == forms.destination_form("s3")
    assert {child["parent"] for child in data["form"]["children"]} == {"s3"}


def test_an_empty_vendor_means_every_vendor(client: TestClient) -> None:
    assert envelope(client.get(FORM_PATH, params={"vendor": "", "org_id": ""})) == (
        forms.destination_form()
    )


def test_an_unknown_vendor_is_a_400(client: TestClient) -> None:
    response = client.get(FORM_PATH, params={"vendor": "nosuchdb"})
    assert envelope(response, 400) is None
    message = response.json()["message"]
    assert "nosuchdb" in message
    assert "postgres" in message


def test_generate_ssh_key_answers_both_forms_of_one_public_key(
    client: TestClient, sessions: Any
) -> None:
    response = client.post("/actions/generate-ssh-key")  # no credentials, no body
    data = envelope(response)
    assert set(data) == {"public_key", "public_key_pkcs8"}

    assert data["public_key"].startswith("ssh-rsa ")
    openssh = serialization.load_ssh_public_key(data["public_key"].encode())
    pem = serialization.load_pem_public_key(data["public_key_pkcs8"].encode())
    assert data["public_key_pkcs8"].startswith("-----BEGIN PUBLIC KEY-----")
    assert isinstance(openssh, rsa.RSAPublicKey)
    assert isinstance(pem, rsa.RSAPublicKey)
    assert openssh.public_numbers() == pem.public_numbers()

    with session_scope(sessions) as session:
        row = session.scalars(select(SshKey).where(SshKey.public_key == data["public_key"])).one()
        assert row.public_key_pkcs8 == data["public_key_pkcs8"]
        assert row.environment_id is None  # nobody's until a destination names it
        assert "PRIVATE KEY" not in row.sealed_private_key
        private_pem = crypto.sealer(settings_of(session)).open(row.sealed_private_key)
        private = serialization.load_ssh_private_key(str(private_pem).encode(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        assert private.public_key().public_numbers() == pem.public_numbers()

        # A destination that names the key gets its private half for connecting.
        config = {"ssh_tunnel": {"ssh_public_key": data["public_key"]}}
        context = ssh_keys.context_for(session, environment_id=uuid.uuid4(), config=config)
        assert context.private_keys == {data["public_key"]: private_pem}


def test_every_call_makes_a_new_key(client: TestClient) -> None:
    first = envelope(client.post("/actions/generate-ssh-key"))
    second = envelope(client.post("/actions/generate-ssh-key", content=b"ignored"))
    assert first["public_key"] != second["public_key"]
