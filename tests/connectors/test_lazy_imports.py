"""Vendor drivers load only for the vendors in use: importing the workers' transfer engine, the
API and the connector registry, listing vendors, describing their configs and generating the
OpenAPI document import none of them, and neither does a transfer to or from SQLite. Each check
runs in a fresh interpreter, so modules other tests imported do not count; its peak RSS is
printed, and shown when the check fails."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.servers import free_port, key_pair

# Drivers, and the Parquet writer (some MiB that only file destinations need).
HEAVY = ("duckdb", "boto3", "botocore", "paramiko", "pymysql", "pyarrow.parquet")

_PROLOGUE = """
import json, resource, sys
ARGS = json.loads(sys.argv[1])
"""
# The interpreter's own peak: ru_maxrss would keep the forking pytest process's peak, which
# Linux carries across exec; VmHWM belongs to the new address space.
_EPILOGUE = f"""
_names = {{m.split(".")[0] for m in sys.modules}} | set(sys.modules)
_loaded = sorted(_names & set({HEAVY!r}))
try:
    with open("/proc/self/status") as _status:
        _hwm = [line.split()[1] for line in _status if line.startswith("VmHWM:")]
    _peak = int(_hwm[0]) / 1024
except (OSError, IndexError):
    _peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"loaded": _loaded, "peak_rss_mib": _peak}}))
"""
IMPORTS = """
import ferry.transfer, ferry.api.app
from ferry.connectors import registry
registry.destinations()
registry.sources()
"""


@dataclass(frozen=True)
class Probe:
    loaded: frozenset[str]
    peak_rss_mib: float

    def __str__(self) -> str:
        return (
            f"drivers loaded: {sorted(self.loaded) or 'none'}; peak RSS {self.peak_rss_mib:.1f} MiB"
        )


def probe(body: str, cwd: Path, **args: Any) -> Probe:
    """Run ``body`` in a fresh interpreter; which drivers it left loaded, and its peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", _PROLOGUE + body + _EPILOGUE, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    found = Probe(frozenset(answer["loaded"]), float(answer["peak_rss_mib"]))
    print(found)  # noqa: T201 (the peak RSS, in the captured output of a failing test)
    return found


def test_workers_api_and_registry_import_no_driver(tmp_path: Path) -> None:
    found = probe(IMPORTS, tmp_path)
    assert not found.loaded, str(found)


def test_vendor_listing_configs_and_openapi_import_no_driver(tmp_path: Path) -> None:
    body = (
        IMPORTS
        + """
from cryptography.fernet import Fernet
from ferry.settings import Settings
for connector in [*registry.destinations().values(), *registry.sources().values()]:
    connector.config_model.model_json_schema()
settings = Settings(
    database_url="sqlite://",
    secret_key=Fernet.generate_key().decode(),
    broker_url=None,
    public_url=None,
)
assert ferry.api.app.create_app(settings).openapi()["paths"]
"""
    )
    found = probe(body, tmp_path)
    assert not found.loaded, str(found)


def test_sqlite_transfers_import_no_driver(tmp_path: Path) -> None:
    body = (
        IMPORTS
        + """
from datetime import UTC, datetime
import pyarrow as pa
from ferry.connectors.base import WriteContext, WriteMode
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.modelconfig import DataType

table = TableSpec(
    "orders",
    (
        ColumnSpec("id", "id", DataType.BIGINT, is_primary_key=True),
        ColumnSpec("name", "name", DataType.STRING),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="orders",
)
now = datetime(2024, 3, 1, 12, tzinfo=UTC)
rows = [{"id": i, "name": f"order {i}", "updated_at": now} for i in range(100)]
destination_class = registry.destination_class("sqlite")
destination = destination_class(destination_class.config_model.model_validate(ARGS["db"]))
destination.check()
written = destination.write(
    table,
    iter([pa.RecordBatch.from_pylist(rows, schema=table.arrow_schema())]),
    mode=WriteMode.UPSERT,
    context=WriteContext(transfer_id="t-1", model_id="m-1", status_time=now),
)
assert written.rows == 100 and destination.has_table(table)
source_class = registry.source_class("sqlite")
source_class(source_class.config_model.model_validate(ARGS["db"])).check()
"""
    )
    found = probe(body, tmp_path, db={"path": str(tmp_path / "ferry.sqlite")})
    assert not found.loaded, str(found)


# Controls: using a vendor loads its own driver, and only that one.
_CHECK = (
    IMPORTS
    + """
from ferry.connectors.base import ConnectorContext
from ferry.errors import ConnectorError
cls = registry.destination_class(ARGS["vendor"])
connector = cls(
    cls.config_model.model_validate(ARGS["config"]),
    context=ConnectorContext(private_keys=ARGS.get("keys", {})),
)
try:
    connector.check()
except ConnectorError:
    pass  # nothing listens on the port: the driver was loaded to find that out
"""
)


def _control(vendor: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    """(config, private keys, the drivers a check loads) of a destination nothing listens for."""
    port = free_port()
    if vendor == "duckdb":
        return {"path": str(tmp_path / "ferry.duckdb")}, {}, {"duckdb"}
    if vendor == "mysql":
        config = {
            "host": "127.0.0.1",
            "port": port,
            "auth_method": "password_auth",
            "password_auth": {"username": "ferry", "password": "secret"},
            "disable_ssl": True,
            "connection_database": "ferry",
            "write_database": "ferry_out",
            "use_ssh_tunnel": False,
        }
        return config, {}, {"pymysql"}
    if vendor == "s3_compatible":
        config = {
            "host": f"127.0.0.1:{port}",
            "folder": "out",
            "bucket_name": "bucket",
            "disable_ssl": True,
            "auth_method": "access_keys",
            "access_keys": {"access_id": "test", "secret_key": "test-secret"},
        }
        return config, {}, {"boto3", "botocore"}
    keys = key_pair()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "username": "ferry",
        "folder": "out",
        "file_format": "csv",
        "csv": {"delimiter": ","},
        "auth_method": "public_key_auth",
        "public_key_auth": {"public_key": keys.public},
    }
    return config, {keys.public: keys.private}, {"paramiko"}


@pytest.mark.parametrize("vendor", ["duckdb", "mysql", "s3_compatible", "sftp"])
def test_a_vendor_in_use_loads_its_own_driver_only(vendor: str, tmp_path: Path) -> None:
    config, keys, expected = _control(vendor, tmp_path)
    found = probe(_CHECK, tmp_path, vendor=vendor, config=config, keys=keys)
    assert found.loaded == expected, str(found)
