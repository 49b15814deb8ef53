"""A Python port of what ``@prequel/react`` 1.1.0 does with the destination form.

Each function names the code it mirrors in the package's ``dist/`` (minified names in quotes):

- ``hooks/useDestinationForm/index.js``: ``TOP_LEVEL_DESTINATION_FIELDS``,
  ``BUCKET_AUTH_FIELD_PARENT``, the effect that calls ``/actions/generate-ssh-key``, and the
  ``useMemo`` that turns the fetched tree into sections of fields (``m``: visible nodes and
  their paths, ``p``: a node as a field, ``b``: de-duplicated path segments);
- ``prepare/index.js``: ``prepareDestinationWithForm`` (``r``), the fields it walks (``t``)
  and how it parses values (``n``, ``parseServiceAccountKey``, ``parseGcpIamRoleMetadata``);
- ``hooks/useCreateDestination/index.js``: the ``type`` key dropped before sending;
- ``types/destination.js``: ``getDefaultDestination`` and the ``getDefault*`` helpers.

JavaScript's ``undefined`` is ``UNDEFINED``; ``to_json`` drops it as ``JSON.stringify`` does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()
NAN = math.nan

TOP_LEVEL_DESTINATION_FIELDS = [
    "vendor",
    "name",
    "recipient_id",
    "enabled_models",
    "frequency_minutes",
    "is_enabled",
]
BUCKET_AUTH_FIELD_PARENT = {
    "access_id": "aws_access_keys",
    "secret_key": "aws_access_keys",
    "secret": "gcs_hmac_keys",
    "access_key": "gcs_hmac_keys",
}
PREPARED_DESTINATION = 1  # DestinationType.PreparedDestination


# --- JavaScript semantics -----------------------------------------------------------------


def truthy(value: Any) -> bool:
    if value is UNDEFINED or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    return True  # objects and arrays, even empty ones


def strict_equal(a: Any, b: Any) -> bool:
    """``a === b``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is b


def js_string(value: Any) -> str:
    """``String(value)`` for the values a form holds."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_int(value: Any) -> float | int:
    """``parseInt(value)``: a leading integer (decimal, or hex after 0x), else NaN."""
    text = js_string(value).lstrip()
    hexa = re.match(r"([+-]?)0[xX]([0-9a-fA-F]+)", text)
    if hexa:
        return int(hexa.group(1) + hexa.group(2), 16)
    decimal = re.match(r"[+-]?\d+", text)
    return int(decimal.group(0)) if decimal else NAN


def json_parse_or_undefined(value: Any) -> Any:
    """``parseServiceAccountKey`` / ``parseGcpIamRoleMetadata``: JSON.parse, undefined on error."""
    if not truthy(value):
        return UNDEFINED

    def no_constants(name: str) -> Any:
        raise ValueError(name)  # JSON.parse knows no NaN or Infinity

    try:
        return json.loads(js_string(value), parse_constant=no_constants)
    except ValueError:
        return UNDEFINED


def to_json(value: Any) -> Any:
    """What ``JSON.stringify`` keeps: undefined properties dropped, NaN as null."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [None if v is UNDEFINED else to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- types/destination.js -------------------------------------------------------------------

_DEFAULT_AUTH_METHODS = {
    "abs": "azure_service_shared_access_signature",
    "athena": "aws_iam_role",
    "aurora_mysql": "password_auth",
    "aurora_postgres": "password_auth",
    "bigquery": "gcp_service_account_role",
    "clickhouse": "password_auth",
    "databricks": "access_token_auth",
    "gcs": "gcp_service_account_role",
    "google_sheets": "password_auth",
    "mock": "password_auth",
    "mongodb": "aws_iam_role",
    "mysql": "password_auth",
    "oracle": "password_auth",
    "planetscale": "password_auth",
    "postgres": "password_auth",
    "redshift": "aws_iam_role",
    "redshift_serverless": "aws_iam_role",
    "sftp": "public_key_auth",
    "singlestore": "password_auth",
    "snowflake": "password_auth",
    "sql_server": "password_auth",
    "s3": "aws_iam_role",
    "s3_compatible": "access_keys",
}
_DEFAULT_BUCKET_VENDORS = {
    "bigquery": "bucket_gcs",
    "athena": "bucket_s3",
    "clickhouse": "bucket_s3",
    "databricks": "bucket_s3",
    "redshift": "bucket_s3",
    "redshift_serverless": "bucket_s3",
}


def get_default_auth_method(vendor: str) -> str:
    return _DEFAULT_AUTH_METHODS.get(vendor, "password_auth")


def get_default_bucket_vendor(vendor: str) -> Any:
    return _DEFAULT_BUCKET_VENDORS.get(vendor, UNDEFINED)


def get_default_metastore(vendor: str) -> Any:
    return "hive" if vendor == "databricks" else UNDEFINED


def get_default_destination() -> dict[str, Any]:
    return {
        "type": 0,
        "vendor": "snowflake",
        "auth_method": "password_auth",
        "bucket_auth_method": "aws_access_keys",
        "name": "",
        "schema": "",
        "host": "",
        "port": "",
        "database": "",
        "username": "",
        "user": "",
        "password": UNDEFINED,
        "cluster": "",
        "aws_iam_role_arn": "",
        "service_account_email": "",
        "file_format": "csv",
        "metastore": UNDEFINED,
        "id_in_provider_system": "",
        "recipient_id": "",
        "bucket_name": "",
        "bucket_vendor": UNDEFINED,
        "bucket_region": "",
        "access_id": "",
        "enabled_models": [],
        "products": [],
        "use_ssh_tunnel": False,
        "ssh_tunnel_host": "",
        "ssh_tunnel_port": "",
        "ssh_tunnel_username": "",
        "frequency_minutes": 0,
        "ssh_public_key": "",
        "is_enabled": True,
        "service_account_key": UNDEFINED,
        "workload_identity_federation_metadata": "",
        "access_key": "",
        "secret_key": UNDEFINED,
        "access_token": UNDEFINED,
        "disable_ssl": False,
        "authentication_database": "",
        "catalog": "",
        "connection_database": "",
        "container_name": "",
        "delimiter": "",
        "folder": "",
        "http_path": "",
        "project_id": "",
        "public_key": "",
        "secret": UNDEFINED,
        "service_account": "",
        "shared_access_signature_token": "",
        "storage_account_name": "",
        "wallet": "",
        "workgroup": "",
        "write_database": "",
    }


# --- hooks/useDestinationForm/index.js ------------------------------------------------------


class KeyEffect:
    """The hook's effect on ``[use_ssh_tunnel, auth_method]`` that fetches a key pair.

    ``keys`` starts undefined; the form is built only once it is null or a pair.
    """

    def __init__(self, generate: Callable[[], dict[str, Any]]) -> None:
        self.generate = generate
        self.keys: Any = UNDEFINED
        self._deps: tuple[Any, Any] | None = None

    def run(self, d: dict[str, Any]) -> None:
        deps = (d.get("use_ssh_tunnel", UNDEFINED), d.get("auth_method", UNDEFINED))
        if self._deps is not None and all(
            strict_equal(a, b) for a, b in zip(deps, self._deps, strict=True)
        ):
            return  # React runs an effect only when a dependency changed
        self._deps = deps
        ssh = truthy(d.get("use_ssh_tunnel", UNDEFINED))
        sftp = strict_equal("public_key_auth", d.get("auth_method", UNDEFINED))
        if not truthy(self.keys) and (
            (ssh and not truthy(d.get("ssh_public_key", UNDEFINED)))
            or (sftp and not truthy(d.get("public_key", UNDEFINED)))
        ):
            data = self.generate()
            self.keys = {"ssh_rsa": data["public_key"], "pkcs8": data["public_key_pkcs8"]}
        elif ssh or sftp or self.keys is not UNDEFINED:
            if (ssh and truthy(d.get("ssh_public_key", UNDEFINED))) or (
                sftp and truthy(d.get("public_key", UNDEFINED))
            ):
                ssh_key = d.get("ssh_public_key", UNDEFINED)
                pkcs8 = d.get("public_key", UNDEFINED)
                self.keys = {
                    "ssh_rsa": "" if ssh_key is UNDEFINED or ssh_key is None else ssh_key,
                    "pkcs8": "" if pkcs8 is UNDEFINED or pkcs8 is None else pkcs8,
                }
        else:
            self.keys = None


def build_form(
    data: Any, d: dict[str, Any], include_internal: bool, keys: Any
) -> list[dict[str, Any]] | Any:
    """The hook's useMemo: the sections with their visible fields (undefined until ready)."""
    if not (truthy(data) and truthy(data.get("form", UNDEFINED)) and keys is not UNDEFINED):
        return UNDEFINED
    fields = _visible([], data["form"], d, include_internal, keys)
    sections = [
        {**section, "fields": [f for f in fields if strict_equal(f["section_id"], section["id"])]}
        for section in data["sections"]
    ]
    return [s for s in sections if len(s["fields"]) > 0]


def _visible(
    e: list[str], t: dict[str, Any], s: dict[str, Any], n: bool, i: Any
) -> list[dict[str, Any]]:
    """``m``: the node's field and its shown children's, each with its path."""
    if not truthy(t) or (truthy(t["attributes"]["internal"]) and not n):
        return []
    if t["name"] in ("ssh_public_key", "public_key") and truthy(i):
        t["const"] = i.get(t["attributes"].get("key_format", UNDEFINED), UNDEFINED)
    if t["name"] not in TOP_LEVEL_DESTINATION_FIELDS:
        if t["parent"] is True:
            e = [*e, "ssh_tunnel"]
        elif t["parent"] is False:
            e = [*e, "ssl_options"]
        else:
            e = [*e, js_string(t["parent"])]
        if t["name"] in ("bucket_name", "bucket_region"):
            if "bigquery" in e:
                e = [*e, "bucket_gcs"]
            elif "redshift" in e or "redshift_serverless" in e or "athena" in e:
                e = [*e, "bucket_s3"]
        if ("clickhouse" in e or "databricks" in e) and t["name"] in BUCKET_AUTH_FIELD_PARENT:
            e = [*e, BUCKET_AUTH_FIELD_PARENT[t["name"]]]
    a = [*e, t["name"]]
    c = [_field(t, a)]
    for child in t["children"] or []:
        if strict_equal(s.get(t["name"], UNDEFINED), child["parent"]):
            c += _visible(e, child, s, n, i)
    return c


def _field(e: dict[str, Any], t: list[str]) -> dict[str, Any]:
    """``p``: a node as a form field."""
    attributes = e["attributes"]
    s = {
        "prepared_destination_path": ".".join(_unique(t)),
        "name": e["name"],
        "required": e["required"],
        "type": e["type"],
        "label": attributes["label"],
        "placeholder": attributes["placeholder"],
        "description": attributes["description"],
        "internal": attributes["internal"],
        "const": e.get("const", UNDEFINED),
        "section_id": attributes["section_id"],
        "input_type": attributes.get("input_type", UNDEFINED),
    }
    element = attributes["form_element"]
    if element == "input":
        return {**s, "form_element": "input", "input_type": attributes.get("input_type", UNDEFINED)}
    if element in ("textarea", "div"):
        return {**s, "form_element": element}
    if element in ("radio", "select"):
        return {**s, "form_element": element, "enum": e.get("enum", UNDEFINED)}
    # p() answers undefined, and the section filter's destructuring then throws.
    raise TypeError(f"Cannot destructure 'section_id' of undefined ({element!r})")


def _unique(parts: list[str]) -> list[str]:
    """``b``: the first occurrence of each path segment."""
    seen: set[str] = set()
    out = []
    for part in parts:
        if part not in seen:
            seen.add(part)
            out.append(part)
    return out


# --- prepare/index.js -----------------------------------------------------------------------


def prepare_destination_with_form(r: dict[str, Any], i: Any) -> dict[str, Any]:
    """``prepareDestinationWithForm``: the flat answers nested at their fields' paths."""
    is_enabled = r.get("is_enabled", UNDEFINED)
    a: dict[str, Any] = {
        "type": PREPARED_DESTINATION,
        "vendor": r.get("vendor", UNDEFINED),
        "name": r.get("name", UNDEFINED),
        "recipient_id": r.get("recipient_id", UNDEFINED),
        "enabled_models": r.get("enabled_models", UNDEFINED),
        "frequency_minutes": r.get("frequency_minutes", UNDEFINED),
        "is_enabled": True if is_enabled is None or is_enabled is UNDEFINED else is_enabled,
    }
    if not truthy(i):
        return a
    for field in _form_fields(i):
        parts = field["prepared_destination_path"].split(".")
        node = a
        for index, part in enumerate(parts):
            if index == len(parts) - 1:
                node[part] = _value(r, field["name"])
            else:
                if not truthy(node.get(part, UNDEFINED)):
                    node[part] = {}
                if not isinstance(node[part], dict):
                    raise TypeError(f"Cannot create property on {node[part]!r}")  # strict mode
                node = node[part]
    return a


def _form_fields(e: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``t``: every field of every section, but the informational ``service_account``."""
    return [f for section in e for f in section["fields"] if f["name"] != "service_account"]


def _value(e: dict[str, Any], r: str) -> Any:
    """``n``: the answer, parsed for the few fields the SDK knows to be JSON or integers."""
    if r in ("service_account_key", "workload_identity_federation_metadata"):
        return json_parse_or_undefined(e.get(r, UNDEFINED))
    if r in ("port", "ssh_tunnel_port", "connection_timeout_in_seconds"):
        value = e.get(r, UNDEFINED)
        return parse_int("0" if value is None or value is UNDEFINED else value)
    return e.get(r, UNDEFINED)


# --- hooks/useCreateDestination/index.js ----------------------------------------------------


def create_destination_body(prepared: dict[str, Any]) -> dict[str, Any]:
    """The request body ``useCreateDestination`` sends: ``type`` removed, JSON-serialized."""
    destination = dict(prepared)
    destination.pop("type", None)
    return {"destination": to_json(destination)}
