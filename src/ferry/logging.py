"""Structured logs (structlog): JSON lines in production, readable lines in a terminal.

Every line names what it is about. The API binds ``request_id`` when a request starts and the
caller's ``organization_id`` and ``environment`` once it is authenticated; a transfer run binds
``transfer_id``, ``destination_id``, ``organization_id`` and ``environment`` for its duration.

Two details make that hold everywhere:

- FastAPI runs sync dependencies and routes in worker threads, each in a *copy* of the request's
  context, so a value bound by the auth dependency would not reach the route. Request fields
  therefore also go into one dict shared by the request's context and all its copies.
- A thread started with ``threading.Thread`` begins with an empty context (the lease's heartbeat,
  say). Lines that name a ``transfer_id`` get the rest of that transfer's fields from a registry
  of the transfers running in this process.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TextIO

import structlog

if TYPE_CHECKING:
    from ferry.scope import Scope


_request_fields: ContextVar[dict[str, str] | None] = ContextVar(
    "ferry_request_log_fields", default=None
)
_running_transfers: dict[str, dict[str, str]] = {}
_running_lock = threading.Lock()


def configure_once(level: str = "INFO") -> None:
    """Configure logging unless the process already did (a library embedding the API)."""
    if not structlog.is_configured():
        configure(level)


def configure(
    level: str = "INFO", *, json_lines: bool | None = None, file: TextIO | None = None
) -> None:
    """Log to ``file`` (standard error by default); JSON lines unless it is a terminal."""
    output = file or sys.stderr
    if json_lines is None:
        json_lines = not output.isatty()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(
            colors=False,
            # Plain tracebacks: rich ones print local variables, which can hold credentials.
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    structlog.configure(
        processors=[
            *_fields(),
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )
    _route_library_logs(renderer, output, debug=level.upper() == "DEBUG")


def _fields() -> list[structlog.types.Processor]:
    """What every line carries, Ferry's and the libraries': the request's and the transfer's
    fields, and the time."""
    return [
        structlog.contextvars.merge_contextvars,
        _merge_request_fields,
        _merge_transfer_fields,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


class _LibraryHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure`` puts on the root logger (replaced when it runs again)."""


def _route_library_logs(renderer: structlog.types.Processor, output: TextIO, debug: bool) -> None:
    """Lines the libraries write through the standard logging module (uvicorn, Celery,
    paramiko…) in Ferry's own format and fields, so one parser reads a process's whole output:
    warnings and errors only, everything at DEBUG."""
    handler = _LibraryHandler(output)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *_fields(),
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LibraryHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    # Python warnings (a library's SecurityWarning, a deprecation) as lines of their own.
    logging.captureWarnings(True)
    # paramiko reports at ERROR, with tracebacks, failures that Ferry reports itself as the
    # connector's error (a bastion that cannot reach the database, say); shown at DEBUG.
    logging.getLogger("paramiko").setLevel(logging.NOTSET if debug else logging.CRITICAL)


def _strings(fields: Mapping[str, object]) -> dict[str, str]:
    return {key: str(value) for key, value in fields.items() if value is not None}


def bind(**fields: object) -> None:
    """Add fields to every later line of this request, job or thread (None values are skipped)."""
    values = _strings(fields)
    structlog.contextvars.bind_contextvars(**values)
    shared = _request_fields.get()
    if shared is not None:
        shared.update(values)


def start_request(request_id: str) -> None:
    """A new request: forget whatever this context held, then name the request."""
    structlog.contextvars.clear_contextvars()
    _request_fields.set({})
    bind(request_id=request_id)


def end_request() -> None:
    structlog.contextvars.clear_contextvars()
    _request_fields.set(None)


def bind_scope(scope: Scope) -> None:
    """Name the authenticated caller's organization and environment on the request's lines."""
    bind(
        organization_id=scope.organization_id,
        environment=scope.environment,
        recipient_id=scope.recipient_id,
    )


def request_fields() -> dict[str, str]:
    """The fields bound for the current request, wherever they were bound."""
    return dict(_request_fields.get() or {})


@contextmanager
def transfer_context(**fields: object) -> Iterator[None]:
    """Bind a transfer's fields while the block runs, then restore the context as it was."""
    values = _strings(fields)
    saved = structlog.contextvars.get_contextvars()
    transfer_id = values.get("transfer_id")
    structlog.contextvars.bind_contextvars(**values)
    if transfer_id is not None:
        with _running_lock:
            _running_transfers[transfer_id] = values
    try:
        yield
    finally:
        if transfer_id is not None:
            with _running_lock:
                _running_transfers.pop(transfer_id, None)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**saved)


@contextmanager
def transfer_fields(**fields: object) -> Iterator[None]:
    """Give the lines that name a transfer (``transfer_id=…``) its fields while the block
    runs, without binding them to every line: for a thread running several transfers."""
    values = _strings(fields)
    transfer_id = values["transfer_id"]
    with _running_lock:
        _running_transfers[transfer_id] = values
    try:
        yield
    finally:
        with _running_lock:
            _running_transfers.pop(transfer_id, None)


def _merge_request_fields(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in (_request_fields.get() or {}).items():
        event_dict.setdefault(key, value)
    return event_dict


def _merge_transfer_fields(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    transfer_id = event_dict.get("transfer_id")
    if transfer_id is not None:
        with _running_lock:
            known = _running_transfers.get(str(transfer_id))
        for key, value in (known or {}).items():
            event_dict.setdefault(key, value)
    return event_dict
