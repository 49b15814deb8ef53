"""Recipient source credential requests."""

from __future__ import annotations

import uuid

from ferry.api.schemas.common import Input
from ferry.fields import Password, Short


class CredentialIn(Input):
    recipient_id: uuid.UUID
    source_id: uuid.UUID
    username: Short
    password: Password


class CredentialPatch(Input):
    recipient_id: uuid.UUID | None = None
    source_id: uuid.UUID | None = None
    username: Short | None = None
    password: Password | None = None


class CredentialCreate(Input):
    recipient_source_credential: CredentialIn


class CredentialUpdate(Input):
    recipient_source_credential: CredentialPatch
