"""Idle database connections kept per process, so a worker running thousands of transfers does
not pay a connection (TCP, TLS, authentication) for every step of every transfer.

Connections go back only after a clean exit (transaction rolled back or committed, no error);
anything else closes them. A connection idle for long is checked before reuse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_IDLE_PER_KEY = 4
CHECK_AFTER_SECONDS = 30.0
DROP_AFTER_SECONDS = 300.0


@dataclass
class Pool:
    max_idle_per_key: int = MAX_IDLE_PER_KEY
    _idle: dict[str, list[tuple[float, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(
        self, key: str, alive: Callable[[Any], bool], close: Callable[[Any], None]
    ) -> Any | None:
        """An idle connection for ``key`` that still works, or None."""
        while True:
            with self._lock:
                stack = self._idle.get(key)
                if not stack:
                    return None
                since, connection = stack.pop()
            idle = time.monotonic() - since
            if idle > DROP_AFTER_SECONDS or (idle > CHECK_AFTER_SECONDS and not alive(connection)):
                close(connection)
                continue
            return connection

    def give(self, key: str, connection: Any, close: Callable[[Any], None]) -> None:
        with self._lock:
            stack = self._idle.setdefault(key, [])
            if len(stack) < self.max_idle_per_key:
                stack.append((time.monotonic(), connection))
                return
        close(connection)

    def clear(self, close: Callable[[Any], None]) -> None:
        with self._lock:
            stacks, self._idle = list(self._idle.values()), {}
        for stack in stacks:
            for _, connection in stack:
                close(connection)
