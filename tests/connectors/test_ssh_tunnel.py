"""PostgreSQL and MySQL reached through an SSH tunnel: a real OpenSSH daemon on this machine as
the bastion, forwarding to the machine's PostgreSQL and MariaDB, and each way it can fail."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pymysql
import pytest
import sqlalchemy as sa

from ferry.connectors import registry, ssh
from ferry.connectors.base import ConnectorContext, ReadRequest, Window, WriteContext, WriteMode
from ferry.connectors.types import ColumnSpec, TableSpec, conform
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig
from tests.conftest import Api
from tests.connectors.mysql_cases import run as mysql_run
from tests.connectors.mysql_cases import throwaway_user
from tests.connectors.servers import SshServer, free_port, key_pair, require_sshd, sshd_server

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
T0 = datetime(2024, 6, 1, 8, 0, 0, 654321, tzinfo=UTC)
TABLE = TableSpec(
    "items",
    (
        ColumnSpec("id", "id", DataType.BIGINT, is_primary_key=True),
        ColumnSpec("name", "name", DataType.STRING),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="items",
)
MODEL = ModelConfig.model_validate(
    {
        "model_name": "items",
        "source_table": "items",
        "organization_column": "org_id",
        "columns": [
            {
                "name_in_source": "id",
                "name_in_destination": "id",
                "data_type": "bigint",
                "is_primary_key": True,
            },
            {"name_in_source": "name", "name_in_destination": "name", "data_type": "string"},
            {
                "name_in_source": "updated_at",
                "name_in_destination": "updated_at",
                "data_type": "timestamp",
                "is_last_modified": True,
            },
        ],
    }
)


@pytest.fixture(scope="module")
def bastion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    require_sshd()
    with sshd_server(tmp_path_factory.mktemp("bastion")) as server:
        yield server
    ssh.close_all()


@pytest.fixture
def pg_database() -> Iterator[str]:
    name = f"ferry_ssh_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def mysql_database() -> Iterator[str]:
    name = f"ferry_ssh_{uuid.uuid4().hex[:10]}"
    mysql_run(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        mysql_run(f"DROP DATABASE IF EXISTS `{name}`")


def tunnel(server: SshServer, **overrides: Any) -> dict[str, Any]:
    return {
        "use_ssh_tunnel": True,
        "ssh_tunnel": {
            "ssh_tunnel_host": "127.0.0.1",
            "ssh_tunnel_port": server.port,
            "ssh_tunnel_username": server.username,
            "ssh_public_key": server.key.public,
        }
        | overrides,
    }


def keys(server: SshServer) -> ConnectorContext:
    return ConnectorContext(private_keys={server.key.public: server.key.private})


def pg_config(database: str, server: SshServer, **overrides: Any) -> dict[str, Any]:
    # host and port as the bastion sees the database.
    return {
        "host": "127.0.0.1",
        "port": 5432,
        "database": database,
        "schema": "public",
        "auth_method": "password_auth",
        "password_auth": {"username": "postgres", "password": "unused"},
        "disable_ssl": True,
    } | tunnel(server, **overrides)


def mysql_config(database: str, server: SshServer, login: tuple[str, str]) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": 3306,
        "connection_database": database,
        "write_database": database,
        "database": database,
        "auth_method": "password_auth",
        "password_auth": {"username": login[0], "password": login[1]},
        "disable_ssl": True,
    } | tunnel(server)


def make(kind: str, vendor: str, config: dict[str, Any], context: ConnectorContext) -> Any:
    cls = registry.source_class(vendor) if kind == "source" else registry.destination_class(vendor)
    fields = set(cls.config_model.model_fields) | {
        f.alias for f in cls.config_model.model_fields.values() if f.alias
    }
    return cls(
        cls.config_model.model_validate({k: v for k, v in config.items() if k in fields}),
        context=context,
    )


def load(destination: Any, ids: range) -> None:
    rows = [{"id": i, "name": f"ünïcode {i}", "updated_at": T0} for i in ids]
    destination.write(
        TABLE,
        iter([pa.RecordBatch.from_pylist(rows, schema=TABLE.arrow_schema())]),
        mode=WriteMode.UPSERT,
        context=WriteContext(transfer_id=f"t-{ids.start}", model_id="m", status_time=T0),
    )


def read(source: Any, tenant: str) -> list[dict[str, Any]]:
    request = ReadRequest(model=MODEL, table=TABLE, tenant=tenant, window=Window())
    batches = [conform(b, TABLE) for b in source.read(request)]
    return pa.Table.from_batches(batches, schema=TABLE.arrow_schema()).to_pylist()


def test_postgres_through_a_tunnel(bastion: SshServer, pg_database: str) -> None:
    config = pg_config(pg_database, bastion)
    destination = make("destination", "postgres", config, keys(bastion))
    destination.check()
    load(destination, range(1, 1001))
    load(destination, range(500, 1501))  # a merge through staging, over the same tunnel
    engine = sa.create_engine(f"{PG}/{pg_database}")
    with engine.begin() as connection:
        assert connection.execute(sa.text("SELECT count(*), max(id) FROM public.items")).one() == (
            1500,
            1500,
        )
        connection.execute(sa.text("ALTER TABLE public.items ADD COLUMN org_id text"))
        connection.execute(
            sa.text("UPDATE public.items SET org_id = CASE WHEN id <= 3 THEN 'a' END")
        )
    engine.dispose()
    source = make("source", "postgres", config, keys(bastion))
    source.check()
    rows = read(source, "a")
    assert [(r["id"], r["name"], r["updated_at"]) for r in rows] == [
        (i, f"ünïcode {i}", T0) for i in (1, 2, 3)
    ]


def test_mysql_through_a_tunnel(bastion: SshServer, mysql_database: str) -> None:
    with throwaway_user(f"ALL ON `{mysql_database}`.*") as login:
        mysql_through_a_tunnel(
            bastion, mysql_database, mysql_config(mysql_database, bastion, login)
        )


def mysql_through_a_tunnel(bastion: SshServer, mysql_database: str, config: dict[str, Any]) -> None:
    destination = make("destination", "mysql", config, keys(bastion))
    destination.check()
    load(destination, range(1, 101))
    load(destination, range(50, 151))
    mysql_run(f"ALTER TABLE `{mysql_database}`.items ADD COLUMN org_id varchar(8)")
    mysql_run(f"UPDATE `{mysql_database}`.items SET org_id = IF(id BETWEEN 10 AND 11, 'b', NULL)")
    direct = pymysql.connect(host="127.0.0.1", user="root", database=mysql_database)
    with direct, direct.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM items")
        assert cursor.fetchone() == (150,)
    source = make("source", "mysql", config, keys(bastion))
    source.check()
    assert [r["id"] for r in read(source, "b")] == [10, 11]


def test_connections_share_one_tunnel_and_a_broken_one_is_reopened(
    bastion: SshServer, pg_database: str
) -> None:
    config = pg_config(pg_database, bastion)
    source = make("source", "postgres", config, keys(bastion))
    values = source.config.reveal()
    first = ssh.address(values, keys(bastion))
    assert first[0] == "127.0.0.1"
    assert ssh.address(values, keys(bastion)) == first
    source.check()
    ssh.close_all()  # as when the bastion drops the session
    source.check()
    assert ssh.address(values, keys(bastion)) != first


def failure(config: dict[str, Any], context: ConnectorContext) -> ConnectorError:
    with pytest.raises(ConnectorError) as raised:
        make("destination", "postgres", config, context).check()
    return raised.value


def test_each_tunnel_failure_says_what_went_wrong(
    bastion: SshServer, pg_database: str, tmp_path: Path
) -> None:
    stranger = key_pair()  # a key Ferry holds that the bastion does not trust
    rejected = failure(
        pg_config(pg_database, bastion, ssh_public_key=stranger.public),
        ConnectorContext(private_keys={stranger.public: stranger.private}),
    )
    assert rejected.error_code == "PRQL-AUTH"
    assert bastion.username in rejected.message
    assert "authorized_keys" in rejected.message

    closed = failure(pg_config(pg_database, bastion, ssh_tunnel_port=free_port()), keys(bastion))
    assert closed.error_code == "PRQL-REFUSED"
    assert closed.is_retryable

    unknown = failure(
        pg_config(pg_database, bastion, ssh_tunnel_host="bastion.invalid"), keys(bastion)
    )
    assert unknown.error_code == "PRQL-HOST"
    assert "bastion.invalid" in unknown.message

    unreachable = failure(pg_config(pg_database, bastion) | {"port": free_port()}, keys(bastion))
    assert unreachable.error_code == "PRQL-SSH"
    assert "could not reach 127.0.0.1:" in unreachable.message

    no_private_half = failure(pg_config(pg_database, bastion), ConnectorContext())
    assert no_private_half.error_code == "PRQL-KEY"

    no_key = failure(pg_config(pg_database, bastion, ssh_public_key=None), keys(bastion))
    assert no_key.error_code == "PRQL-KEY"
    assert "ssh_public_key" in no_key.message
    for error in (rejected, closed, unknown, unreachable, no_private_half, no_key):
        assert bastion.key.private not in error.message + error.trace
        assert stranger.private not in error.message + error.trace


def test_a_silent_bastion_holds_up_no_other_tunnel(
    bastion: SshServer, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bastion that accepts the connection and then says nothing keeps its own tunnel waiting
    until the connect timeout, and only that one."""
    monkeypatch.setattr(ssh, "CONNECT_TIMEOUT_SECONDS", 6)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        stuck: list[ConnectorError] = []
        waiting = threading.Thread(
            target=lambda: stuck.append(
                failure(
                    pg_config(pg_database, bastion, ssh_tunnel_port=silent.getsockname()[1]),
                    keys(bastion),
                )
            )
        )
        waiting.start()
        accepted, _ = silent.accept()  # the first tunnel now waits for the bastion's greeting
        with accepted:
            ssh.close_all()
            make("destination", "postgres", pg_config(pg_database, bastion), keys(bastion)).check()
            assert waiting.is_alive(), "the working bastion's tunnel waited for the silent one"
            waiting.join()
    assert stuck[0].is_retryable


def test_a_key_ferry_generated_opens_a_tunnel_through_the_api(
    bastion: SshServer, pg_database: str, api: Api, make_tenant: Any
) -> None:
    generated = api.ok("POST", "/actions/generate-ssh-key")["public_key"]
    authorized = bastion.authorized_keys
    body = {
        "vendor": "postgres",
        "name": "through the bastion",
        "postgres": pg_config(pg_database, bastion, ssh_public_key=generated),
    }
    before = api.ok("POST", "/test-source", json={"source": body}, version="2023-12-01")
    assert before["status"] == "error"
    assert before["error"]["error_code"] == "PRQL-AUTH"
    # The recipient authorizes Ferry's public key on the bastion.
    authorized.write_text(authorized.read_text() + generated + "\n")
    after = api.ok("POST", "/test-source", json={"source": body}, version="2023-12-01")
    assert after["status"] == "success", after
    source = api.ok("POST", "/sources", json={"source": body})["source"]
    saved = api.ok(
        "POST",
        f"/sources/{source['id']}/test-connection",
        json={"source": {}},
        version="2023-12-01",
    )
    assert saved["status"] == "success", saved
    # The saved source made the key its environment's: another organization cannot use it.
    other = make_tenant().staging
    borrowed = other.ok("POST", "/test-source", json={"source": body}, version="2023-12-01")
    assert borrowed["status"] == "error"
    assert borrowed["error"]["error_code"] == "PRQL-KEY"
    refused = other.call("POST", "/sources", json={"source": body})
    assert refused.status_code == 400, refused.text
    assert "another environment" in refused.text
