"""The Admin UI in a real browser: headless Chromium (Debian's package, driven by
Playwright) against a live ``ferry serve`` with its embedded worker. An operator does the
quickstart entirely through the pages: signs in with an API key, adds a PostgreSQL source
and tests it, adds a model and validates it, sees the default product, adds a recipient and
its PostgreSQL destination, tests it, starts a transfer and watches it live to SUCCESS; the
rows are then in the destination database.

Screenshots of every step go to ``tests/artifacts/admin/``. Skipped without Chromium or
Playwright, except in CI, where both must be present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import ACME_ORDERS, Database, model_config
from tests.conftest import PROJECT_ROOT
from tests.processes import clean_env, free_port, run, started, wait_for_http
from tests.web.test_magic_link_browser import LAUNCH_ARGS, chromium

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.postgres]
__all__ = ["chromium"]  # the fixture, shared with the magic-link page's browser test

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "admin"
SECRET = "browser-Admin-pw-5"  # PostgreSQL trusts 127.0.0.1: any password connects
WAIT_MS = 30_000
TRANSFER_MS = 90_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A live ``ferry serve`` (embedded SQLite and worker) and a staging API key."""
    env = clean_env()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with started(["serve", "--port", str(port)], env, tmp_path, "serve") as process:
        wait_for_http(base, process)
        created = run(["keys", "create", "--org", "Acme Analytics"], env, tmp_path)
        assert created.returncode == 0, created.stderr
        yield base, created.stdout.strip()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fill_postgres(page: Any, name_label: str, name: str, database: str) -> None:
    page.get_by_label(name_label).fill(name)
    page.get_by_label("Host", exact=True).fill("127.0.0.1")
    page.get_by_label("Database", exact=True).fill(database)
    page.get_by_label("Username", exact=True).fill("postgres")
    page.get_by_label("Password", exact=True).fill(SECRET)
    page.get_by_label("Disable SSL").check()


def start_transfer(page: Any, expect: Any, choose: Callable[[], None] = lambda: None) -> None:
    """Start a transfer from the destination's page and land on it. A new destination is due
    at the scheduler's next tick (every 15 s in ``ferry serve``): if that scheduled transfer is
    running, the page shows it instead; wait for it to end, then start again."""
    for _ in range(3):
        choose()
        page.get_by_role("button", name="Start transfer").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Transfer to Acme warehouse")
        if page.get_by_text("already in progress").count() == 0:
            return
        expect(page.locator("[data-transfer-status]")).not_to_have_attribute(
            "data-transfer-status", re.compile("^(PENDING|RUNNING)$"), timeout=TRANSFER_MS
        )
        page.get_by_role("link", name="Acme warehouse").first.click()
    raise AssertionError("a scheduled transfer was running at every attempt")


def test_the_quickstart_in_the_browser(
    chromium: Path, server: tuple[str, str], source_db: Database, dest_db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, key = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("*.png"):
        stale.unlink()
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            # A CSP violation or a script error shows up here.
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            # Sign in: a wrong key first.
            page.goto(base + "/admin")
            expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
            page.get_by_label("API key").fill(key[:-3] + "zzz")
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#api_key-error")).to_contain_text("This API key is not valid")
            shot(page, "01-sign-in-refused")
            page.get_by_label("API key").fill(key)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
            expect(page.get_by_text("Get started")).to_be_visible()
            shot(page, "02-overview")

            # A source, tested in place, then saved and tested again.
            page.get_by_role("link", name="Sources").first.click()
            page.get_by_role("link", name="Add a source").click()
            expect(page.get_by_label("Source type")).to_have_value("postgres")
            fill_postgres(page, "Source name", "Production database", source_db.name)
            page.get_by_role("button", name="Test connection").click()
            expect(page.locator("#test-result")).to_contain_text("Connection successful")
            shot(page, "03-source-tested")
            page.get_by_role("button", name="Add source").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Production database")
            page.get_by_role("button", name="Test connection").click()
            expect(page.locator("#result")).to_contain_text("Connection successful")
            assert SECRET not in page.content()
            shot(page, "04-source")

            # A model from its config file, validated against the source.
            page.get_by_role("link", name="Models").first.click()
            page.get_by_role("link", name="Add a model").click()
            page.get_by_label("Model config").fill(json.dumps({"model": model_config()}, indent=2))
            page.get_by_role("button", name="Add model").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("orders")
            page.get_by_role("button", name="Validate").click()
            expect(page.locator("#result")).to_contain_text("The model is valid")
            shot(page, "05-model-validated")

            # The default product holds it.
            page.get_by_role("link", name="Products").first.click()
            page.get_by_role("link", name="default").click()
            page.get_by_role("button", name="Validate").click()
            expect(page.locator("#result")).to_contain_text("It holds: orders.")
            shot(page, "06-default-product")

            # A recipient and its destination.
            page.get_by_role("link", name="Recipients").first.click()
            page.get_by_role("link", name="Add a recipient").click()
            page.get_by_label("Id in your system").fill("acme")
            page.get_by_label("Name").fill("Acme Corp")
            page.get_by_role("button", name="Add recipient").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Acme Corp")
            page.get_by_role("link", name="Add a destination").click()
            expect(page.get_by_label("Recipient")).to_contain_text("Acme Corp")
            fill_postgres(page, "Destination name", "Acme warehouse", dest_db.name)
            page.get_by_label("Schema", exact=True).fill("acme_data")
            page.get_by_role("button", name="Test connection").click()
            expect(page.locator("#test-result")).to_contain_text("Connection successful")
            shot(page, "07-destination-tested")
            page.get_by_role("button", name="Add destination").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Acme warehouse")
            page.get_by_role("button", name="Test connection").click()
            expect(page.locator("#result")).to_contain_text("Connection successful")
            shot(page, "08-destination")

            # A transfer, followed live to its end.
            start_transfer(page, expect)
            shot(page, "09-transfer-started")
            status = page.locator("[data-transfer-status]")
            expect(status).to_have_attribute("data-transfer-status", "SUCCESS", timeout=TRANSFER_MS)
            expect(page.locator("[data-rows]")).to_have_text(str(ACME_ORDERS))
            expect(page.locator("#model-metrics")).to_contain_text("orders")
            expect(page.locator("#model-metrics")).to_contain_text("Done")
            expect(page.locator("#transfer-log")).to_contain_text("model orders:")
            expect(page.get_by_role("button", name="Cancel transfer")).to_be_hidden()
            shot(page, "10-transfer-succeeded")

            # Again, with the models chosen and a full refresh.
            page.get_by_role("link", name="Acme warehouse").first.click()

            def choose() -> None:
                page.get_by_label("orders").check()
                page.get_by_label("Full refresh").check()

            start_transfer(page, expect, choose)
            expect(page.locator("[data-transfer-status]")).to_have_attribute(
                "data-transfer-status", "SUCCESS", timeout=TRANSFER_MS
            )
            expect(page.get_by_text("Full refresh", exact=True)).to_be_visible()

            page.get_by_role("link", name="Transfers").first.click()
            expect(page.locator("svg.chart-svg rect.chart-bar").first).to_be_visible()
            expect(page.locator("table.table")).to_contain_text("Succeeded")
            shot(page, "11-transfers")

            # Secrets stay out of the edit form.
            page.get_by_role("link", name="Destinations").first.click()
            page.get_by_role("link", name="Acme warehouse").click()
            page.get_by_role("link", name="Edit").click()
            expect(page.get_by_label(re.compile(r"^Password"))).to_have_value("")
            expect(page.get_by_text("Leave blank to keep the saved value.")).to_be_visible()
            assert SECRET not in page.content()
            shot(page, "12-destination-edit")

            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_text("You are signed out.")).to_be_visible()
            shot(page, "13-signed-out")
        finally:
            browser.close()
    # The wrong key's 401 answer is the only error the console may show.
    assert [p for p in problems if "401" not in p] == []
    rows = dest_db.rows("SELECT id, title FROM acme_data.orders ORDER BY id")
    assert len(rows) == ACME_ORDERS
    assert rows[0] == {"id": 1, "title": "order <1>"}
