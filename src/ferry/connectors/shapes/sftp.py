"""The fields an SFTP source and destination share."""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.config import PublicKeyAuth, Selectors
from ferry.connectors.shapes.common import ServerAddress
from ferry.fields import Short


class SftpConnection(ServerAddress):
    """An SFTP server that trusts a key pair Ferry generated."""

    selectors: ClassVar[Selectors] = {"auth_method": {"public_key_auth": "public_key_auth"}}

    username: Short
    auth_method: Literal["public_key_auth"]
    public_key_auth: PublicKeyAuth | None = None
