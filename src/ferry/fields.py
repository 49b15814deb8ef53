"""Constrained field types shared by API schemas and vendor configs: no unbounded input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, SecretStr, StringConstraints

MIN_YEAR, MAX_YEAR = 1, 9998


def utc_datetime(value: datetime) -> datetime:
    """An aware UTC datetime within the years databases store (naive values are UTC)."""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


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

# A moment in time from a request: aware, converted to UTC, within storable years.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(utc_datetime)]
# Seconds since the epoch, within the years a timestamp column can hold.
EpochSeconds = Annotated[int, Field(ge=0, le=253_402_214_399)]
# A duration in seconds, up to a century.
DurationSeconds = Annotated[int, Field(ge=1, le=3_153_600_000)]
