"""Every setting Ferry reads, in one place. Nothing else reads ``os.environ``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ApiVersionName = Literal["2022-01-01", "2023-12-01"]


class WorkerSettings(BaseModel):
    """Settings of the transfer workers (``FERRY_WORKER__…``)."""

    concurrency: int = Field(default=2, ge=1, le=256)
    heartbeat_seconds: int = Field(default=15, ge=1)
    lease_seconds: int = Field(default=120, ge=10)
    batch_rows: int = Field(default=50_000, ge=1)
    # Bytes per batch for sources that size batches by bytes (PostgreSQL's binary COPY); a
    # running transfer holds a few batches at once. Larger batches were measured no faster.
    batch_bytes: int = Field(default=512 * 1024, ge=1024)
    # Attempts of a transfer whose every model failed for a reason worth retrying.
    max_attempts: int = Field(default=5, ge=1, le=50)
    # How many pending transfers to one database server (schemas behind one login) a worker
    # runs in one pass (see transfer.group); 1 runs every transfer on its own.
    group_size: int = Field(default=100, ge=1, le=1000)


class Settings(BaseSettings):
    """Ferry's configuration, from ``FERRY_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="FERRY_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite:///ferry.db"
    broker_url: str | None = None
    # The Celery queue transfers go through (several deployments can share one broker).
    broker_queue: str = Field(default="ferry", pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    secret_key: SecretStr | None = None
    default_api_version: ApiVersionName = "2023-12-01"
    base_api_enabled: bool = True
    # HTTP-date sent in the Sunset header of 2022-01-01 responses while that version is on.
    base_api_sunset: str = "Wed, 30 Jun 2027 00:00:00 GMT"
    public_url: str | None = None
    # Browser origins allowed in every environment (comma-separated), besides each
    # environment's own list and the origins of live scoped tokens.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The migrations/ folder (with alembic.ini beside it) when Ferry is installed rather than
    # run from its source tree.
    migrations_dir: str | None = None
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    magic_link_ttl_hours: int = Field(default=168, ge=1)
    scoped_token_ttl_seconds: int = Field(default=3600, ge=60)
    # An RSA private key (PEM) that signs webhook deliveries; unset, Ferry generates one and
    # keeps it, sealed, in the metadata database.
    webhook_signing_key: SecretStr | None = None
    log_level: str = "INFO"
    # GET /metrics (Prometheus). Keep it off the public internet, or set a token: scrapers
    # then send it as Authorization: Bearer.
    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    worker: WorkerSettings = WorkerSettings()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// SQLAlchemy URL")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_embedded(self) -> bool:
        """Embedded mode: SQLite metadata and no external broker (one process does it all)."""
        return self.is_sqlite and not self.broker_url

    def sqlite_path(self) -> Path | None:
        """The file behind a SQLite URL (None for in-memory or non-SQLite databases)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[-1]
        if not path or path == ":memory:":
            return None
        return Path(path)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
