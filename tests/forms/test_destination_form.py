"""The form and the vendor models agree: whatever a user answers in the SDK's form, the SDK's
own path derivation (ported in ``tests.forms.sdk``) makes a destination the API accepts and
stores as sent, for every vendor and every option of every choice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ferry import forms
from ferry.connectors import registry
from ferry.services.destinations import FREQUENCIES
from tests import factories
from tests.conftest import Api
from tests.forms import sdk
from tests.forms.answers import FormUser, choice_runs, fields_of, vendor_subtree, walk
from tests.forms.sdk import UNDEFINED

VERSION = {"X-Prequel-Api-Version": "2023-12-01"}
VENDORS = sorted(registry.destinations())
FORM = forms.destination_form()
RUNS = [
    pytest.param(
        vendor,
        choices,
        id=f"{vendor}-" + ("-".join(f"{k}={v}" for k, v in choices.items()) or "first"),
    )
    for vendor in VENDORS
    for choices in choice_runs(FORM, vendor)
]


def fetch_form(client: TestClient, **params: str) -> dict[str, Any]:
    """GET the form as useDestinationForm does: the version header, nothing else."""
    response = client.get("/public/forms/destination-vendors", params=params, headers=VERSION)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def picked(vendor: str, recipient_id: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The app's destination once the vendor is picked, with the SDK's defaults for it."""
    answers = {
        "enabled_models": ["*"],
        "frequency_minutes": 0,
        "is_enabled": True,
        "use_ssh_tunnel": False,
        "disable_ssl": False,
    }
    answers |= start or {}
    answers |= {
        "vendor": vendor,
        "recipient_id": recipient_id,
        "auth_method": sdk.get_default_auth_method(vendor),
        "bucket_vendor": sdk.get_default_bucket_vendor(vendor),
        "metastore": sdk.get_default_metastore(vendor),
    }
    return {k: v for k, v in answers.items() if v is not UNDEFINED}


def submit(api: Api, user: FormUser) -> Any:
    """Fill the form, prepare the destination and create it as useCreateDestination does."""
    form = user.fill()
    prepared = sdk.prepare_destination_with_form(user.answers, form)
    body = sdk.create_destination_body(prepared)
    return body, api.call("POST", "/destinations", json=body, headers=VERSION)


def leaves(
    value: dict[str, Any], secrets: set[tuple[str, ...]], at: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, item in value.items():
        here = (*at, key)
        if isinstance(item, dict) and here not in secrets:
            yield from leaves(item, secrets, here)
        else:
            yield here, item


def lookup(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize("fill_optional", [False, True], ids=["required", "everything"])
@pytest.mark.parametrize(("vendor", "choices"), RUNS)
def test_form_answers_make_the_destination_the_api_validates(
    client: TestClient, api: Api, vendor: str, choices: dict[str, Any], fill_optional: bool
) -> None:
    recipient = api.ok("POST", "/recipients", json=factories.recipient())["recipient"]
    user = FormUser(
        client,
        fetch_form(client, org_id="00000000-0000-0000-0000-000000000001"),
        picked(vendor, recipient["id"]),
        choices,
        fill_optional=fill_optional,
        include_internal=fill_optional,
    )
    body, response = submit(api, user)
    assert response.status_code == 200, (body, response.text)
    sent = body["destination"][vendor]
    stored = response.json()["data"]["destination"]
    assert stored["vendor"] == vendor
    assert stored["name"] == "Warehouse"
    assert stored["recipient_id"] == recipient["id"]
    secrets = set(registry.destination_class(vendor).config_model.secret_paths())
    for path, value in leaves(sent, secrets):
        if path in secrets:
            assert lookup(stored[vendor], path) is None, path
        else:
            assert lookup(stored[vendor], path) == value, path
    for name, value in choices.items():
        assert sdk.strict_equal(
            user.answers[name], value if isinstance(value, bool) else str(value)
        )


def test_frequency_answers_reach_the_destination(client: TestClient, api: Api) -> None:
    recipient = api.ok("POST", "/recipients", json=factories.recipient())["recipient"]
    for minutes in forms.FREQUENCIES:
        # A <select> holds text; the API reads it as the integer it spells.
        user = FormUser(
            client,
            fetch_form(client, vendor="mock"),
            picked("mock", recipient["id"]),
            {"frequency_minutes": minutes},
        )
        _, response = submit(api, user)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["destination"]["frequency_minutes"] == minutes


def test_the_tree_is_what_the_sdk_renders() -> None:
    """Every node has a form element, a known section, human text; options have displays."""
    section_ids = {s["id"] for s in FORM["sections"]}
    for node in walk(FORM["form"]):
        attributes = node["attributes"]
        assert attributes["form_element"] in ("select", "input", "radio", "textarea"), node
        assert attributes["section_id"] in section_ids, node
        assert node["type"] in ("string", "number", "boolean", "json"), node
        assert node["name"] in forms.TEXTS, node["name"]
        assert attributes["label"], node
        assert "_" not in attributes["label"], attributes["label"]
        assert attributes["description"], node
        if attributes["form_element"] in ("select", "radio"):
            assert node["enum"], node
            for option in node["enum"]:
                assert option["display"], option
                if isinstance(option["key"], str) and node["name"] != "vendor":
                    assert option["key"] in forms.OPTIONS, option
        if node["name"] in ("ssh_public_key", "public_key"):
            assert attributes["key_format"] == "ssh_rsa"
    assert tuple(forms.FREQUENCIES) == FREQUENCIES


def test_before_a_vendor_is_picked_only_the_vendor_pick_shows() -> None:
    form = sdk.build_form(FORM, {}, False, None)
    assert [f["name"] for f in fields_of(form)] == ["vendor"]
    vendor = next(fields_of(form))
    assert vendor["form_element"] == "select"
    assert [o["key"] for o in vendor["enum"]] == [
        c.vendor
        for c in sorted(registry.destinations().values(), key=lambda c: c.display_name.lower())
    ]


@pytest.mark.parametrize("vendor", VENDORS)
def test_one_vendors_form_is_its_part_of_the_whole(vendor: str) -> None:
    alone = forms.destination_form(vendor)
    assert alone["form"]["children"] == vendor_subtree(FORM, vendor)
    assert [o["key"] for o in alone["form"]["enum"]] == [vendor]
    shown = {n["attributes"]["section_id"] for n in walk(alone["form"])}
    assert {s["id"] for s in alone["sections"]} == shown


# getDefaultDestination starts text fields at "", and the SDK sends an untouched optional input
# as "": every vendor must take that as "not given".


@pytest.mark.parametrize(
    "vendor",
    VENDORS,
)
def test_untouched_optional_inputs_of_the_sdk_default_destination(
    client: TestClient, api: Api, vendor: str
) -> None:
    recipient = api.ok("POST", "/recipients", json=factories.recipient())["recipient"]
    start = picked(vendor, recipient["id"], sdk.get_default_destination())
    user = FormUser(client, fetch_form(client), start)
    body, response = submit(api, user)
    assert response.status_code == 200, (body, response.text)
