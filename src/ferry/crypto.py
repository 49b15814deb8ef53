"""Encryption of stored credentials (Fernet, rotatable) and hashing of API keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ferry.errors import ConfigurationError
from ferry.settings import Settings

log = structlog.get_logger(__name__)

KEY_FILE_NAME = "ferry.secret"


class Sealer:
    """Seals and opens JSON values with the newest of the configured Fernet keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigurationError("no secret key configured")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError as exc:
            raise ConfigurationError(
                "FERRY_SECRET_KEY must be Fernet keys (urlsafe base64 of 32 bytes), "
                "comma-separated, newest first; generate one with `ferry keys secret`"
            ) from exc

    def seal(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def open(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ConfigurationError(
                "a stored credential cannot be decrypted with FERRY_SECRET_KEY; "
                "was the key that sealed it removed from the list?"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a sealed value with the newest key."""
        return self._fernet.rotate(token.encode()).decode()


def _embedded_key(settings: Settings) -> str:
    """The key file beside the embedded SQLite database, created on first use."""
    db_path = settings.sqlite_path()
    directory = db_path.resolve().parent if db_path else Path.cwd()
    key_file = directory / KEY_FILE_NAME
    if key_file.exists():
        return key_file.read_text().strip()
    key = Fernet.generate_key().decode()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.warning(
        "secret_key_generated",
        path=str(key_file),
        hint="set FERRY_SECRET_KEY in production; keep this file safe",
    )
    return key


def keys_from_settings(settings: Settings) -> list[str]:
    if settings.secret_key is not None:
        raw = settings.secret_key.get_secret_value()
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        if keys:
            return keys
    if settings.is_embedded:
        return [_embedded_key(settings)]
    raise ConfigurationError(
        "FERRY_SECRET_KEY is required outside the embedded default (SQLite without a broker); "
        "generate one with `ferry keys secret`"
    )


@lru_cache(maxsize=8)
def _sealer_for(keys: tuple[str, ...]) -> Sealer:
    return Sealer(list(keys))


def sealer(settings: Settings) -> Sealer:
    return _sealer_for(tuple(keys_from_settings(settings)))


def new_api_key(environment: str) -> str:
    return f"sk_{environment}_{secrets.token_hex(16)}"


def hash_token(token: str) -> str:
    """API keys and link tokens are random and long, so a plain SHA-256 is the right hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
