"""Vendor configs inside services: sealing, merging patches and where a destination writes."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ferry import crypto
from ferry.connectors.base import Connector, DestinationConnector
from ferry.connectors.config import VendorConfig
from ferry.services.secrets import seal, settings_of, unseal_with

C = TypeVar("C", bound=Connector)

# Builds the new, validated config of a vendor from the current one (revealed, secrets
# included; None when there is none yet). The API supplies it, since only the API knows
# the request's version and how to name a faulty field in it.
ConfigBuilder = Callable[[type[C], dict[str, Any] | None], VendorConfig]


def store(session: Session, config: VendorConfig) -> tuple[dict[str, Any], str | None]:
    """(public config, sealed secrets) to keep in a row."""
    public, secrets = config.split()
    return public, seal(session, secrets)


def revealed(
    session: Session, public: dict[str, Any], sealed: str | None, connector: type[Connector]
) -> VendorConfig:
    return _revealed(
        connector.config_model,
        crypto.sealer(settings_of(session)),
        json.dumps(public, sort_keys=True, default=str),
        sealed,
    )


# By content: a worker running thousands of transfers decrypts and validates each source's
# config once, not every time. Configs are never changed in place, so sharing them is safe.
@functools.lru_cache(maxsize=512)
def _revealed(
    model: type[VendorConfig], sealer: crypto.Sealer, public: str, sealed: str | None
) -> VendorConfig:
    return model.from_stored(json.loads(public), unseal_with(sealer, sealed))


def target_key(connector: type[DestinationConnector], config: VendorConfig) -> str:
    """A digest of the place a destination writes to, to refuse two recipients sharing it."""
    public = config.public_view()
    parts: list[Any] = [connector.config_model.__name__]
    for dotted in connector.target_fields:
        node: Any = public
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        parts.append(node.lower() if isinstance(node, str) else node)
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
