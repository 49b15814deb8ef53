"""The "add a destination" form that Prequel's React SDK renders (spec §7.4), derived from the
vendor config models so the form and the validation can never disagree.

The SDK (``@prequel/react`` 1.1.0, ``useDestinationForm``) keeps every answer in one flat object
keyed by field name and shows a node's children whose ``parent`` equals the node's current
value. ``prepareDestinationWithForm`` then writes each answer at a path made of the ``parent``
values of the node and its ancestors, then the node's name, with a few segments it adds itself:

- ``parent: true`` adds ``ssh_tunnel`` and ``parent: false`` adds ``ssl_options``;
- ``bucket_name``/``bucket_region`` get ``bucket_gcs`` (bigquery) or ``bucket_s3`` (redshift,
  redshift_serverless, athena);
- under clickhouse and databricks, ``access_id``/``secret_key`` get ``aws_access_keys`` and
  ``access_key``/``secret`` get ``gcs_hmac_keys``;
- ``vendor``, ``name``, ``recipient_id``, ``enabled_models``, ``frequency_minutes`` and
  ``is_enabled`` stay at the root.

So a sub-object is reachable only as the value of a choice (``auth_method: password_auth`` →
``password_auth``, ``file_format: csv`` → ``csv``) or through one of those added segments; an
optional sub-object that is neither (the ABS ``csv`` block) is left out of the form.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Secret, SecretStr
from pydantic.fields import FieldInfo

from ferry.connectors import registry
from ferry.connectors.base import DestinationConnector

# What the SDK does with a field's name (useDestinationForm and prepare/index.js).
TOP_LEVEL_FIELDS = (
    "vendor",
    "name",
    "recipient_id",
    "enabled_models",
    "frequency_minutes",
    "is_enabled",
)
SDK_BUCKET_PARENT = {
    "bigquery": "bucket_gcs",
    "redshift": "bucket_s3",
    "redshift_serverless": "bucket_s3",
    "athena": "bucket_s3",
}
SDK_BUCKET_FIELDS = frozenset({"bucket_name", "bucket_region"})
SDK_BUCKET_AUTH_VENDORS = frozenset({"clickhouse", "databricks"})
SDK_BUCKET_AUTH_PARENT = {
    "access_id": "aws_access_keys",
    "secret_key": "aws_access_keys",
    "access_key": "gcs_hmac_keys",
    "secret": "gcs_hmac_keys",
}
SDK_BOOLEAN_PARENT = {True: "ssh_tunnel", False: "ssl_options"}
# Parsed with parseInt, a blank answer becoming 0; other answers are sent as typed.
SDK_INTEGER_FIELDS = frozenset({"port", "ssh_tunnel_port", "connection_timeout_in_seconds"})
SDK_JSON_FIELDS = frozenset({"service_account_key", "workload_identity_federation_metadata"})
# Fields whose value the SDK fills with the generated public key (its ``const``).
SDK_KEY_FIELDS = frozenset({"ssh_public_key", "public_key"})


class Section(IntEnum):
    """The form's sections; the SDK shows them in this order."""

    DESTINATION = 1
    CONNECTION = 2
    AUTHENTICATION = 3
    SSH_TUNNEL = 4
    STAGING = 5
    SCHEDULE = 6


SECTIONS = {
    Section.DESTINATION: ("Destination", "Where the data is delivered."),
    Section.CONNECTION: ("Connection", "How to reach it."),
    Section.AUTHENTICATION: ("Authentication", "How to sign in."),
    Section.SSH_TUNNEL: ("SSH tunnel", "For servers reachable only through a bastion host."),
    Section.STAGING: ("Staging bucket", "Where files are staged before they are loaded."),
    Section.SCHEDULE: ("Schedule", "When data is delivered."),
}
# A choice field and everything it reveals go to one section.
CHOICE_SECTIONS = {
    "auth_method": Section.AUTHENTICATION,
    "use_ssh_tunnel": Section.SSH_TUNNEL,
    "bucket_vendor": Section.STAGING,
}
# Plain fields kept out of their object's section.
FIELD_SECTIONS = {"username": Section.AUTHENTICATION}

FREQUENCIES = {
    0: "Organization default",
    15: "Every 15 minutes",
    60: "Every hour",
    360: "Every 6 hours",
    720: "Every 12 hours",
    1440: "Every day",
}

# name → (label, placeholder, description)
TEXTS: dict[str, tuple[str, str, str]] = {
    "vendor": ("Destination type", "", "The warehouse, database or storage service to deliver to."),
    "name": (
        "Destination name",
        "Production warehouse",
        "A name to recognize this destination by.",
    ),
    "frequency_minutes": ("Sync frequency", "", "How often new and changed rows are delivered."),
    "is_enabled": ("Enabled", "", "A disabled destination receives no scheduled transfers."),
    "host": ("Host", "db.example.com", "Host name or IP address of the server."),
    "port": ("Port", "", "Port the server listens on."),
    "database": ("Database", "analytics", "Database to write to."),
    "schema": ("Schema", "analytics", "Schema the tables are written to."),
    "connection_database": ("Connection database", "analytics", "Database to connect to."),
    "write_database": ("Write database", "analytics", "Database the tables are written to."),
    "authentication_database": (
        "Authentication database",
        "admin",
        "Database that holds the user.",
    ),
    "catalog": ("Catalog", "main", "Unity Catalog or Hive catalog to write to."),
    "http_path": ("HTTP path", "/sql/1.0/warehouses/abc123", "HTTP path of the SQL warehouse."),
    "cluster": ("Cluster", "", "Name of the cluster, when the server belongs to one."),
    "workgroup": ("Workgroup", "primary", "Workgroup that runs the queries."),
    "project_id": ("Project ID", "my-project", "Google Cloud project of the dataset."),
    "path": ("Database file", "/var/lib/ferry/warehouse.db", "Path of the file on the Ferry host."),
    "folder": ("Folder", "exports", "Folder the files are written under."),
    "bucket_name": ("Bucket name", "my-bucket", "Bucket the files are written to."),
    "bucket_region": ("Bucket region", "us-east-1", "Region of the bucket."),
    "container_name": ("Container name", "exports", "Blob container the files are written to."),
    "storage_account_name": ("Storage account name", "mystorageaccount", "Azure storage account."),
    "file_format": ("File format", "", "Format of the files written."),
    "delimiter": ("Delimiter", "", "Character between the fields of a row."),
    "disable_manifest": ("Skip manifest files", "", "Write no manifest file per transfer."),
    "disable_ssl": (
        "Disable SSL",
        "",
        "Connect without TLS; only for servers on a private network.",
    ),
    "wallet": ("Oracle wallet", "", "Wallet for servers that require one; leave blank otherwise."),
    "connection_timeout_in_seconds": (
        "Connection timeout (seconds)",
        "30",
        "How long to wait for a connection.",
    ),
    "metastore": ("Metastore", "", "Where the workspace keeps its table metadata."),
    "bucket_vendor": ("Staging bucket", "", "Where files are staged before they are loaded."),
    "auth_method": ("Authentication method", "", "How to sign in."),
    "username": ("Username", "data_writer", "User that writes the data."),
    "password": ("Password", "", "Password of the user."),
    "aws_iam_role_arn": (
        "IAM role ARN",
        "arn:aws:iam::123456789012:role/data-writer",
        "Role to assume.",
    ),
    "access_id": ("Access key ID", "AKIAIOSFODNN7EXAMPLE", "AWS access key ID."),
    "secret_key": ("Secret access key", "", "AWS secret access key."),
    "access_key": ("HMAC access key", "GOOG1EXAMPLE", "Access key of a GCS HMAC key."),
    "secret": ("HMAC secret", "", "Secret of the GCS HMAC key."),
    "service_account_email": (
        "Service account email",
        "writer@my-project.iam.gserviceaccount.com",
        "Service account that writes the data.",
    ),
    "service_account_key": (
        "Service account key",
        '{"type": "service_account", ...}',
        "The service account's JSON key file.",
    ),
    "workload_identity_federation_metadata": (
        "Workload identity federation configuration",
        '{"type": "external_account", ...}',
        "The credential configuration file, as JSON.",
    ),
    "shared_access_signature_token": (
        "Shared access signature (SAS) token",
        "sv=2022-11-02&ss=b&...",
        "Token allowed to write to the container.",
    ),
    "access_token": ("Access token", "", "Personal access token."),
    "public_key": (
        "Public key",
        "",
        "Add this key to ~/.ssh/authorized_keys of the user on the server.",
    ),
    "use_ssh_tunnel": (
        "Connect through an SSH tunnel",
        "",
        "Reach the server through a bastion host.",
    ),
    "ssh_tunnel_host": ("SSH host", "bastion.example.com", "Bastion host to connect through."),
    "ssh_tunnel_port": ("SSH port", "22", "Port of the SSH server on the bastion host."),
    "ssh_tunnel_username": ("SSH username", "tunnel", "User to sign in to the bastion host as."),
    "ssh_public_key": (
        "SSH public key",
        "",
        "Add this key to ~/.ssh/authorized_keys of the SSH user.",
    ),
}
VENDOR_TEXTS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("bigquery", "schema"): ("Dataset", "analytics", "BigQuery dataset the tables are written to."),
    ("databricks", "host"): (
        "Server hostname",
        "dbc-a1b2c3d4-e5f6.cloud.databricks.com",
        "Server hostname of the SQL warehouse.",
    ),
    ("google_sheets", "host"): (
        "Spreadsheet URL",
        "https://docs.google.com/spreadsheets/d/...",
        "Spreadsheet to write to.",
    ),
    ("motherduck", "database"): ("Database", "md:analytics", "MotherDuck database to write to."),
    ("motherduck", "access_token"): ("Service token", "", "MotherDuck service token."),
    ("redshift", "password"): (
        "Database password",
        "",
        "Password of the database user, if it has one.",
    ),
    ("redshift_serverless", "password"): (
        "Database password",
        "",
        "Password of the database user, if it has one.",
    ),
    ("s3_compatible", "host"): (
        "Endpoint",
        "minio.example.com:9000",
        "Host (and port) of the S3 API.",
    ),
    ("sftp", "folder"): ("Folder", "exports", "Directory on the server the files are written to."),
    ("snowflake", "host"): (
        "Account host",
        "xy12345.us-east-1.snowflakecomputing.com",
        "Host of the Snowflake account.",
    ),
}
STAGING_TEXTS = {
    "bucket_name": ("Bucket name", "my-staging-bucket", "Bucket the files are staged in."),
    "access_id": (
        "Bucket access key ID",
        "AKIAIOSFODNN7EXAMPLE",
        "AWS access key ID for the bucket.",
    ),
    "secret_key": ("Bucket secret access key", "", "AWS secret access key for the bucket."),
}
PORTS = {
    "clickhouse": 8443,
    "databricks": 443,
    "mongodb": 27017,
    "oracle": 1521,
    "postgres": 5432,
    "aurora_postgres": 5432,
    "mysql": 3306,
    "aurora_mysql": 3306,
    "planetscale": 3306,
    "singlestore": 3306,
    "sql_server": 1433,
    "redshift": 5439,
    "redshift_serverless": 5439,
    "sftp": 22,
    "snowflake": 443,
}
OPTIONS: dict[object, str] = {
    "password_auth": "Username and password",
    "aws_iam_role": "IAM role",
    "aws_access_keys": "Access keys",
    "gcp_service_account_role": "Service account impersonation",
    "gcp_service_account_key": "Service account key",
    "federated_gcp_service_account_role": "Workload identity federation",
    "gcs_hmac_keys": "HMAC keys",
    "access_keys": "Access keys",
    "azure_service_shared_access_signature": "Shared access signature",
    "access_token_auth": "Access token",
    "public_key_auth": "SSH key pair",
    "bucket_s3": "Amazon S3",
    "bucket_gcs": "Google Cloud Storage",
    "bucket_implicit": "None (the server stages the data itself)",
    "hive": "Hive metastore",
    "unity_catalog": "Unity Catalog",
    "csv": "CSV",
    ",": "Comma (,)",
    ";": "Semicolon (;)",
    "|": "Pipe (|)",
    "\t": "Tab",
}


@dataclass(frozen=True, slots=True)
class _Context:
    vendor: str
    section: Section


def destination_form(vendor: str | None = None) -> dict[str, Any]:
    """The SDK's form: one vendor's fields, or (``None``) every vendor's under the vendor pick.

    Raises:
        InvalidInput: ``vendor`` is not a registered destination vendor.
    """
    known = registry.destinations()
    chosen = [registry.destination_class(vendor)] if vendor else list(known.values())
    chosen.sort(key=lambda c: c.display_name.lower())
    root = _node(
        "vendor",
        "",
        _Context("", Section.DESTINATION),
        kind="string",
        required=True,
        element="select",
        enum=[_vendor_option(c) for c in chosen],
        children=[node for c in chosen for node in _vendor_nodes(c)],
    )
    used = _sections_of(root)
    sections = [
        {"id": int(s), "title": title, "subtitle": subtitle}
        for s, (title, subtitle) in SECTIONS.items()
        if s in used
    ]
    return {"sections": sections, "form": root}


def _vendor_option(connector: type[DestinationConnector]) -> dict[str, Any]:
    option: dict[str, Any] = {"key": connector.vendor, "display": connector.display_name}
    if connector.docs_url:
        option["docs"] = connector.docs_url
    return option


def _vendor_nodes(connector: type[DestinationConnector]) -> list[dict[str, Any]]:
    vendor = connector.vendor
    top = _Context(vendor, Section.DESTINATION)
    schedule = _Context(vendor, Section.SCHEDULE)
    frequencies = [{"key": k, "display": v} for k, v in FREQUENCIES.items()]
    return [
        _node("name", vendor, top, kind="string", required=True),
        *_model_nodes(connector.config_model, vendor, _Context(vendor, Section.CONNECTION)),
        _node(
            "frequency_minutes", vendor, schedule, kind="number", element="select", enum=frequencies
        ),
        _node("is_enabled", vendor, schedule, kind="boolean"),
    ]


def _model_nodes(model: type[BaseModel], parent: str | bool, ctx: _Context) -> list[dict[str, Any]]:
    """The nodes of a (sub-)object's fields, shown when the parent node's value is ``parent``."""
    fields = _fields(model)
    revealed = {target for name in fields for target in _choices(model, name).values() if target}
    nodes = [
        node
        for name, info in fields.items()
        if name not in revealed
        for node in _field_nodes(model, name, info, parent, ctx)
    ]
    # Within a section the SDK keeps tree order: what must be answered first, switches last.
    return sorted(nodes, key=lambda node: (node["type"] == "boolean", not node["required"]))


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by their names on the wire."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _choices(model: type[BaseModel], name: str) -> dict[Any, str | None]:
    """The sub-object each value of a choice field reveals (None: nothing)."""
    selectors = getattr(model, "selectors", {})
    if name in selectors:
        return dict(selectors[name])
    fields = _fields(model)
    kind = _core(fields[name].annotation)
    if kind is bool and name == "disable_ssl" and "ssl_options" in fields:
        return {False: "ssl_options"}
    if get_origin(kind) is Literal:
        # file_format: csv reveals the csv block; bucket_vendor: bucket_s3 the bucket_s3 block
        return {v: v for v in get_args(kind) if isinstance(v, str) and v in fields}
    return {}


def _field_nodes(
    model: type[BaseModel], name: str, info: FieldInfo, parent: str | bool, ctx: _Context
) -> list[dict[str, Any]]:
    if name in TOP_LEVEL_FIELDS:
        raise TypeError(f"{ctx.vendor}.{name}: the SDK would send this field at the root")
    kind = _core(info.annotation)
    required = info.is_required()
    choices = _choices(model, name)
    if get_origin(kind) is Literal and len(get_args(kind)) == 1 and not choices and not required:
        return []  # nothing to choose: the model's default applies
    if choices or get_origin(kind) is Literal:
        return [_choice_node(model, name, kind, choices, parent, ctx)]
    if name in SDK_JSON_FIELDS or _is_json(kind):
        if name not in SDK_JSON_FIELDS:
            raise TypeError(
                f"{ctx.vendor}.{name}: the SDK parses JSON only for {sorted(SDK_JSON_FIELDS)}"
            )
        return [_node(name, parent, ctx, kind="json", required=required, element="textarea")]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return _inlined(kind, name, required, parent, ctx)
    if kind is bool:
        return [_node(name, parent, ctx, kind="boolean")]
    if kind is int:
        internal = False
        if name in SDK_INTEGER_FIELDS and not required:
            # A blank answer reaches the API as 0: with a default, the user must type it
            # (ssh_tunnel_port); without one, only an operator's form shows the field.
            required, internal = info.default is not None, info.default is None
        return [
            _node(
                name,
                parent,
                ctx,
                kind="number",
                required=required,
                input_type="number",
                internal=internal,
            )
        ]
    secret = isinstance(kind, type) and issubclass(kind, SecretStr)
    ctx = replace(ctx, section=FIELD_SECTIONS.get(name, ctx.section))
    return [
        _node(
            name,
            parent,
            ctx,
            kind="string",
            required=required,
            input_type="password" if secret else "text",
            key_format="ssh_rsa" if name in SDK_KEY_FIELDS else None,
        )
    ]


def _choice_node(
    model: type[BaseModel],
    name: str,
    kind: Any,
    choices: dict[Any, str | None],
    parent: str | bool,
    ctx: _Context,
) -> dict[str, Any]:
    """A select (or a boolean switch) whose values reveal the sub-object named like them."""
    ctx = replace(ctx, section=CHOICE_SECTIONS.get(name, ctx.section))
    fields = _fields(model)
    children: list[dict[str, Any]] = []
    for value, target in choices.items():
        if target is None:
            continue
        if isinstance(value, bool) and SDK_BOOLEAN_PARENT[value] != target:
            raise TypeError(f"{ctx.vendor}.{name}: the SDK cannot nest {target} under {value}")
        if not isinstance(value, bool) and value != target:
            raise TypeError(f"{ctx.vendor}.{name}: option {value!r} must be named {target!r}")
        children += _model_nodes(_core(fields[target].annotation), value, ctx)
    if kind is bool:
        return _node(name, parent, ctx, kind="boolean", children=children)
    enum = [{"key": v, "display": OPTIONS.get(v, str(v))} for v in get_args(kind)]
    # Required even with a default: the SDK's blank destination may hold a value that is not
    # an option (delimiter "", motherduck's auth_method "password_auth"), and a required
    # <select> makes the user pick one.
    return _node(
        name,
        parent,
        ctx,
        kind="string",
        required=True,
        element="select",
        enum=enum,
        children=children,
    )


def _inlined(
    model: type[BaseModel], name: str, required: bool, parent: str | bool, ctx: _Context
) -> list[dict[str, Any]]:
    """A sub-object's fields as siblings, where the SDK adds the object's name to their path."""
    names = set(_fields(model))
    if SDK_BUCKET_PARENT.get(ctx.vendor) == name and names <= SDK_BUCKET_FIELDS:
        return _model_nodes(model, parent, replace(ctx, section=Section.STAGING))
    if ctx.vendor in SDK_BUCKET_AUTH_VENDORS and all(
        SDK_BUCKET_AUTH_PARENT.get(n) == name for n in names
    ):
        return _model_nodes(model, parent, ctx)
    if required:
        raise TypeError(f"{ctx.vendor}.{name}: no path of the SDK's reaches this object")
    return []  # optional and out of the SDK's reach: API clients can still send it


def _node(
    name: str,
    parent: str | bool,
    ctx: _Context,
    *,
    kind: Literal["string", "number", "boolean", "json"],
    required: bool = False,
    element: Literal["select", "input", "radio", "textarea"] = "input",
    input_type: Literal["text", "password", "number"] = "text",
    enum: list[dict[str, Any]] | None = None,
    children: list[dict[str, Any]] | None = None,
    internal: bool = False,
    key_format: str | None = None,
) -> dict[str, Any]:
    if kind == "boolean":
        # Rendered as a switch, which always holds a value: "required" would force it on.
        element, required = "radio", False
        enum = [{"key": True, "display": "Yes"}, {"key": False, "display": "No"}]
    label, placeholder, description = _texts(ctx, name)
    attributes: dict[str, Any] = {
        "section_id": int(ctx.section),
        "internal": internal,
        "label": label,
        "placeholder": placeholder,
        "description": description,
        "form_element": element,
    }
    if element == "input":
        attributes["input_type"] = input_type
    if key_format is not None:
        attributes["key_format"] = key_format
    node: dict[str, Any] = {"parent": parent, "name": name, "required": required, "type": kind}
    if enum is not None:
        node["enum"] = enum
    node["attributes"] = attributes
    node["children"] = children or None
    return node


def _texts(ctx: _Context, name: str) -> tuple[str, str, str]:
    if (ctx.vendor, name) in VENDOR_TEXTS:
        return VENDOR_TEXTS[(ctx.vendor, name)]
    if ctx.section is Section.STAGING and name in STAGING_TEXTS:
        return STAGING_TEXTS[name]
    label, placeholder, description = TEXTS.get(name) or (
        name.replace("_", " ").capitalize(),
        "",
        "",
    )
    if name == "port" and ctx.vendor in PORTS:
        placeholder = str(PORTS[ctx.vendor])
    return label, placeholder, description


def _sections_of(node: dict[str, Any]) -> set[int]:
    found = {node["attributes"]["section_id"]}
    for child in node["children"] or ():
        found |= _sections_of(child)
    return found


def _core(annotation: Any) -> Any:
    """The type a field holds, without Annotated metadata or an Optional wrapper."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"a form field cannot hold any of {args}")
            annotation = args[0]
        else:
            return annotation


def _is_json(kind: Any) -> bool:
    if get_origin(kind) is Secret:
        return _is_json(get_args(kind)[0])
    return kind is dict or get_origin(kind) is dict
