"""The allocator a transfer's Arrow buffers come from.

Transfers allocate and free batch-sized buffers over and over, on several worker threads.
Arrow's default allocator (mimalloc) keeps freed pages for reuse; the system allocator hands
large buffers back as they are freed. In the benchmarks (two worker threads) a worker's peak
was 10–25 MiB lower with it, at the same speed. An explicit ``ARROW_DEFAULT_MEMORY_POOL`` in
the environment still decides.
"""

from __future__ import annotations

import functools
import os

import pyarrow as pa


@functools.cache
def use_returning_allocator() -> str:
    """Make Arrow's default pool the system allocator (unless the environment chose one); the
    backend's name."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
    return str(pa.default_memory_pool().backend_name)
