"""Constrained field types shared by API schemas and vendor configs: no unbounded input."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, StringConstraints


def _no_control_chars(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


# A display name or identifier-like value.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, strip_whitespace=True),
    AfterValidator(_no_control_chars),
]
# Host names, database/schema names, usernames, paths and the like.
Short = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024, strip_whitespace=True),
    AfterValidator(_no_control_chars),
]
OptionalShort = Annotated[
    str,
    StringConstraints(max_length=1024, strip_whitespace=True),
    AfterValidator(_no_control_chars),
]
LongText = Annotated[str, StringConstraints(max_length=65_536)]
Url = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=2048, strip_whitespace=True, pattern=r"^https?://[^\s]+$"
    ),
]
# An OpenSSH public key line or a PEM block.
PublicKey = Annotated[
    str, StringConstraints(min_length=1, max_length=16_384, strip_whitespace=True)
]
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
Password = Annotated[SecretStr, Field(min_length=1, max_length=4096)]
# Private keys, service-account JSON as text, wallets: bigger but still bounded.
BigSecret = Annotated[SecretStr, Field(min_length=1, max_length=262_144)]
