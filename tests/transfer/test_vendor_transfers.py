"""Transfers between vendors, end to end through the API: every tenant's destination mirrors its
slice of the source after a backfill, after changes, after a no-change run and after a full
refresh.

SQL destinations (PostgreSQL from a MariaDB source; MariaDB, DuckDB and SQLite from a PostgreSQL
source) are read back table by table. File destinations (S3-compatible Parquet, SFTP CSV) are
append-only: their state is read as a consumer would, from the manifests (everything before the
last FULL_REFRESH dropped), keeping the newest version of each key. Each destination's stored
values are coerced back to the Python type of the model column's data_type, so one checksum
serves every vendor.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import posixpath
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pymysql
import pytest
import sqlalchemy as sa

from ferry.connectors.duckdb import CONFIG as DUCKDB_CONFIG
from ferry.connectors.object_storage import files_signature
from ferry.db.engine import session_scope
from ferry.services import ssh_keys
from tests.conftest import Api
from tests.connectors.mysql_cases import config as mysql_config
from tests.connectors.mysql_cases import run as mysql_run
from tests.connectors.mysql_cases import server as mysql_server
from tests.connectors.mysql_cases import throwaway_user
from tests.connectors.servers import SshServer, moto_server, require_sshd, sshd_server
from tests.transfer.conftest import (
    INSERT,
    TENANTS,
    Database,
    Setup,
    checksum,
    edge_rows,
    order_model,
    source_rows,
)

pytestmark = pytest.mark.postgres  # every combination has a PostgreSQL side

Run = Callable[..., dict[str, Any]]
Rows = list[dict[str, Any]]
MODEL_COLUMNS = [
    (c["name_in_source"], c["name_in_destination"], c["data_type"])
    for c in order_model()["model"]["columns"]
]
NAMES = tuple(name for _, name, _ in MODEL_COLUMNS)


# --- one checksum for every vendor -----------------------------------------------------------


def coerce(value: Any, data_type: str) -> Any:
    """A stored value as the Python type of ``data_type``: bool, int, Decimal, float, date, UTC
    datetime, JSON value, bytes or str. Text forms are those the destinations document (0/1 or
    true/false, ISO 8601 dates and timestamps, naive timestamps in UTC, JSON text, base64)."""
    if value is None:
        return None
    if data_type == "boolean":
        if isinstance(value, str):
            return {"true": True, "false": False, "1": True, "0": False}[value.lower()]
        return bool(value)
    if data_type in ("integer", "bigint"):
        return int(value)
    if data_type == "decimal":
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if data_type == "float":
        return float(value)
    if data_type == "date":
        if isinstance(value, datetime):
            return value.date()
        return date.fromisoformat(value) if isinstance(value, str) else value
    if data_type == "timestamp":
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if data_type == "json":
        return json.loads(value) if isinstance(value, str | bytes) else value
    if data_type == "bytes":
        if isinstance(value, str):
            return base64.b64decode(value, validate=True)
        return bytes(value)
    return str(value)


def typed(row: dict[str, Any], *, by_source_name: bool = False) -> dict[str, Any]:
    """The model's columns of a row, by destination name, in their data types."""
    return {
        name: coerce(row[source if by_source_name else name], kind)
        for source, name, kind in MODEL_COLUMNS
    }


def digest(rows: Rows, *, by_source_name: bool = False) -> tuple[int, str]:
    return checksum([typed(r, by_source_name=by_source_name) for r in rows], NAMES)


# --- sources ---------------------------------------------------------------------------------


@dataclass
class Source:
    db: Database
    vendor: str
    config: dict[str, Any]
    table: str  # the model's source_table
    now: str  # SQL for the current time
    insert: str

    def rows(self, tenant: str) -> Rows:
        return self.db.rows("SELECT * FROM orders WHERE org_id = :t", {"t": tenant})

    def slice(self, tenant: str) -> tuple[tuple[int, str], set[int]]:
        rows = self.rows(tenant)
        return digest(rows, by_source_name=True), {int(r["id"]) for r in rows}

    def change(self) -> None:
        """Three updates (two tenants) and three inserts, stamped after everything read."""
        self.db.execute(
            f"UPDATE orders SET title = 'changed', amount = 1.5, updated_at = {self.now} "
            "WHERE id IN (1001, 1002, 2050)"
        )
        self.db.execute(self.insert, edge_rows("acme", 5000, 3, datetime.now(UTC)))


MARIADB_DDL = """
CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    org_id VARCHAR(64) NOT NULL,
    title LONGTEXT,
    amount DECIMAL(38, 10),
    quantity INT,
    is_paid BOOLEAN,
    shipped_on DATE,
    details JSON,
    attachment LONGBLOB,
    updated_at DATETIME(6),
    KEY orders_tenant_modified (org_id, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


@pytest.fixture
def postgres_source(source_db: Database) -> Source:
    config = source_db.config(schema="public")
    return Source(source_db, "postgres", config, "public.orders", "now()", INSERT)


@pytest.fixture
def mariadb_source() -> Iterator[Source]:
    """The same table and rows in a throwaway MariaDB database (DATETIME holds UTC)."""
    name = f"ferry_src_{uuid.uuid4().hex[:10]}"
    mysql_run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4")
    try:
        database = Database(name, engine)
        insert = INSERT.replace("CAST(:details AS JSONB)", ":details")
        database.execute(MARIADB_DDL)
        database.execute(insert, source_rows())
        # A reader: SELECT on its database, PROCESS to see open transactions (the horizon).
        with throwaway_user(f"SELECT ON `{name}`.*", "PROCESS ON *.*") as (user, password):
            config = mysql_config(user, password, database=name)
            yield Source(database, "mysql", config, f"{name}.orders", "UTC_TIMESTAMP(6)", insert)
    finally:
        engine.dispose()
        mysql_run(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def source(request: pytest.FixtureRequest) -> Source:
    return request.getfixturevalue(f"{request.param}_source")


def configure(api: Api, source: Source, vendor: str, configs: dict[str, dict[str, Any]]) -> Setup:
    """The source, the orders model and one recipient with one destination per tenant."""
    body = {"vendor": source.vendor, "name": "app", source.vendor: source.config}
    api.ok("POST", "/sources", json={"source": body})
    model = api.ok("POST", "/models", json=order_model(source_table=source.table))["model"]
    destinations = {}
    for tenant in TENANTS:
        recipient = api.ok(
            "POST",
            "/recipients",
            json={"recipient": {"name": tenant.title(), "id_in_provider_system": tenant}},
        )["recipient"]
        made = api.ok(
            "POST",
            "/destinations",
            json={
                "destination": {
                    "vendor": vendor,
                    "name": f"{tenant} {vendor}",
                    "recipient_id": recipient["id"],
                    vendor: configs[tenant],
                }
            },
        )
        destinations[tenant] = made["destination"]["id"]
    return Setup(api, destinations, {}, model["id"])


def run_all(setup: Setup, run_transfer: Run, **body: Any) -> dict[str, dict[str, Any]]:
    done = {t: run_transfer(setup.api, d, **body) for t, d in setup.destinations.items()}
    assert {t: d["status"] for t, d in done.items()} == dict.fromkeys(TENANTS, "SUCCESS")
    return done


# --- SQL destinations ------------------------------------------------------------------------


@dataclass
class SqlTarget:
    vendor: str
    configs: dict[str, dict[str, Any]]  # tenant → vendor config
    read: Callable[[str], Rows]  # tenant → its table's rows, as stored


@pytest.fixture
def postgres_target(dest_db: Database) -> SqlTarget:
    return SqlTarget(
        "postgres",
        {t: dest_db.config(schema=f"out_{t}", use_ssh_tunnel=False) for t in TENANTS},
        lambda tenant: dest_db.rows(f'SELECT * FROM "out_{tenant}".orders'),
    )


@pytest.fixture
def mysql_target() -> Iterator[SqlTarget]:
    """A write database per tenant on MariaDB (Ferry creates them), read back with PyMySQL:
    BOOLEAN as 0/1, DATETIME(6) as naive UTC, DECIMAL with its scale, JSON as text."""
    home = f"ferry_dst_{uuid.uuid4().hex[:10]}"
    targets = {t: f"{home}_{t}" for t in TENANTS}
    mysql_run(f"CREATE DATABASE `{home}`")

    def read(tenant: str) -> Rows:
        with (
            mysql_server(targets[tenant]) as connection,
            connection.cursor(pymysql.cursors.DictCursor) as cursor,
        ):
            cursor.execute("SELECT * FROM orders")
            return list(cursor.fetchall())

    try:
        grants = [f"ALL ON `{name}`.*" for name in (home, *targets.values())]
        with throwaway_user(*grants) as (user, password):
            configs = {
                t: mysql_config(
                    user,
                    password,
                    connection_database=home,
                    write_database=name,
                    use_ssh_tunnel=False,
                )
                for t, name in targets.items()
            }
            yield SqlTarget("mysql", configs, read)
    finally:
        for name in (*targets.values(), home):
            mysql_run(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def duckdb_target() -> Iterator[SqlTarget]:
    """One DuckDB file, a schema per tenant; read through Arrow."""
    with tempfile.TemporaryDirectory(prefix="ferry-duckdb-") as folder:
        path = os.path.join(folder, "warehouse.duckdb")

        def read(tenant: str) -> Rows:
            with duckdb.connect(path, read_only=True, config=dict(DUCKDB_CONFIG)) as connection:
                table: pa.Table = connection.sql(
                    f'SELECT * FROM "out_{tenant}".orders'
                ).to_arrow_table()
                return table.to_pylist()

        configs = {t: {"path": path, "schema": f"out_{t}"} for t in TENANTS}
        yield SqlTarget("duckdb", configs, read)


@pytest.fixture
def sqlite_target() -> Iterator[SqlTarget]:
    """A SQLite file per tenant: decimals, dates and timestamps as text, booleans as 0/1."""
    with tempfile.TemporaryDirectory(prefix="ferry-sqlite-") as folder:
        paths = {t: os.path.join(folder, f"{t}.sqlite") for t in TENANTS}

        def read(tenant: str) -> Rows:
            with closing(sqlite3.connect(paths[tenant])) as connection:
                connection.row_factory = sqlite3.Row
                return [dict(r) for r in connection.execute("SELECT * FROM orders")]

        yield SqlTarget("sqlite", {t: {"path": p} for t, p in paths.items()}, read)


@pytest.fixture
def sql_target(request: pytest.FixtureRequest) -> SqlTarget:
    return request.getfixturevalue(f"{request.param}_target")


def assert_sql_mirrors(target: SqlTarget, source: Source) -> None:
    for tenant in TENANTS:
        rows = target.read(tenant)
        expected, ids = source.slice(tenant)
        # Its own rows, and no other tenant's.
        assert {int(r["id"]) for r in rows} == ids, tenant
        assert digest(rows) == expected, tenant


@pytest.mark.parametrize(
    ("source", "sql_target"),
    [
        pytest.param("mariadb", "postgres", marks=pytest.mark.mysql, id="mariadb-to-postgres"),
        pytest.param("postgres", "mysql", marks=pytest.mark.mysql, id="postgres-to-mariadb"),
        pytest.param("postgres", "duckdb", id="postgres-to-duckdb"),
        pytest.param("postgres", "sqlite", id="postgres-to-sqlite"),
    ],
    indirect=True,
)
def test_sql_destinations_mirror_each_tenant(
    api: Api, source: Source, sql_target: SqlTarget, run_transfer: Run
) -> None:
    setup = configure(api, source, sql_target.vendor, sql_target.configs)

    first = run_all(setup, run_transfer)
    assert first["acme"]["rows_transferred"] == 120
    assert first["empty_co"]["rows_transferred"] == 0
    assert_sql_mirrors(sql_target, source)

    source.change()
    second = run_all(setup, run_transfer)
    assert {t: second[t]["delta_rows_transferred"] for t in TENANTS} == {
        "acme": 5,
        "globex": 1,
        "initech": 0,
        "empty_co": 0,
    }
    assert_sql_mirrors(sql_target, source)

    # Rows read again (the lookback, the NULL last-modified row) change nothing.
    third = run_all(setup, run_transfer)
    assert {t: third[t]["delta_rows_transferred"] for t in TENANTS} == dict.fromkeys(TENANTS, 0)
    assert_sql_mirrors(sql_target, source)

    # A full refresh rebuilds each table: a row deleted in the source disappears too.
    source.db.execute("DELETE FROM orders WHERE id = 1003")
    refreshed = run_all(setup, run_transfer, full_refresh=True)
    assert all(t["is_full_refresh"] for t in refreshed.values())
    assert refreshed["acme"]["rows_transferred"] == 122
    assert_sql_mirrors(sql_target, source)


# --- file destinations -----------------------------------------------------------------------


@dataclass
class FileTarget:
    vendor: str
    file_format: str  # as the manifests name it
    configs: dict[str, dict[str, Any]]
    files: Callable[[str], dict[str, bytes]]  # tenant → every file under its folder, by key
    parse: Callable[[bytes], Rows]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="ferry-moto-") as folder,
        moto_server(Path(folder)) as url,
    ):
        yield url


@pytest.fixture
def s3_compatible_target(s3_endpoint: str) -> Iterator[FileTarget]:
    """A bucket on the moto server, a folder per tenant; Parquet files."""
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    bucket = f"ferry-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)

    def keys(prefix: str = "") -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def files(tenant: str) -> dict[str, bytes]:
        found = {}
        for key in keys(f"exports/{tenant}/"):
            with client.get_object(Bucket=bucket, Key=key)["Body"] as body:
                found[key] = body.read()
        return found

    def parse(data: bytes) -> Rows:
        return pq.read_table(io.BytesIO(data)).to_pylist()

    configs = {
        t: {
            "host": s3_endpoint,
            "folder": f"/exports/{t}/",
            "bucket_name": bucket,
            "disable_ssl": True,
            "auth_method": "access_keys",
            "access_keys": {"access_id": "test", "secret_key": "test-secret"},
        }
        for t in TENANTS
    }
    try:
        yield FileTarget("s3_compatible", "PARQUET", configs, files, parse)
    finally:
        for key in keys():
            client.delete_object(Bucket=bucket, Key=key)
        client.delete_bucket(Bucket=bucket)
        client.close()


@pytest.fixture(scope="module")
def sshd() -> Iterator[tuple[SshServer, Path]]:
    require_sshd()
    with (
        tempfile.TemporaryDirectory(prefix="ferry-sshd-") as folder,
        sshd_server(Path(folder)) as server,
    ):
        yield server, Path(folder) / "authorized_keys"


def read_csv(data: bytes) -> Rows:
    """Every field as text; an unquoted empty field is NULL, a quoted one an empty string."""
    table = pcsv.read_csv(
        io.BytesIO(data),
        read_options=pcsv.ReadOptions(block_size=32 * 1024 * 1024),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(NAMES, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pylist()


@pytest.fixture
def sftp_target(app: Any, sshd: tuple[SshServer, Path]) -> Iterator[FileTarget]:
    """A folder per tenant on the test sshd, reached with a key pair Ferry generated and the
    server authorizes; CSV files."""
    server, authorized = sshd
    with session_scope(app.state.runtime.sessions) as session:
        public_key = ssh_keys.generate(session).public_key
    trusted = authorized.read_text()
    authorized.write_text(trusted + public_key + "\n")
    with tempfile.TemporaryDirectory(prefix="ferry-sftp-") as folder:

        def files(tenant: str) -> dict[str, bytes]:
            root = Path(folder, tenant)
            return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}

        configs = {
            t: {
                "host": "127.0.0.1",
                "port": server.port,
                "username": server.username,
                "folder": f"{folder}/{t}",
                "file_format": "csv",
                "csv": {"delimiter": ","},
                "auth_method": "public_key_auth",
                "public_key_auth": {"public_key": public_key},
            }
            for t in TENANTS
        }
        try:
            yield FileTarget("sftp", "CSV", configs, files, read_csv)
        finally:
            authorized.write_text(trusted)


@pytest.fixture
def file_target(request: pytest.FixtureRequest) -> FileTarget:
    return request.getfixturevalue(f"{request.param}_target")


def latest_versions(target: FileTarget, tenant: str, transfers: list[dict[str, Any]]) -> Rows:
    """The tenant's rows as a reader of its files sees them, after checking that each transfer
    has one manifest listing exactly its files, and that no file is outside a manifest."""
    stored = target.files(tenant)
    assert not [k for k in stored if posixpath.basename(k).startswith(".")], "partial files"
    manifests = {k: json.loads(v) for k, v in stored.items() if "/_manifests/" in k}
    data = {k: v for k, v in stored.items() if k not in manifests}
    ordered = sorted(manifests.items(), key=lambda item: item[1]["start_time"])
    assert [m["transfer_id"] for _, m in ordered] == [t["id"] for t in transfers]
    for (key, manifest), transfer in zip(ordered, transfers, strict=True):
        assert key == manifest["manifest_file_key"]
        assert posixpath.basename(key) == f"manifest_{transfer['id']}.json"
        assert "/_manifests/orders/dt=" in key
        assert manifest["transfer_type"] == (
            "FULL_REFRESH" if transfer["is_full_refresh"] else "INCREMENTAL"
        )
        assert manifest["file_format"] == target.file_format
        assert manifest["model_name"] == "orders"
        assert manifest["signature"] == files_signature(manifest["files"])
        listed = [f["data_file_key"] for f in manifest["files"]]
        own = [k for k in data if posixpath.basename(k).startswith(f"{transfer['id']}_")]
        assert sorted(listed) == sorted(own), transfer["id"]
        for entry in manifest["files"]:
            content = data[entry["data_file_key"]]
            assert entry["sha256_checksum"] == hashlib.sha256(content).hexdigest()
    assert {f["data_file_key"] for _, m in ordered for f in m["files"]} == set(data)

    # Everything before the last full refresh is dropped; then the greatest updated_at wins,
    # and among equals the later file (and the later row in it).
    refreshes = [i for i, (_, m) in enumerate(ordered) if m["transfer_type"] == "FULL_REFRESH"]
    newest: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    sequence = 0
    for _, manifest in ordered[max(refreshes, default=0) :]:
        for entry in manifest["files"]:
            for raw in target.parse(data[entry["data_file_key"]]):
                row = typed(raw)
                stamp = row["updated_at"]
                rank = (stamp is not None, stamp or datetime.min.replace(tzinfo=UTC), sequence)
                sequence += 1
                if row["id"] not in newest or rank > newest[row["id"]][0]:
                    newest[row["id"]] = (rank, row)
    return [row for _, row in newest.values()]


def every_id(target: FileTarget, tenant: str) -> set[int]:
    """The key of every row version in every data file of the tenant's folder."""
    return {
        int(row["id"])
        for key, data in target.files(tenant).items()
        if "/_manifests/" not in key
        for row in target.parse(data)
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "file_target"), [("postgres", "s3_compatible"), ("postgres", "sftp")], indirect=True
)
def test_file_destinations_mirror_each_tenant(
    api: Api, source: Source, file_target: FileTarget, run_transfer: Run
) -> None:
    setup = configure(api, source, file_target.vendor, file_target.configs)
    transfers: dict[str, list[dict[str, Any]]] = {t: [] for t in TENANTS}
    ever: dict[str, set[int]] = {t: set() for t in TENANTS}

    def run_and_check(**body: Any) -> dict[str, dict[str, Any]]:
        done = run_all(setup, run_transfer, **body)
        for tenant in TENANTS:
            transfers[tenant].append(done[tenant])
            expected, ids = source.slice(tenant)
            ever[tenant] |= ids
            latest = latest_versions(file_target, tenant, transfers[tenant])
            assert {r["id"] for r in latest} == ids, tenant
            assert digest(latest) == expected, tenant
            # No version of another tenant's row, in any file.
            assert every_id(file_target, tenant) <= ever[tenant], tenant
        return done

    first = run_and_check()
    assert first["acme"]["rows_transferred"] == 120
    assert first["empty_co"]["rows_transferred"] == 0
    source.change()
    run_and_check()
    run_and_check()
    source.db.execute("DELETE FROM orders WHERE id = 1003")
    refreshed = run_and_check(full_refresh=True)
    assert all(t["is_full_refresh"] for t in refreshed.values())
    assert refreshed["acme"]["rows_transferred"] == 122
