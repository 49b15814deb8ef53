"""The fields a MongoDB source and destination share."""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.config import AwsIamRole, PasswordAuth, Selectors
from ferry.connectors.shapes.common import ServerAddress, SshTunnelOption
from ferry.fields import Short


class MongoDBConnection(SshTunnelOption, ServerAddress):
    """A MongoDB deployment, logged into with a password or an AWS IAM role (MONGODB-AWS)."""

    selectors: ClassVar[Selectors] = {
        "auth_method": {"aws_iam_role": "aws_iam_role", "password_auth": "password_auth"}
    }

    authentication_database: Short
    auth_method: Literal["aws_iam_role", "password_auth"]
    aws_iam_role: AwsIamRole | None = None
    password_auth: PasswordAuth | None = None
    disable_ssl: bool = False
