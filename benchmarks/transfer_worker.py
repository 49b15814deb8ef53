"""The worker side of the benchmarks: runs the given transfers in this process, on a few
threads, as a worker process does, and prints the time and this process's peak memory.

    echo '{"database_url": …, "secret_key": …, "transfer_ids": […], "workers": 2}' |
        python benchmarks/transfer_worker.py

A process of its own, importing only what running transfers needs: its peak memory is Ferry's.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from ferry import transfer
from ferry.db.engine import session_scope
from ferry.db.models import Transfer
from ferry.logging import configure
from ferry.runtime import Runtime
from ferry.settings import Settings


def peak_mib() -> float:
    """This address space's peak resident memory (VmHWM). Not ru_maxrss: Linux carries that
    over from the process that forked this one."""
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    job = json.load(sys.stdin)
    settings = {"database_url": job["database_url"], "secret_key": job["secret_key"]}
    if "group_size" in job:
        settings["worker"] = {"group_size": job["group_size"]}
    configure("WARNING")
    runtime = Runtime.build(Settings(**settings))
    ids = [uuid.UUID(t) for t in job["transfer_ids"]]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=job["workers"]) as pool:
        # As a worker's tasks do: a transfer that ran in another's pass is found done.
        list(
            pool.map(
                lambda t: transfer.run(
                    runtime.sessions, t, worker="bench", settings=runtime.settings
                ),
                ids,
            )
        )
    seconds = time.perf_counter() - started
    with session_scope(runtime.sessions) as session:
        statuses = session.scalars(select(Transfer.status).where(Transfer.id.in_(ids))).all()
    runtime.engine.dispose()
    failed = [s for s in statuses if s != "SUCCESS"]
    json.dump({"seconds": seconds, "peak_mib": peak_mib(), "failed": failed[:3]}, sys.stdout)


if __name__ == "__main__":
    main()
