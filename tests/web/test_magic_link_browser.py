"""The magic-link page in a real browser: headless Chromium (Debian's package, driven by
Playwright) against a live ``ferry serve``, a person filling the PostgreSQL form for this
machine's PostgreSQL server, testing the connection and saving it.

Screenshots of every step go to ``tests/artifacts/magic-link/``. Skipped without Chromium
or Playwright (installing Debian's ``chromium`` when running as root), except in CI, where
both must be present.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import factories
from tests.conftest import PROJECT_ROOT
from tests.processes import clean_env, free_port, run, started, wait_for_http

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.postgres]

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "magic-link"
SECRET = "browser-Secret-pw-9"  # PostgreSQL trusts 127.0.0.1: any password connects
HEADING = "Connect your PostgreSQL warehouse"
GONE = "This link has already been used or has expired"
WAIT_MS = 30_000


def unavailable(message: str) -> None:
    """Skip, except in CI, which must be able to run this test."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def install_chromium() -> None:
    """``apt-get install chromium`` when it is missing and this process may install it."""
    apt = shutil.which("apt-get")
    if CHROMIUM.exists() or apt is None or os.geteuid() != 0:
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-qq", "chromium"]
    # One installer at a time (parallel test processes).
    with (Path(tempfile.gettempdir()) / "ferry-chromium-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return
        done = subprocess.run(install, env=env, capture_output=True, timeout=900, check=False)
        if done.returncode != 0:  # a fresh image has no package lists yet
            subprocess.run(
                [apt, "update", "-qq"], env=env, capture_output=True, timeout=600, check=False
            )
            subprocess.run(install, env=env, capture_output=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def chromium() -> Path:
    install_chromium()
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium to run the browser test")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("playwright is missing: pip install playwright (not `playwright install`)")
    return CHROMIUM


@pytest.fixture
def ferry(tmp_path: Path) -> Iterator[httpx.Client]:
    """A live ``ferry serve`` (embedded SQLite in a temp dir) and an API client with a key."""
    env = clean_env()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with started(["serve", "--port", str(port)], env, tmp_path, "serve") as server:
        wait_for_http(base, server)
        created = run(["keys", "create", "--org", "Acme Analytics"], env, tmp_path)
        assert created.returncode == 0, created.stderr
        headers = {"X-API-KEY": created.stdout.strip(), "X-Prequel-Api-Version": "2023-12-01"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            yield http


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]


def new_link(http: httpx.Client, key: str) -> dict[str, Any]:
    recipient = data(
        http.post(
            "/recipients", json={"recipient": {"name": key.title(), "id_in_provider_system": key}}
        )
    )["recipient"]
    body = {
        "magic_link": {"vendor": "postgres", "recipient_id": recipient["id"], "host": "127.0.0.1"}
    }
    link: dict[str, Any] = data(http.post("/magic-links", json=body))["magic_link"]
    return link


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_person_connects_postgres_through_the_magic_link(
    chromium: Path, ferry: httpx.Client, schema: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    for name in ("orders", "customers", "invoices"):
        data(ferry.post("/models", json=factories.unchecked_model(name)))
    link = new_link(ferry, "globex")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("*.png"):
        stale.unlink()
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(WAIT_MS)
            # A CSP violation or a script error shows up here (the used link's own 404 too).
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and m.location.get("url") != link["link"]
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(link["link"])
            expect(page.get_by_role("heading", level=1)).to_have_text(HEADING)
            expect(page.get_by_label("Destination type")).to_have_value("postgres")
            expect(page.get_by_label("Host", exact=True)).to_have_value("127.0.0.1")
            expect(page.get_by_role("button", name="Update form")).to_be_hidden()
            shot(page, "01-opened")

            page.get_by_label("Destination name").fill("Globex warehouse")
            page.get_by_label("Database", exact=True).fill("postgres")
            page.get_by_label("Schema", exact=True).fill(schema)
            page.get_by_label("Username", exact=True).fill("postgres")
            page.get_by_label("Password", exact=True).fill(SECRET)
            page.get_by_label("Sync frequency").select_option("60")
            # A switch reveals the fields it governs, and hides them again.
            tunnel = page.get_by_label("Connect through an SSH tunnel")
            tunnel.check()
            expect(page.get_by_label("SSH host")).to_be_visible()
            expect(page.get_by_label("SSH public key")).to_have_value(re.compile(r"^ssh-rsa "))
            shot(page, "02-ssh-tunnel-shown")
            tunnel.uncheck()
            expect(page.get_by_label("SSH host")).to_be_hidden()
            page.get_by_label("Disable SSL").check()
            shot(page, "03-filled")

            page.get_by_role("button", name="Test connection").click()
            result = page.locator("#test-result")
            expect(result).to_contain_text("Connection successful")
            expect(result).to_have_class(re.compile(r"\bresult-success\b"))
            assert page.url == link["link"]  # tested in place, nothing reloaded
            expect(page.get_by_label("Password", exact=True)).to_have_value(SECRET)
            shot(page, "04-tested")

            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Your PostgreSQL warehouse is connected"
            )
            assert SECRET not in page.content()
            shot(page, "05-saved")

            page.goto(link["link"])
            expect(page.get_by_role("heading", level=1)).to_have_text(GONE)
            shot(page, "06-used-link")

            phone(browser, new_link(ferry, "initech"))
            without_script(browser, new_link(ferry, "umbrella"))
        finally:
            browser.close()
    assert problems == []

    destinations = data(ferry.get("/destinations"))["destinations"]
    (destination,) = [d for d in destinations if d["postgres"]["schema"] == schema]
    assert destination["recipient_id"] == link["recipient_id"]
    assert destination["name"] == "Globex warehouse"
    assert destination["frequency_minutes"] == 60
    assert destination["postgres"]["host"] == "127.0.0.1"
    assert destination["postgres"]["disable_ssl"] is True
    assert destination["postgres"]["password_auth"] == {"username": "postgres"}
    assert data(ferry.get(f"/magic-links/{link['id']}"))["magic_link"]["has_been_used"] is True


def phone(browser: Any, link: dict[str, Any]) -> None:
    """The form on a phone-sized screen: one column, nothing cut off."""
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(link["link"])
    expect(page.get_by_role("heading", level=1)).to_have_text(HEADING)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
    shot(page, "07-phone")
    context.close()


def without_script(browser: Any, link: dict[str, Any]) -> None:
    """With scripts off, "Update form" shows what a choice reveals and the test reloads."""
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(link["link"])
    expect(page.get_by_role("button", name="Update form")).to_be_visible()
    # The server checks the form: each problem shows under its field.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Some details need attention")
    expect(page.locator("#f-schema-error")).to_have_text("Schema must not be empty.")
    expect(page.get_by_label("Schema", exact=True)).to_have_attribute("aria-invalid", "true")
    shot(page, "08-no-script-field-errors")
    expect(page.get_by_label("SSH host")).to_be_hidden()
    page.get_by_label("Connect through an SSH tunnel").check()
    page.get_by_role("button", name="Update form").click()
    expect(page.get_by_label("SSH host")).to_be_visible()
    page.get_by_label("Connect through an SSH tunnel").uncheck()
    page.get_by_label("Database", exact=True).fill("postgres")
    page.get_by_label("Schema", exact=True).fill("not_created_by_this_test")
    page.get_by_label("Username", exact=True).fill("postgres")
    page.get_by_label("Password", exact=True).fill(SECRET)
    page.get_by_label("Port", exact=True).fill(str(free_port()))
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_have_class(re.compile(r"\bresult-error\b"))
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert SECRET not in page.content()
    shot(page, "09-no-script-failed-test")
    context.close()
