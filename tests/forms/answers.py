"""A user filling in the SDK's form, as an app built like Prequel's react-example would let them.

The app keeps the answers in the SDK's flat destination, re-renders the form after each answer
(a choice may reveal fields) and submits ``prepareDestinationWithForm``'s result. Like the
example app it stores what an ``<input>`` or ``<select>`` holds: text (``target.value``), and a
boolean for a switch. Unlike it, it copies a field's ``const`` (the generated public key) into
the answers, which is what gets that key into the destination.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tests.forms import sdk
from tests.forms.sdk import UNDEFINED

SERVICE_ACCOUNT_KEY = {
    "type": "service_account",
    "project_id": "my-project",
    "private_key_id": "0123456789abcdef",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    "client_email": "writer@my-project.iam.gserviceaccount.com",
    "client_id": "1234567890",
    "token_uri": "https://oauth2.googleapis.com/token",
}
FEDERATION = {
    "type": "external_account",
    "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/aws",
    "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
    "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/w@p.iam.gserviceaccount.com:generateAccessToken",
    "token_url": "https://sts.googleapis.com/v1/token",
    "credential_source": {
        "environment_id": "aws1",
        "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
        "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials",
        "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    },
}
# What a user types, by field name (and by vendor where the name means something else).
SAMPLES = {
    "name": "Warehouse",
    "host": "db.example.com",
    "port": "5432",
    "database": "analytics",
    "schema": "reporting",
    "connection_database": "analytics",
    "write_database": "reporting",
    "authentication_database": "admin",
    "catalog": "main",
    "http_path": "/sql/1.0/warehouses/abc123",
    "cluster": "main_cluster",
    "workgroup": "primary",
    "project_id": "my-project",
    "path": "warehouse.db",
    "folder": "exports",
    "bucket_name": "my-bucket",
    "bucket_region": "us-east-1",
    "container_name": "exports",
    "storage_account_name": "mystorageaccount",
    "username": "writer",
    "password": "form-Secret-pw-1",
    "aws_iam_role_arn": "arn:aws:iam::123456789012:role/writer",
    "access_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_key": "form-Secret-key-2",
    "access_key": "GOOG1EXAMPLE",
    "secret": "form-Secret-hmac-3",
    "service_account_email": "writer@my-project.iam.gserviceaccount.com",
    "service_account_key": json.dumps(SERVICE_ACCOUNT_KEY),
    "workload_identity_federation_metadata": json.dumps(FEDERATION),
    "shared_access_signature_token": "sv=2022-11-02&ss=b&sig=form-Secret-sas-4",
    "access_token": "form-Secret-token-5",
    "wallet": "form-Secret-wallet-6",
    "ssh_tunnel_host": "bastion.example.com",
    "ssh_tunnel_port": "2222",
    "ssh_tunnel_username": "tunnel",
    "connection_timeout_in_seconds": "30",
}
VENDOR_SAMPLES = {("google_sheets", "host"): "https://docs.google.com/spreadsheets/d/abc123"}


@dataclass
class FormUser:
    """One user of the form: the SDK's state (tree, answers, key pair) and their choices."""

    client: TestClient
    data: dict[str, Any]
    answers: dict[str, Any]
    # Values to pick for choice fields, by name (the first option otherwise).
    choices: dict[str, Any] = field(default_factory=dict)
    fill_optional: bool = False
    include_internal: bool = False
    renders: int = 0

    def __post_init__(self) -> None:
        self.keys = sdk.KeyEffect(self._generate)

    def _generate(self) -> dict[str, Any]:
        response = self.client.post("/actions/generate-ssh-key")  # no credentials, as the SDK
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def render(self) -> list[dict[str, Any]]:
        self.keys.run(self.answers)
        form = sdk.build_form(self.data, self.answers, self.include_internal, self.keys.keys)
        assert form is not UNDEFINED
        self.renders += 1
        names = [f["name"] for f in fields_of(form)]
        # One flat object holds every answer: two fields shown at once must not share a name.
        assert len(names) == len(set(names)), names
        result: list[dict[str, Any]] = form
        return result

    def fill(self) -> list[dict[str, Any]]:
        """Answer until the form shows nothing more to answer; the final form."""
        for _ in range(100):
            form = self.render()
            for f in fields_of(form):
                value = self.answer(f)
                if value is not UNDEFINED and not sdk.strict_equal(
                    self.answers.get(f["name"], UNDEFINED), value
                ):
                    self.answers[f["name"]] = value
                    break
            else:
                return form
        raise AssertionError("the form never settled")

    def answer(self, f: dict[str, Any]) -> Any:
        """What the user enters in a field (UNDEFINED: they leave it as it is)."""
        name, current = f["name"], self.answers.get(f["name"], UNDEFINED)
        wanted = f["required"] or self.fill_optional
        if name == "vendor":
            return UNDEFINED
        if sdk.truthy(f["const"]):
            return f["const"]
        if f["type"] == "boolean":
            return self.choices.get(name, UNDEFINED)
        if f["form_element"] in ("select", "radio"):
            keys = [sdk.js_string(option["key"]) for option in f["enum"]]
            if name in self.choices:
                return sdk.js_string(self.choices[name])
            if sdk.js_string(current) in keys or not wanted:
                return UNDEFINED
            return keys[0]
        if sdk.truthy(current) or not wanted:
            return UNDEFINED
        vendor = self.answers["vendor"]
        return VENDOR_SAMPLES.get((vendor, name), SAMPLES.get(name, f"{name}-value"))


def fields_of(form: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for section in form:
        yield from section["fields"]


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"] or ():
        yield from walk(child)


def vendor_subtree(data: dict[str, Any], vendor: str) -> list[dict[str, Any]]:
    return [n for n in data["form"]["children"] if n["parent"] == vendor]


def choice_runs(data: dict[str, Any], vendor: str) -> list[dict[str, Any]]:
    """One run with every choice at its first option (booleans as the SDK starts them), then
    one per other option of each choice."""
    runs: list[dict[str, Any]] = [{}]
    for top in vendor_subtree(data, vendor):
        for node in walk(top):
            if node["name"] in ("frequency_minutes", "is_enabled") or "enum" not in node:
                continue
            options = [option["key"] for option in node["enum"]]
            runs += [
                {node["name"]: key}
                for key in (options if node["type"] == "boolean" else options[1:])
            ]
    return runs
