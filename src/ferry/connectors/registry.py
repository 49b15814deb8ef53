"""Maps the wire ``vendor`` strings to connector classes."""

from __future__ import annotations

from typing import TypeVar

from ferry.connectors.base import DestinationConnector, SourceConnector
from ferry.errors import InvalidInput

_DESTINATIONS: dict[str, type[DestinationConnector]] = {}
_SOURCES: dict[str, type[SourceConnector]] = {}

D = TypeVar("D", bound=type[DestinationConnector])
S = TypeVar("S", bound=type[SourceConnector])


def register_destination(cls: D) -> D:
    if cls.vendor in _DESTINATIONS:
        raise RuntimeError(f"destination vendor {cls.vendor!r} registered twice")
    _DESTINATIONS[cls.vendor] = cls
    return cls


def register_source(cls: S) -> S:
    if cls.vendor in _SOURCES:
        raise RuntimeError(f"source vendor {cls.vendor!r} registered twice")
    _SOURCES[cls.vendor] = cls
    return cls


def _load() -> None:
    # Importing the packages runs every vendor module's @register_* decorator.
    import ferry.connectors.destinations
    import ferry.connectors.sources  # noqa: F401


def destinations() -> dict[str, type[DestinationConnector]]:
    _load()
    return dict(_DESTINATIONS)


def sources() -> dict[str, type[SourceConnector]]:
    _load()
    return dict(_SOURCES)


def destination_class(vendor: str, *, field: str = "vendor") -> type[DestinationConnector]:
    known = destinations()
    if vendor not in known:
        raise InvalidInput(
            f"{field}: unknown destination vendor {vendor!r}; "
            f"expected one of: {', '.join(sorted(known))}"
        )
    return known[vendor]


def source_class(vendor: str, *, field: str = "vendor") -> type[SourceConnector]:
    known = sources()
    if vendor not in known:
        raise InvalidInput(
            f"{field}: unknown source vendor {vendor!r}; "
            f"expected one of: {', '.join(sorted(known))}"
        )
    return known[vendor]
