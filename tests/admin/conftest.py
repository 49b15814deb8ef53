"""Fixtures of the Admin UI tests: a browser-like client, signed in with an API key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.transfer.conftest import Database, fresh_database

BASE = "http://ferry.test"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """A person's browser on the Admin UI: it keeps the cookie and sends each form with the
    token of the page it came from, from this server's origin."""

    client: TestClient

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def submit(
        self,
        page: str,
        action: str,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Open ``page`` and post ``data`` to ``action`` with that page's CSRF token."""
        opened = self.get(page)
        assert opened.status_code == 200, (page, opened.status_code, opened.text[:500])
        form = {"csrf_token": csrf_of(opened.text), **(data or {})}
        return self.client.post(action, data=form, headers={"Origin": BASE} | (headers or {}))

    def sign_in(self, key: str) -> httpx.Response:
        return self.submit("/admin/login", "/admin/login", {"api_key": key})


@pytest.fixture
def browser(app: Any) -> Iterator[Browser]:
    with TestClient(app, base_url=BASE, follow_redirects=True) as client:
        client.headers["Accept"] = BROWSER_ACCEPT
        yield Browser(client)


@pytest.fixture
def signed_in(browser: Browser, tenant: Tenant) -> Browser:
    """A browser signed in with the tenant's staging key."""
    response = browser.sign_in(tenant.staging.key)
    assert response.status_code == 200, response.text[:500]
    assert str(response.url).endswith("/admin"), response.url
    return browser


ORDERS_DDL = """
CREATE TABLE public.orders (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL,
    title TEXT,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE public.invoices (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL,
    total NUMERIC(12, 2),
    updated_at TIMESTAMPTZ NOT NULL
);
INSERT INTO public.orders
    SELECT i, CASE WHEN i % 3 = 0 THEN 'globex' ELSE 'acme' END, 'order <' || i || '>',
           TIMESTAMPTZ '2024-05-01 09:30:00+00' + i * INTERVAL '1 second'
    FROM generate_series(1, 30) AS i;
INSERT INTO public.invoices
    SELECT i, 'acme', i * 10.5, TIMESTAMPTZ '2024-05-01 09:30:00+00' FROM generate_series(1, 4) AS i;
"""
ACME_ORDERS = 20  # of the 30 rows, those whose org_id is 'acme'


@pytest.fixture
def source_db() -> Iterator[Database]:
    """A source database with an ``orders`` and an ``invoices`` table of two tenants."""
    for database in fresh_database("ferry_admin"):
        database.execute(ORDERS_DDL)
        yield database


@pytest.fixture
def dest_db() -> Iterator[Database]:
    yield from fresh_database("ferry_admin")


def model_config(name: str = "orders", value_column: str = "title") -> dict[str, Any]:
    kind = "text" if value_column == "title" else "decimal"
    return {
        "model_name": name,
        "source_table": f"public.{name}",
        "organization_column": "org_id",
        "columns": [
            {
                "name_in_source": "id",
                "name_in_destination": "id",
                "data_type": "bigint",
                "is_primary_key": True,
            },
            {
                "name_in_source": value_column,
                "name_in_destination": value_column,
                "data_type": kind,
            },
            {
                "name_in_source": "updated_at",
                "name_in_destination": "updated_at",
                "data_type": "timestamp",
                "is_last_modified": True,
            },
        ],
    }
