"""Scoped auth tokens (spec §2.2): short-lived, signed, for one recipient's browser.

A token is a JWT (HS256) signed with a key derived from ``FERRY_SECRET_KEY`` (every configured
key verifies, so keys rotate like the credential keys). It binds one environment, one
recipient, the application origin it is used from, and — for tokens that may create or change
a destination — the SHA-256 of the destination details the provider's backend approved. The
details themselves (a password, say) are never put in the token. Each token is recorded (by id)
so that its origin may call the API from a browser while it lives, and so that deleting its
recipient revokes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from ferry import crypto
from ferry.db.base import utcnow
from ferry.db.models import Environment, Recipient, ScopedToken
from ferry.errors import Forbidden, Unauthorized
from ferry.scope import Scope
from ferry.services import recipients
from ferry.services.secrets import settings_of

ISSUER = "ferry"
AUDIENCE = "ferry-scoped-token"
ALGORITHM = "HS256"


def _signing_keys(session: Session) -> list[bytes]:
    """One HMAC key per configured secret key, newest first (derived, never the key itself)."""
    keys = []
    for secret in crypto.keys_from_settings(settings_of(session)):
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ferry scoped token v1")
        keys.append(hkdf.derive(base64.urlsafe_b64decode(secret.encode())))
    return keys


def digest(destination: Any) -> str:
    """A stable fingerprint of destination details (key order does not matter)."""
    canonical = json.dumps(destination, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def mint(
    session: Session,
    *,
    scope: Scope,
    recipient: Recipient,
    origin: str | None,
    destination: dict[str, Any] | None,
) -> str:
    now = utcnow()
    ttl = timedelta(seconds=settings_of(session).scoped_token_ttl_seconds)
    jti = uuid.uuid4()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": str(jti),
        "sub": str(recipient.id),
        "env": str(scope.environment_id),
        "org": str(scope.organization_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "origin": origin,
        "dest": digest(destination) if destination else None,
    }
    session.add(
        ScopedToken(
            jti=jti,
            environment_id=scope.environment_id,
            recipient_id=recipient.id,
            origin=origin,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return jwt.encode(claims, _signing_keys(session)[0], algorithm=ALGORITHM)


def verify(session: Session, *, token: str, app_id: str | None, origin: str | None) -> Scope:
    """The scope a token opens, or Unauthorized (bad, expired, revoked) / Forbidden (used from
    an application it was not minted for)."""
    claims = None
    for key in _signing_keys(session):
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "env", "jti"]},
            )
            break
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the scoped token has expired; fetch a new one") from None
        except jwt.InvalidTokenError:
            continue
    if claims is None:
        raise Unauthorized("invalid scoped token")
    try:
        jti, recipient_id = uuid.UUID(claims["jti"]), uuid.UUID(claims["sub"])
        environment_id = uuid.UUID(claims["env"])
    except (ValueError, TypeError):
        raise Unauthorized("invalid scoped token") from None
    record = session.get(ScopedToken, jti)
    recipient = session.get(Recipient, recipient_id)
    environment = session.get(Environment, environment_id)
    if (
        record is None
        or recipient is None
        or environment is None
        or recipient.environment_id != environment_id
    ):
        raise Unauthorized("the scoped token was revoked")
    bound = claims.get("origin")
    if bound:
        if app_id is None:
            raise Unauthorized(
                "missing X-APP-ID: send the application origin the scoped token was minted for"
            )
        if app_id.rstrip("/") != str(bound).rstrip("/"):
            raise Forbidden(
                "X-APP-ID does not match the application the scoped token was minted for"
            )
        if origin is not None and not _same_origin(origin, str(bound)):
            raise Forbidden("this scoped token cannot be used from this origin")
    return Scope(
        organization_id=environment.organization_id,
        environment_id=environment.id,
        environment=environment.kind,
        actor_type="recipient",
        actor_id=str(recipient.id),
        recipient_id=recipient.id,
        destination_digest=claims.get("dest"),
        origin=bound,
    )


def _same_origin(origin: str, bound: str) -> bool:
    """X-APP-ID is free text in the SDK ("app.example.co" or "http://localhost:3000"): the
    browser's Origin matches when it is that origin, with or without its scheme."""
    origin, bound = origin.rstrip("/").lower(), bound.rstrip("/").lower()
    return origin == bound or origin.split("://", 1)[-1] == bound.split("://", 1)[-1]


def resolve_recipient(
    session: Session, *, scope: Scope, recipient_id: str | None, id_in_provider_system: str | None
) -> Recipient:
    """The recipient a token is for: by id (2023-12-01) or by its id in the provider's system
    (2022-01-01, created when new, as destinations create theirs)."""
    if recipient_id is not None:
        return recipients.get(session, scope=scope, recipient_id=recipient_id)
    if id_in_provider_system is None:
        from ferry.errors import InvalidInput

        raise InvalidInput("recipient_id: is required")
    found = recipients.by_provider_id(
        session, scope=scope, id_in_provider_system=id_in_provider_system
    )
    return found or recipients.create(
        session,
        scope=scope,
        data={"id_in_provider_system": id_in_provider_system, "name": id_in_provider_system},
    )


def granted_origins(session: Session) -> set[str]:
    """Origins of live tokens: browsers there may call the API (CORS) while the tokens live."""
    rows = session.scalars(
        select(ScopedToken.origin).where(
            ScopedToken.origin.is_not(None), ScopedToken.expires_at > utcnow()
        )
    ).all()
    return {o for o in rows if o}


def require_destination(scope: Scope, destination: Any) -> None:
    """A token may create, change or test only the destination details it was minted for."""
    if not scope.is_recipient:
        return
    if scope.destination_digest is None:
        raise Forbidden(
            "this scoped token was minted without destination details; it may only read"
        )
    if digest(destination) != scope.destination_digest:
        raise Forbidden("the destination differs from the one the scoped token was minted for")


# Fields naming where a destination writes: a browser holding a scoped token may change a
# destination's credentials or settings, never point it somewhere else (spec §2.2).
TARGET_FIELDS = frozenset({"host", "bucket_name"})


def refuse_new_target(scope: Scope, destination: Any) -> None:
    if scope.is_recipient and _names_any(destination, TARGET_FIELDS):
        raise Forbidden("a scoped token cannot change a destination's host or bucket_name")


def _names_any(node: Any, keys: frozenset[str]) -> bool:
    if isinstance(node, dict):
        return any(k in keys or _names_any(v, keys) for k, v in node.items())
    return False
