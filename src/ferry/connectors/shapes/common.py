"""Generic field groups that vendor objects are assembled from.

Each group carries its own selector entries; ``VendorConfig`` merges them into every class the
group is mixed into. Mixins go left of the class they extend, so their fields follow its fields.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ferry.connectors.config import (
    SSH_SELECTOR,
    AwsAccessKeys,
    AwsIamRole,
    PasswordAuth,
    Selectors,
    SshTunnel,
    VendorConfig,
)
from ferry.fields import Port, Short

TimeoutSeconds = Annotated[int, Field(ge=1, le=3600)]


class ServerAddress(VendorConfig):
    """A server reached by host name and port."""

    host: Short
    port: Port


class PasswordLogin(VendorConfig):
    """A username and password login, the only auth method of most SQL servers."""

    selectors: ClassVar[Selectors] = {"auth_method": {"password_auth": "password_auth"}}

    auth_method: Literal["password_auth"]
    password_auth: PasswordAuth | None = None


class SshTunnelOption(VendorConfig):
    """An optional SSH tunnel through a bastion host."""

    selectors: ClassVar[Selectors] = {"use_ssh_tunnel": SSH_SELECTOR}

    use_ssh_tunnel: bool = False
    ssh_tunnel: SshTunnel | None = None


class DatabaseServer(SshTunnelOption, PasswordLogin, ServerAddress):
    """A database server with a password login, SSL on by default and an optional SSH tunnel."""

    disable_ssl: bool = False


class AwsLogin(VendorConfig):
    """An AWS login: an IAM role Ferry assumes, or an access key pair."""

    selectors: ClassVar[Selectors] = {
        "auth_method": {"aws_iam_role": "aws_iam_role", "aws_access_keys": "aws_access_keys"}
    }

    auth_method: Literal["aws_iam_role", "aws_access_keys"]
    aws_iam_role: AwsIamRole | None = None
    aws_access_keys: AwsAccessKeys | None = None


class LocalDatabaseFile(VendorConfig):
    """An embedded database in a file on the Ferry host."""

    path: Short


class ObjectStorageOptions(VendorConfig):
    """How files are written to object storage (spec §7.2, object-storage common options)."""

    file_format: Literal["parquet"] = "parquet"
    disable_manifest: bool = False
