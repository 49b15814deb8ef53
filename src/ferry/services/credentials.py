"""Recipient source credentials: a recipient's own login on a source (spec §6.1 #26–29)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ferry.db import queries
from ferry.db.models import RecipientSourceCredential
from ferry.errors import Conflict
from ferry.scope import Scope
from ferry.services import audit, recipients, sources
from ferry.services.lookup import require
from ferry.services.secrets import seal, unseal
from ferry.services.views import credential_view

EVENT = "RECIPIENT_SOURCE_CREDENTIAL"


def get(
    session: Session, *, scope: Scope, credential_id: str | uuid.UUID
) -> RecipientSourceCredential:
    return require(
        session,
        RecipientSourceCredential,
        scope=scope,
        ident=credential_id,
        kind="recipient source credential",
    )


def list_stmt(
    *, scope: Scope, recipient_id: uuid.UUID | None = None, source_id: uuid.UUID | None = None
) -> Select[RecipientSourceCredential]:
    stmt = queries.select_in(RecipientSourceCredential, scope=scope)
    if recipient_id is not None:
        stmt = stmt.where(RecipientSourceCredential.recipient_id == recipient_id)
    if source_id is not None:
        stmt = stmt.where(RecipientSourceCredential.source_id == source_id)
    return stmt


def password_of(session: Session, credential: RecipientSourceCredential) -> str | None:
    return unseal(session, credential.sealed_secrets).get("password")


def _unique(
    session: Session,
    scope: Scope,
    recipient_id: uuid.UUID,
    source_id: uuid.UUID,
    exclude: uuid.UUID | None,
) -> None:
    clash = session.scalar(list_stmt(scope=scope, recipient_id=recipient_id, source_id=source_id))
    if clash is not None and clash.id != exclude:
        raise Conflict(
            "recipient_source_credential: this recipient already has a credential "
            f"for this source ({clash.id}); update it instead"
        )


def create(session: Session, *, scope: Scope, data: dict[str, Any]) -> RecipientSourceCredential:
    recipient = recipients.get(session, scope=scope, recipient_id=data["recipient_id"])
    source = sources.get(session, scope=scope, source_id=data["source_id"])
    _unique(session, scope, recipient.id, source.id, None)
    credential = RecipientSourceCredential(
        environment_id=scope.environment_id,
        recipient_id=recipient.id,
        source_id=source.id,
        username=data["username"],
        sealed_secrets=seal(session, {"password": data["password"]}),
    )
    session.add(credential)
    session.flush()
    audit.record(
        session, scope, f"{EVENT}_ADD", resource_id=credential.id, obj=credential_view(credential)
    )
    return credential


def update(
    session: Session, *, scope: Scope, credential_id: str | uuid.UUID, data: dict[str, Any]
) -> RecipientSourceCredential:
    credential = get(session, scope=scope, credential_id=credential_id)
    previous = credential_view(credential)
    recipient_id, source_id = credential.recipient_id, credential.source_id
    if data.get("recipient_id") is not None:
        recipient_id = recipients.get(session, scope=scope, recipient_id=data["recipient_id"]).id
    if data.get("source_id") is not None:
        source_id = sources.get(session, scope=scope, source_id=data["source_id"]).id
    _unique(session, scope, recipient_id, source_id, credential.id)
    credential.recipient_id, credential.source_id = recipient_id, source_id
    if data.get("username") is not None:
        credential.username = data["username"]
    if data.get("password") is not None:
        credential.sealed_secrets = seal(session, {"password": data["password"]})
    session.flush()
    audit.record(
        session,
        scope,
        f"{EVENT}_UPDATE",
        resource_id=credential.id,
        obj=credential_view(credential),
        previous=previous,
    )
    return credential


def delete(session: Session, *, scope: Scope, credential_id: str | uuid.UUID) -> None:
    credential = get(session, scope=scope, credential_id=credential_id)
    previous = credential_view(credential)
    session.delete(credential)
    session.flush()
    audit.record(session, scope, f"{EVENT}_DELETE", resource_id=credential.id, previous=previous)
