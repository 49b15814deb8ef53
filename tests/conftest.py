"""Shared fixtures: a migrated metadata database (SQLite, or PostgreSQL through
FERRY_DATABASE_URL), the app, and tenants with API keys for both environments."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from ferry.api.app import create_app
from ferry.db import migrate
from ferry.db.engine import make_engine, make_sessionmaker, session_scope
from ferry.services import organizations
from ferry.settings import Settings

SECRET_KEY = Fernet.generate_key().decode()


def _server_url() -> str | None:
    url = os.environ.get("FERRY_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, uniquely named database for this test process, dropped at the end."""
    server = _server_url()
    if server is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('metadata') / 'ferry.db'}"
        return
    name = f"ferry_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    settings = Settings(
        database_url=database_url, secret_key=SECRET_KEY, broker_url=None, public_url=None
    )
    migrate.upgrade(settings)
    return settings


@pytest.fixture(scope="session")
def app(settings: Settings) -> Any:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://ferry.test") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def sessions(settings: Settings) -> Any:
    engine = make_engine(settings)
    yield make_sessionmaker(engine, settings)
    engine.dispose()


@dataclass
class Api:
    """A caller with one API key: requests return the parsed envelope and status code."""

    client: TestClient
    key: str
    version: str | None = None

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        version: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        sent = {"X-API-KEY": self.key}
        chosen = version or self.version
        if chosen:
            sent["X-Prequel-Api-Version"] = chosen
        sent.update(headers or {})
        return self.client.request(method, path, json=json, headers=sent, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of a successful call (fails the test on any other answer)."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def error(self, method: str, path: str, status: int, **kwargs: Any) -> str:
        """The error message of a call expected to fail with ``status``."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        body = response.json()
        assert body["status"] == "error", body
        assert body["data"] is None, body
        assert isinstance(body["message"], str)
        assert body["message"]
        return str(body["message"])

    def with_version(self, version: str) -> Api:
        return Api(self.client, self.key, version)


@dataclass
class Tenant:
    name: str
    staging: Api
    prod: Api


@pytest.fixture
def make_tenant(client: TestClient, sessions: Any) -> Any:
    def make(name: str | None = None) -> Tenant:
        org = name or f"org-{uuid.uuid4().hex[:10]}"
        with session_scope(sessions) as session:
            staging = organizations.create_api_key(session, org_name=org, environment="staging")
            prod = organizations.create_api_key(session, org_name=org, environment="prod")
        return Tenant(org, Api(client, staging), Api(client, prod))

    return make


@pytest.fixture
def tenant(make_tenant: Any) -> Tenant:
    return make_tenant()


@pytest.fixture
def api(tenant: Tenant) -> Api:
    """The staging API of a fresh organization, speaking 2023-12-01."""
    return tenant.staging


PROJECT_ROOT = Path(__file__).resolve().parents[1]
