"""Log capture, and the real PostgreSQL transfer fixtures of tests/transfer."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from ferry import logging as logs
from tests.transfer.conftest import dest_db, run_transfer, setup, source_db

__all__ = ["captured_logs", "dest_db", "run_transfer", "setup", "source_db"]


class Captured:
    """Every log line written while the fixture is active, as parsed JSON."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines() if line.strip()]

    def clear(self) -> None:
        self.buffer.seek(0)
        self.buffer.truncate()


@pytest.fixture
def captured_logs() -> Iterator[Captured]:
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    captured = Captured()
    logs.configure("DEBUG", json_lines=True, file=captured.buffer)
    try:
        yield captured
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)
