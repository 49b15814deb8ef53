"""Running ``ferry`` commands as real processes in tests."""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

FERRY = [sys.executable, "-m", "ferry.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any FERRY_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    return env | extra


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FERRY, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye — a crashed machine."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)


@contextmanager
def started(args: list[str], env: dict[str, str], cwd: Path, name: str) -> Iterator[Process]:
    log = cwd / f"{name}.log"
    with log.open("w") as handle:
        popen = subprocess.Popen(
            [*FERRY, *args],
            env=env,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(popen, log)
        try:
            yield process
        finally:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
                try:
                    popen.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_for_http(base: str, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(base + "/", timeout=1)
            return
        except httpx.TransportError:
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"ferry did not start:\n{process.output()}") from None
            time.sleep(0.2)


def npm_ci(directory: Path) -> None:
    """``npm ci`` in ``directory`` when its node_modules is missing or was installed from
    another package-lock.json; one installer at a time (test processes share the folder)."""
    wanted = hashlib.sha256((directory / "package-lock.json").read_bytes()).hexdigest()
    stamp = directory / "node_modules" / ".ferry-lock.sha256"
    where = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"ferry-npm-{where}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text().strip() == wanted:
            return
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
        stamp.write_text(wanted + "\n")
