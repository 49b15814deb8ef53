"""Real servers for the file-destination tests, run as subprocesses on 127.0.0.1, and the
sample model both tests write.

``moto_server`` is an S3 API (moto in server mode); ``sshd_server`` a throwaway OpenSSH daemon
with its own host key, config and authorized key, serving SFTP; ``postgres_server`` a throwaway
PostgreSQL cluster that asks for passwords. Each picks a free port, waits until it answers and
is stopped (and its log closed) on exit.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.modelconfig import DataType

SSHD = Path("/usr/sbin/sshd")
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}:\n{log.read_text()}")


@contextmanager
def _running(
    command: list[str], port: int, log: Path, **popen: Any
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **popen)
        try:
            _wait_for_port(port, process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def moto_server(directory: Path) -> Iterator[str]:
    """An S3 endpoint URL served by moto."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _running(command, port, directory / "moto.log"):
        yield f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    password: str  # of the superuser ``postgres``; every TCP login needs its password
    log: Path  # the server's own log (warnings and errors it reported)


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 that asks every TCP login for a password
    (SCRAM), unlike the machine's server, which trusts local connections."""
    binaries = _postgres_bin()
    if binaries is None:
        message = "PostgreSQL's server binaries (initdb) are missing"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # PostgreSQL refuses to run as root: the cluster then belongs to the postgres account, in
    # a directory it can reach (pytest's tmp_path sits under a root-only directory).
    # Both commands run in that directory: the caller's may be closed to that account.
    directory = Path(tempfile.mkdtemp(prefix="ferry-pg-"))
    as_user: dict[str, Any] = {"cwd": directory}
    if os.geteuid() == 0:
        as_user |= {"user": "postgres", "group": "postgres"}
    try:
        password = secrets.token_urlsafe(12)
        secret = directory / "password"
        secret.write_text(password + "\n")
        if "user" in as_user:
            shutil.chown(directory, "postgres", "postgres")
            shutil.chown(secret, "postgres", "postgres")
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(directory / "data"),
                "-U",
                "postgres",
                f"--pwfile={secret}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **as_user,
        )
        port = free_port()
        command = [
            str(binaries / "postgres"),
            "-D",
            str(directory / "data"),
            "-p",
            str(port),
            "-k",
            str(directory),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ]
        log = directory / "postgres.log"
        with _running(command, port, log, **as_user):
            yield PostgresServer(port, password, log)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class KeyPair:
    public: str  # OpenSSH line
    private: str  # OpenSSH private key PEM


def key_pair() -> KeyPair:
    """An RSA key pair like the ones Ferry generates for SFTP destinations."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    return KeyPair(public, pem)


@dataclass(frozen=True)
class SshServer:
    port: int
    username: str
    key: KeyPair  # authorized on the server
    authorized_keys: Path  # read at every login: append a line to trust one more key


def require_sshd() -> None:
    """Skip without an OpenSSH server, except in CI, which must have one."""
    if SSHD.exists():
        return
    message = f"{SSHD} is missing: apt-get install -y openssh-server"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def sshd_server(directory: Path) -> Iterator[SshServer]:
    """An OpenSSH daemon on 127.0.0.1 that accepts one generated key for the current user."""
    host_key = directory / "host_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
        check=True,
        capture_output=True,
    )
    key = key_pair()
    authorized = directory / "authorized_keys"
    authorized.write_text(key.public + "\n")
    authorized.chmod(0o600)
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                f"PidFile {directory / 'sshd.pid'}",
                "UsePAM no",
                # In-process SFTP: no dependency on where the distribution puts sftp-server.
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    # The privilege-separation directory that the distribution's service would create.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    command = [str(SSHD), "-D", "-e", "-f", str(config)]
    with _running(command, port, directory / "sshd.log"):
        yield SshServer(port, getpass.getuser(), key, authorized)


# --- the sample model ------------------------------------------------------------------------

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

EDGE = TableSpec(
    "edge",
    (
        ColumnSpec("id", "id", DataType.STRING, is_primary_key=True),
        ColumnSpec("text", "text", DataType.STRING, description="Free text"),
        ColumnSpec("number", "number", DataType.DECIMAL, precision=38, scale=10),
        ColumnSpec("wide", "wide", DataType.DECIMAL, precision=50, scale=5),
        ColumnSpec("free_number", "free_number", DataType.DECIMAL),
        ColumnSpec("small", "small", DataType.INTEGER),
        ColumnSpec("big", "big", DataType.BIGINT),
        ColumnSpec("ratio", "ratio", DataType.FLOAT),
        ColumnSpec("flag", "flag", DataType.BOOLEAN),
        ColumnSpec("day", "day", DataType.DATE),
        ColumnSpec("doc", "doc", DataType.JSON),
        ColumnSpec("blob", "blob", DataType.BYTES),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="edge",
)

MEGABYTE_TEXT = "é" * 300_000 + "x" * 400_000  # 1 MB of UTF-8


def edge_rows() -> list[dict[str, Any]]:
    """Rows at the edges of every type, in canonical form (decimals as exact text)."""
    return [
        {
            "id": "max",
            "text": "plain",
            "number": "1234567890123456789012345678.0123456789",
            "wide": "123456789012345678901234567890123456789012345.12345",
            "free_number": "123456789012345678901234567890.123456789012345678901234567890",
            "small": 2_147_483_647,
            "big": 9_223_372_036_854_775_807,
            "ratio": 0.1 + 0.2,
            "flag": True,
            "day": date(2024, 2, 29),
            "doc": '{"a": [1, 2.5, {"b": null}], "s": "ü"}',
            "blob": bytes(range(256)),
            "updated_at": T0,
        },
        {
            "id": "min",
            "text": 'unicode ✓ — 日本語 🚀 "quoted", comma; semi\ttab\nnew line\r\nend',
            "number": "-0.0000000001",
            "wide": "-1.00000",
            "free_number": "-0.5",
            "small": -2_147_483_648,
            "big": -9_223_372_036_854_775_808,
            "ratio": -1.5e300,
            "flag": False,
            "day": date(1, 1, 1),
            "doc": "[]",
            "blob": b"",
            "updated_at": datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        },
        {
            "id": "nulls",
            "text": None,
            "number": None,
            "wide": None,
            "free_number": None,
            "small": None,
            "big": None,
            "ratio": None,
            "flag": None,
            "day": None,
            "doc": None,
            "blob": None,
            "updated_at": None,
        },
        {
            "id": "big",
            "text": MEGABYTE_TEXT,
            "number": "0.0000000000",
            "wide": "0",
            "free_number": "1e-7",
            "small": 0,
            "big": 0,
            "ratio": 0.0,
            "flag": True,
            "day": date(9999, 12, 31),
            "doc": '"text"',
            "blob": b"\x00" * 10,
            "updated_at": T0 + timedelta(microseconds=999_999),
        },
        {
            "id": "empty",
            "text": "",
            "number": "1",
            "wide": "2.5",
            "free_number": "0",
            "small": 1,
            "big": 1,
            "ratio": 1.0,
            "flag": False,
            "day": date(2000, 1, 1),
            "doc": "{}",
            "blob": b"\xff",
            "updated_at": T0 - timedelta(days=365),
        },
    ]


def batch_of(table: TableSpec, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=table.arrow_schema())
