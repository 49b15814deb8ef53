"""The vendor-shaped configuration objects of sources and destinations (spec §7).

A vendor's config is a pydantic model. Secrets are typed ``SecretStr``/``Secret[...]``: they are
split off before storage (sealed with ``FERRY_SECRET_KEY``) and never appear in a public view.
Choices such as ``auth_method`` select one sub-object among several; the ``selectors`` table of
each model says which, so validation can insist on the chosen one and drop the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Secret, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from ferry.fields import BigSecret, Password, Port, PublicKey, Short

SecretPath = tuple[str, ...]
# selector field → {selector value: sub-object field it requires (None: nothing)}
Selectors = Mapping[str, Mapping[Any, str | None]]


class ConfigModel(BaseModel):
    """Base of every vendor object and sub-object: unknown fields are an error."""

    model_config = ConfigDict(
        extra="forbid",
        hide_input_in_errors=True,
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        """An optional field sent as "" is left out: forms (the React SDK's among them) send
        every field they show, blank when the user typed nothing. A required field sent blank
        is still refused."""
        if not isinstance(data, dict):
            return data
        optional = {
            field.alias or name
            for name, field in cls.model_fields.items()
            if not field.is_required()
        }
        return {
            key: value
            for key, value in data.items()
            # Exactly "": a tab or a space is a value (a CSV delimiter, say).
            if not (key in optional and value == "")
        }


class VendorConfig(ConfigModel):
    """A complete vendor object, e.g. the value under ``"postgres"`` in a destination."""

    # A class sees its bases' entries too (see __pydantic_init_subclass__), so a field group
    # such as an SSH tunnel option brings its selector along wherever it is mixed in.
    selectors: ClassVar[Selectors] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        merged: dict[str, Mapping[Any, str | None]] = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("selectors", {}))
        cls.selectors = merged

    @model_validator(mode="after")
    def _apply_selectors(self) -> Self:
        for selector, choices in self.selectors.items():
            chosen_value = getattr(self, selector)
            chosen = choices.get(chosen_value)
            if chosen is not None and getattr(self, chosen) is None:
                raise PydanticCustomError(
                    "selected_missing",
                    "{field} is required when {selector} is {value}",
                    {"field": chosen, "selector": selector, "value": repr(chosen_value)},
                )
            # Sub-objects the selector did not choose are dropped, so stale credentials of a
            # previous auth method are never kept.
            for option in choices.values():
                if option is not None and option != chosen and option in type(self).model_fields:
                    object.__setattr__(self, option, None)
        return self

    # --- storage -----------------------------------------------------------------------------

    def split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(public config without secrets, secrets keyed by dotted path)."""
        secrets: dict[str, Any] = {}
        public = _strip_secrets(self.model_dump(mode="python", exclude_none=True), (), secrets)
        return public, secrets

    def reveal(self) -> dict[str, Any]:
        """The whole config as plain JSON values, secrets included: for connectors only."""
        public, secrets = self.split()
        return merge_secrets(public, secrets)

    def public_view(self) -> dict[str, Any]:
        return self.split()[0]

    @classmethod
    def from_stored(cls, public: dict[str, Any], secrets: dict[str, Any] | None) -> Self:
        return cls.model_validate(merge_secrets(public, secrets or {}))

    @classmethod
    def secret_paths(cls) -> Iterator[SecretPath]:
        """Every dotted path of a secret field, e.g. ('password_auth', 'password')."""
        yield from _secret_paths(cls, ())


def _strip_secrets(value: Any, path: SecretPath, secrets: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, SecretStr | Secret):
                secrets[".".join((*path, key))] = item.get_secret_value()
            else:
                out[key] = _strip_secrets(item, (*path, key), secrets)
        return out
    if isinstance(value, list):
        return [_strip_secrets(item, path, secrets) for item in value]
    return value


def merge_secrets(public: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = deep_copy(public)
    for dotted, secret in secrets.items():
        node = merged
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = secret
    return merged


def deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def deep_merge(
    base: dict[str, Any],
    patch: Mapping[str, Any],
    leaves: frozenset[SecretPath] = frozenset(),
    _at: SecretPath = (),
) -> dict[str, Any]:
    """Merge a partial object into a full one: nested objects merge, everything else replaces.

    Paths in ``leaves`` are values, not objects to merge into (a service-account key is a whole
    JSON document: half of a new key over half of the old one would be neither).
    """
    merged: dict[str, Any] = deep_copy(base)
    for key, value in patch.items():
        here = (*_at, key)
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict) and here not in leaves:
            merged[key] = deep_merge(merged[key], value, leaves, here)
        else:
            merged[key] = deep_copy(value)
    return merged


def _secret_paths(model: type[BaseModel], prefix: SecretPath) -> Iterator[SecretPath]:
    for name, field in model.model_fields.items():
        for kind in _leaf_types(field.annotation):
            if isinstance(kind, type) and issubclass(kind, SecretStr | Secret):
                yield (*prefix, name)
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _secret_paths(kind, (*prefix, name))


def _leaf_types(annotation: Any) -> Iterator[Any]:
    args = getattr(annotation, "__args__", None)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Secret):
        yield origin
        return
    if args and origin is not Literal:
        for arg in args:
            yield from _leaf_types(arg)
    else:
        yield annotation


# --- reusable sub-objects (spec §7.1) ------------------------------------------------------


class PasswordAuth(ConfigModel):
    username: Short
    password: Password


class AwsIamRole(ConfigModel):
    aws_iam_role_arn: Short


class AwsAccessKeys(ConfigModel):
    access_id: Short
    secret_key: Password


class RedshiftAwsAccessKeys(AwsAccessKeys):
    password: Password | None = None


class GcpServiceAccountRole(ConfigModel):
    service_account_email: Short


class CredentialSource(ConfigModel):
    environment_id: Short | None = None
    region_url: Short | None = None
    url: Short | None = None
    regional_cred_verification_url: Short | None = None


class WorkloadIdentityFederationMetadata(ConfigModel):
    type: Short
    audience: Short
    subject_token_type: Short
    service_account_impersonation_url: Short | None = None
    token_url: Short
    credential_source: CredentialSource | None = None


class FederatedGcpServiceAccountRole(ConfigModel):
    service_account_email: Short
    workload_identity_federation_metadata: WorkloadIdentityFederationMetadata


class GcpServiceAccountKey(ConfigModel):
    service_account_email: Short | None = None
    # The Google key file, as the JSON object the SDK parses it into.
    service_account_key: Secret[dict[str, Any]]


class GcsHmacKeys(ConfigModel):
    access_key: Short
    secret: Password


class AccessKeys(ConfigModel):
    access_id: Short
    secret_key: Password


class AzureSharedAccessSignature(ConfigModel):
    shared_access_signature_token: BigSecret


class AccessTokenAuth(ConfigModel):
    access_token: Password


class PublicKeyAuth(ConfigModel):
    # The public half of a key pair made by POST /actions/generate-ssh-key.
    public_key: PublicKey


class SshTunnel(ConfigModel):
    ssh_tunnel_host: Short
    ssh_tunnel_port: Port = 22
    ssh_tunnel_username: Short
    ssh_public_key: PublicKey | None = None


class BucketS3(ConfigModel):
    bucket_name: Short
    bucket_region: Short | None = None


class BucketS3WithKeys(BucketS3):
    aws_access_keys: AwsAccessKeys | None = None


class BucketGcs(ConfigModel):
    bucket_name: Short
    bucket_region: Short | None = None


class BucketGcsWithKeys(BucketGcs):
    gcs_hmac_keys: GcsHmacKeys | None = None


class Csv(ConfigModel):
    delimiter: Literal[",", ";", "|", "\t"] = ","


class SslOptions(ConfigModel):
    wallet: BigSecret | None = None


SSH_SELECTOR: Mapping[Any, str | None] = {True: "ssh_tunnel", False: None}

__all__ = [
    "SSH_SELECTOR",
    "AccessKeys",
    "AccessTokenAuth",
    "AwsAccessKeys",
    "AwsIamRole",
    "AzureSharedAccessSignature",
    "BigSecret",
    "BucketGcs",
    "BucketGcsWithKeys",
    "BucketS3",
    "BucketS3WithKeys",
    "ConfigModel",
    "Csv",
    "FederatedGcpServiceAccountRole",
    "GcpServiceAccountKey",
    "GcpServiceAccountRole",
    "GcsHmacKeys",
    "PasswordAuth",
    "Port",
    "PublicKeyAuth",
    "RedshiftAwsAccessKeys",
    "Selectors",
    "Short",
    "SshTunnel",
    "SslOptions",
    "VendorConfig",
]
