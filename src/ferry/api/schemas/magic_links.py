"""Magic link requests."""

from __future__ import annotations

import uuid

from ferry.api.schemas.common import Input, NameList
from ferry.fields import Name, PublicKey, Short, Url


class MagicLinkIn(Input):
    name: Name | None = None
    vendor: Name
    recipient_id: uuid.UUID
    set_destination_enabled: bool = True
    redirect_url: Url | None = None
    # Values pre-filled on the page, never secrets.
    host: Short | None = None
    bucket_name: Short | None = None
    bucket_access_id: Short | None = None
    bucket_vendor: Short | None = None
    bucket_host: Short | None = None
    ssh_public_key: PublicKey | None = None
    metastore: Short | None = None
    catalog: Short | None = None
    table_bucket_arn: Short | None = None


class MagicLinkInBase(MagicLinkIn):
    # 2022-01-01 named (and created) the recipient inline.
    recipient_id: uuid.UUID | None = None  # type: ignore[assignment]
    id_in_provider_system: Name | None = None
    products: NameList | None = None


class MagicLinkCreate(Input):
    magic_link: MagicLinkIn


class MagicLinkCreateBase(Input):
    magic_link: MagicLinkInBase
