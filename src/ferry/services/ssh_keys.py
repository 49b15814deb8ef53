"""SSH key pairs Ferry makes for SFTP destinations and SSH tunnels (spec §6.1 #57).

The public halves go to the client (an OpenSSH line to authorize on the server, and the same
key as a PEM SubjectPublicKeyInfo, which Prequel's SDK calls ``pkcs8``); the private half is
sealed with ``FERRY_SECRET_KEY`` and only ever used by Ferry to connect. The first environment
that names a key in a destination owns it: no other organization can borrow it.
"""

from __future__ import annotations

import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from ferry import crypto
from ferry.connectors.base import ConnectorContext
from ferry.db.models import SshKey
from ferry.errors import InvalidInput
from ferry.services.secrets import settings_of

KEY_BITS = 3072


def generate(session: Session) -> SshKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    public = private.public_key()
    openssh = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    key = SshKey(
        public_key=openssh,
        public_key_pkcs8=pem,
        sealed_private_key=crypto.sealer(settings_of(session)).seal(private_pem),
    )
    session.add(key)
    session.flush()
    return key


def _public_keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [k for value in node.values() for k in _public_keys(value)]
    if isinstance(node, str) and node.strip().startswith("ssh-"):
        return [node.strip()]
    return []


def _normalized(line: str) -> str:
    """Type and key material, without the comment: the part that identifies a key."""
    return " ".join(line.split()[:2])


def context_for(
    session: Session, *, environment_id: uuid.UUID, config: dict[str, Any], claim: bool = False
) -> ConnectorContext:
    """The private keys of Ferry-made key pairs a config names.

    With ``claim``, unowned keys become the environment's; a key another environment owns is
    refused (its owner's servers trust it).
    """
    wanted = {_normalized(k) for k in _public_keys(config)}
    if not wanted:
        return ConnectorContext()
    found = session.scalars(select(SshKey).where(SshKey.public_key.in_(wanted))).all()
    sealer = crypto.sealer(settings_of(session))
    private: dict[str, str] = {}
    for key in found:
        if key.environment_id not in (None, environment_id):
            raise InvalidInput(
                "ssh key: this public key belongs to another environment; "
                "generate a new one with POST /actions/generate-ssh-key"
            )
        if claim and key.environment_id is None:
            key.environment_id = environment_id
        private[key.public_key] = str(sealer.open(key.sealed_private_key))
    return ConnectorContext(private_keys=private)


def claim(session: Session, *, environment_id: uuid.UUID, config: dict[str, Any]) -> None:
    """Ferry-made key pairs a source's or destination's public config names become the
    environment's: their servers trust them, so no other organization may use them."""
    context_for(session, environment_id=environment_id, config=config, claim=True)
