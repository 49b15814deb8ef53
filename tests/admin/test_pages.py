"""The Admin UI's pages through the ASGI app: the quickstart done with its forms, inline
validation errors, secrets that never come back, transfers started, followed and cancelled."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ferry import transfer
from ferry.db.engine import session_scope
from ferry.db.models import Source
from ferry.services import sources
from ferry.settings import Settings
from tests.admin.conftest import ACME_ORDERS, Browser, Database, model_config
from tests.conftest import Tenant

pytestmark = [pytest.mark.postgres]

SECRET = "admin-Secret-pw-3"  # PostgreSQL trusts 127.0.0.1: any password connects
ID = re.compile(r"/admin/\w+/([0-9a-f-]{36})")


def pg_fields(database: str, name: str, **extra: str) -> dict[str, str]:
    return {
        "vendor": "postgres",
        "name": name,
        "host": "127.0.0.1",
        "port": "5432",
        "database": database,
        "auth_method": "password_auth",
        "username": "postgres",
        "password": SECRET,
        "use_ssh_tunnel": "false",
        "disable_ssl": "true",
    } | extra


def id_in(response: httpx.Response) -> str:
    found = ID.search(str(response.url))
    assert found, response.url
    return found.group(1)


def add_source(browser: Browser, source_db: Database, name: str = "app") -> str:
    added = browser.submit(
        "/admin/sources/new",
        "/admin/sources/new",
        pg_fields(source_db.name, name) | {"action": "save"},
    )
    assert added.status_code == 200, added.text[-2000:]
    assert "Source added." in added.text
    return id_in(added)


def add_model(browser: Browser, config: dict[str, Any]) -> str:
    added = browser.submit(
        "/admin/models/new", "/admin/models/new", {"config": json.dumps({"model": config})}
    )
    assert added.status_code == 200, added.text[-2000:]
    assert "Model added." in added.text
    return id_in(added)


def add_recipient(browser: Browser, key: str) -> str:
    added = browser.submit(
        "/admin/recipients/new",
        "/admin/recipients/new",
        {"id_in_provider_system": key, "name": key.title(), "products": "default"},
    )
    assert added.status_code == 200, added.text[-2000:]
    return id_in(added)


def add_destination(browser: Browser, recipient_id: str, dest_db: Database, schema: str) -> str:
    page = f"/admin/destinations/new?recipient_id={recipient_id}"
    fields = pg_fields(dest_db.name, "Acme warehouse", schema=schema)
    fields |= {"recipient_id": recipient_id, "frequency_minutes": "0", "is_enabled": "true"}
    added = browser.submit(page, "/admin/destinations/new", fields | {"action": "save"})
    assert added.status_code == 200, added.text[-2000:]
    assert "Destination added." in added.text
    return id_in(added)


def run_pending(app: Any, settings: Settings, transfer_id: str) -> None:
    """What a worker does with the job the page queued."""
    transfer.run(
        app.state.sessionmaker, uuid.UUID(transfer_id), worker="test-worker", settings=settings
    )


def test_the_quickstart_through_the_forms(
    signed_in: Browser, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    tested = signed_in.submit(
        "/admin/sources/new",
        "/admin/sources/new",
        pg_fields(source_db.name, "app") | {"action": "test"},
    )
    assert "Connection successful" in tested.text
    assert SECRET not in tested.text
    source_id = add_source(signed_in, source_db)
    page = signed_in.submit(f"/admin/sources/{source_id}", f"/admin/sources/{source_id}/test")
    assert "Connection successful" in page.text
    assert "Reachable" in signed_in.get("/admin/sources").text

    model_id = add_model(signed_in, model_config())
    validated = signed_in.submit(f"/admin/models/{model_id}", f"/admin/models/{model_id}/validate")
    assert "The model is valid" in validated.text
    products = signed_in.get("/admin/products")
    assert "default" in products.text
    product_id = re.search(r'/admin/products/([0-9a-f-]{36})">default<', products.text)
    assert product_id
    product = signed_in.submit(
        f"/admin/products/{product_id.group(1)}", f"/admin/products/{product_id.group(1)}/validate"
    )
    assert "The product is valid" in product.text
    assert "It holds: orders." in product.text

    recipient_id = add_recipient(signed_in, "acme")
    destination_id = add_destination(signed_in, recipient_id, dest_db, "acme_data")
    path = f"/admin/destinations/{destination_id}"
    assert "Connection successful" in signed_in.submit(path, f"{path}/test").text

    started = signed_in.submit(path, f"{path}/transfer", {})
    assert "Transfer started." in started.text
    transfer_id = id_in(started)
    assert "Cancel transfer" in started.text
    assert "data-live" in started.text
    run_pending(app, settings, transfer_id)
    live = signed_in.get(
        f"/admin/transfers/{transfer_id}/live", headers={"Accept": "application/json"}
    ).json()["data"]
    assert live["status"] == "SUCCESS"
    assert live["is_active"] is False
    assert f">{ACME_ORDERS}<" in live["html"]
    done = signed_in.get(f"/admin/transfers/{transfer_id}").text
    assert "Succeeded" in done
    assert "model orders:" in done  # the log
    assert "Cancel transfer" not in done
    rows = dest_db.rows("SELECT id, title FROM acme_data.orders ORDER BY id")
    assert len(rows) == ACME_ORDERS
    assert rows[0] == {"id": 1, "title": "order <1>"}

    listing = signed_in.get("/admin/transfers").text
    assert "Rows transferred per day" in listing
    assert f"Acme warehouse, {datetime.now(UTC).date().isoformat()}: {ACME_ORDERS} rows" in listing
    assert '<rect class="chart-bar"' in signed_in.get(path).text
    for page_path in (
        "/admin",
        "/admin/sources",
        f"/admin/sources/{source_id}",
        f"/admin/sources/{source_id}/edit",
        "/admin/models",
        f"/admin/models/{model_id}",
        "/admin/models/orders",
        "/admin/recipients",
        f"/admin/recipients/{recipient_id}",
        "/admin/destinations",
        path,
        f"{path}/edit",
        f"/admin/transfers?destination_id={destination_id}&status=SUCCESS",
        f"/admin/transfers/{transfer_id}",
    ):
        response = signed_in.get(page_path)
        assert response.status_code == 200, page_path
        assert SECRET not in response.text, page_path
        assert response.headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_chosen_models_and_a_cancel(
    signed_in: Browser, source_db: Database, dest_db: Database, app: Any, settings: Settings
) -> None:
    add_source(signed_in, source_db)
    add_model(signed_in, model_config())
    add_model(signed_in, model_config("invoices", "total"))
    destination_id = add_destination(
        signed_in, add_recipient(signed_in, "acme"), dest_db, "acme_chosen"
    )
    path = f"/admin/destinations/{destination_id}"
    refused = signed_in.submit(path, f"{path}/transfer", {"models": "nope"})
    assert refused.status_code == 400
    assert "The transfer was not started" in refused.text
    assert "&#39;nope&#39; is not a model this destination receives" in refused.text

    started = signed_in.submit(path, f"{path}/transfer", {"models": "invoices"})
    transfer_id = id_in(started)
    again = signed_in.submit(path, f"{path}/transfer", {})
    assert "already in progress" in again.text
    assert id_in(again) == transfer_id
    run_pending(app, settings, transfer_id)
    page = signed_in.get(f"/admin/transfers/{transfer_id}").text
    assert "Succeeded" in page
    assert "(invoices)" in signed_in.get("/admin/transfers").text
    assert dest_db.rows("SELECT count(*) AS n FROM acme_chosen.invoices") == [{"n": 4}]
    tables = dest_db.rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'acme_chosen' "
        "AND table_name = 'orders'"
    )
    assert tables == []

    pending = id_in(signed_in.submit(path, f"{path}/transfer", {"full_refresh": "true"}))
    cancelled = signed_in.submit(
        f"/admin/transfers/{pending}", f"/admin/transfers/{pending}/cancel"
    )
    assert "Transfer cancelled." in cancelled.text
    assert "Cancelled" in cancelled.text
    assert "cancelled before it started" in cancelled.text
    # Cancelling an ended transfer shows it as it ended.
    again = signed_in.submit(f"/admin/transfers/{pending}", f"/admin/transfers/{pending}/cancel")
    assert again.status_code == 200


def test_secrets_never_come_back(
    signed_in: Browser, source_db: Database, dest_db: Database, tenant: Tenant, sessions: Any
) -> None:
    source_id = add_source(signed_in, source_db)
    edit = signed_in.get(f"/admin/sources/{source_id}/edit").text
    assert SECRET not in edit
    password = re.search(r'<input[^>]*name="password"[^>]*>', edit)
    assert password
    assert "value=" not in password.group(0)
    assert "Leave blank to keep the saved value." in edit
    saved = signed_in.submit(
        f"/admin/sources/{source_id}/edit",
        f"/admin/sources/{source_id}/edit",
        pg_fields(source_db.name, "app renamed", password="") | {"action": "save"},
    )
    assert "Source saved." in saved.text
    source = tenant.staging.ok("GET", f"/sources/{source_id}")["source"]
    assert source["name"] == "app renamed"
    assert SECRET not in json.dumps(source)
    with session_scope(sessions) as session:  # the blank password kept the saved one
        stored = sources.config_of(session, session.get_one(Source, uuid.UUID(source_id)))
        assert stored.reveal()["password_auth"]["password"] == SECRET
    tested = signed_in.submit(
        f"/admin/sources/{source_id}/edit",
        f"/admin/sources/{source_id}/edit/test",
        pg_fields(source_db.name, "app renamed", password=""),
        headers={"Accept": "application/json"},
    )
    assert tested.json()["data"]["status"] == "success"

    destination_id = add_destination(signed_in, add_recipient(signed_in, "acme"), dest_db, "s1")
    edit = signed_in.get(f"/admin/destinations/{destination_id}/edit").text
    assert SECRET not in edit
    assert "Leave blank to keep the saved value." in edit
    fields = pg_fields(dest_db.name, "Renamed warehouse", schema="s1", password="")
    fields |= {"frequency_minutes": "60", "is_enabled": "false", "action": "save"}
    saved = signed_in.submit(
        f"/admin/destinations/{destination_id}/edit",
        f"/admin/destinations/{destination_id}/edit",
        fields,
    )
    assert "Destination saved." in saved.text
    assert "Every hour" in saved.text
    assert "Disabled" in saved.text
    assert SECRET not in saved.text
    assert (
        "Connection successful"
        in signed_in.submit(
            f"/admin/destinations/{destination_id}", f"/admin/destinations/{destination_id}/test"
        ).text
    )
    enabled = signed_in.submit(
        f"/admin/destinations/{destination_id}",
        f"/admin/destinations/{destination_id}/enabled",
        {"is_enabled": "true"},
    )
    assert "Destination enabled" in enabled.text
    destination = tenant.staging.ok("GET", f"/destinations/{destination_id}")["destination"]
    assert destination["is_enabled"] is True
    assert destination["name"] == "Renamed warehouse"


def test_invalid_input_is_shown_on_the_form(signed_in: Browser, source_db: Database) -> None:
    missing_host = signed_in.submit(
        "/admin/sources/new",
        "/admin/sources/new",
        pg_fields(source_db.name, "app", host="", port="not-a-port") | {"action": "save"},
    )
    assert missing_host.status_code == 400
    assert "Some details need attention" in missing_host.text
    assert 'aria-invalid="true"' in missing_host.text
    assert SECRET not in missing_host.text
    add_source(signed_in, source_db)
    taken = signed_in.submit(
        "/admin/sources/new",
        "/admin/sources/new",
        pg_fields(source_db.name, "app") | {"action": "save"},
    )
    assert taken.status_code == 409
    assert "already exists" in taken.text

    broken = signed_in.submit("/admin/models/new", "/admin/models/new", {"config": "{oops"})
    assert broken.status_code == 400
    assert "The config is not valid JSON" in broken.text
    assert "{oops" in broken.text  # kept for fixing
    wrong = signed_in.submit(
        "/admin/models/new", "/admin/models/new", {"config": json.dumps({"model_name": "x"})}
    )
    assert wrong.status_code == 400
    assert "model." in wrong.text
    unreadable = model_config("missing_table")
    refused = signed_in.submit(
        "/admin/models/new", "/admin/models/new", {"config": json.dumps(unreadable)}
    )
    assert refused.status_code >= 400
    assert "missing_table" in refused.text

    add_recipient(signed_in, "acme")
    duplicate = signed_in.submit(
        "/admin/recipients/new", "/admin/recipients/new", {"id_in_provider_system": "acme"}
    )
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.text
    script = signed_in.submit(
        "/admin/recipients/new",
        "/admin/recipients/new",
        {"id_in_provider_system": "<script>alert(1)</script>", "products": "no-such-product"},
    )
    assert script.status_code == 400
    assert "<script>alert(1)</script>" not in script.text
    assert "&lt;script&gt;" in script.text


def test_a_destination_needs_a_recipient_first(signed_in: Browser) -> None:
    page = signed_in.get("/admin/destinations/new")
    assert page.status_code == 200
    assert "Add a recipient" in page.text
