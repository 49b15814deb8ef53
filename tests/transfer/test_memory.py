"""The transfer engine's Arrow allocator gives freed memory back to the system, unless the
environment names one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import pyarrow as pa\n"
    "from ferry.transfer import memory\n"
    "print(pa.default_memory_pool().backend_name, memory.use_returning_allocator())\n"
)


def _backends(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def test_transfers_use_an_allocator_that_returns_memory() -> None:
    _, during = _backends()
    assert during == "system"


@pytest.mark.parametrize("pool", ["mimalloc", "system"])
def test_an_allocator_named_in_the_environment_is_kept(pool: str) -> None:
    assert _backends(ARROW_DEFAULT_MEMORY_POOL=pool) == [pool, pool]
