"""Testing connections to sources and destinations (spec §6.3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session

from ferry.connectors import registry
from ferry.connectors.base import Connector
from ferry.connectors.config import VendorConfig
from ferry.db.base import utcnow
from ferry.errors import ConnectorError, InvalidInput
from ferry.scope import Scope
from ferry.services import destinations, sources, ssh_keys, vendors

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CheckResult:
    error: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "success" if self.ok else "error",
            "error": self.error,
            "tested_at": utcnow().isoformat().replace("+00:00", "Z"),
        }


def _run(connector: Connector) -> CheckResult:
    try:
        connector.check()
    except ConnectorError as exc:
        return CheckResult(exc.as_dict())
    except Exception as exc:
        log.warning("connection_check_crashed", vendor=connector.vendor, exc_info=True)
        return CheckResult(
            {
                "error_code": "PRQL-INTERNAL",
                "title": "Connection test failed",
                "blame": "prequel",
                "documentation_url": None,
                "message": f"the connection test failed unexpectedly ({type(exc).__name__})",
                "trace": "",
            }
        )
    return CheckResult(None)


def _check(
    session: Session, scope: Scope, cls: type[Connector], config: VendorConfig
) -> CheckResult:
    try:
        context = ssh_keys.context_for(
            session, environment_id=scope.environment_id, config=config.public_view()
        )
    except InvalidInput as exc:
        return CheckResult(
            ConnectorError(
                exc.message, error_code="PRQL-KEY", title="SSH key not usable", blame="first_party"
            ).as_dict()
        )
    return _run(cls(config, context=context))


def check_destination(
    session: Session, *, scope: Scope, vendor: str, config: VendorConfig
) -> CheckResult:
    cls = registry.destination_class(vendor, field="destination.vendor")
    return _check(session, scope, cls, config)


def check_saved_destination(
    session: Session,
    *,
    scope: Scope,
    destination_id: str | uuid.UUID,
    build: vendors.ConfigBuilder[Any] | None,
) -> CheckResult:
    """Test a saved destination, with a PATCH-like overlay of changed fields (not saved)."""
    destination = destinations.get(session, scope=scope, destination_id=destination_id)
    cls = registry.destination_class(destination.vendor)
    config = destinations.config_of(session, destination)
    if build is not None:
        config = build(cls, config.reveal())
    return _check(session, scope, cls, config)


def check_source(
    session: Session, *, scope: Scope, vendor: str, config: VendorConfig
) -> CheckResult:
    cls = registry.source_class(vendor, field="source.vendor")
    return _check(session, scope, cls, config)


def check_saved_source(
    session: Session,
    *,
    scope: Scope,
    source_id: str | uuid.UUID,
    build: vendors.ConfigBuilder[Any] | None,
) -> CheckResult:
    source = sources.get(session, scope=scope, source_id=source_id)
    cls = registry.source_class(source.vendor)
    config = sources.config_of(session, source)
    if build is not None:
        config = build(cls, config.reveal())
    result = _check(session, scope, cls, config)
    if build is None:
        source.is_reachable = result.ok
    return result
