"""What a PostgreSQL connection test tells the user: each way of failing to connect has its own
code and text (against a throwaway cluster that, unlike this machine's, asks for passwords),
and the permission checks hold for least-privilege users on the machine's server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from ferry.connectors import registry
from ferry.connectors.base import ReadRequest, Window, WriteContext, WriteMode
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType, ModelConfig
from tests import factories
from tests.conftest import Api
from tests.connectors.servers import PostgresServer, postgres_server

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture(scope="module")
def guarded() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


def settings(port: int, password: str, **overrides: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "database": "postgres",
        "schema": "public",
        "auth_method": "password_auth",
        "password_auth": {"username": "postgres", "password": password},
        "disable_ssl": True,
        "use_ssh_tunnel": False,
    } | overrides


def check(kind: str, config: dict[str, Any]) -> None:
    if kind == "source":
        cls = registry.source_class("postgres")
        cls(cls.config_model.model_validate(config)).check()
    else:
        target = registry.destination_class("postgres")
        target(target.config_model.model_validate(config)).check()


def failure(kind: str, config: dict[str, Any]) -> ConnectorError:
    with pytest.raises(ConnectorError) as raised:
        check(kind, config)
    return raised.value


@pytest.mark.parametrize("kind", ["source", "destination"])
def test_connection_failures_have_distinct_user_facing_codes(
    guarded: PostgresServer, kind: str
) -> None:
    check(kind, settings(guarded.port, guarded.password))  # the right password gets in
    wrong_password = guarded.password + "x"
    found = {
        "password": failure(kind, settings(guarded.port, wrong_password)),
        "user": failure(
            kind,
            settings(
                guarded.port,
                guarded.password,
                password_auth={"username": "nobody_here", "password": guarded.password},
            ),
        ),
        "host": failure(kind, settings(guarded.port, "x", host="no-such-host.invalid")),
        "port": failure(kind, settings(1, "x")),
        "database": failure(
            kind, settings(guarded.port, guarded.password, database="ferry_no_such_database")
        ),
    }
    assert {what: e.error_code for what, e in found.items()} == {
        "password": "PRQL-AUTH",
        "user": "PRQL-AUTH",
        "host": "PRQL-HOST",
        "port": "PRQL-REFUSED",
        "database": "PRQL-DATABASE",
    }
    assert found["password"].message == "the username or password was rejected"
    # With passwords asked for, the server does not tell an unknown user from a wrong password.
    assert found["user"].message == found["password"].message
    assert "no-such-host.invalid" in found["host"].message
    assert "127.0.0.1:1" in found["port"].message
    assert "ferry_no_such_database" in found["database"].message
    assert found["port"].is_retryable
    assert not found["password"].is_retryable
    assert not found["database"].is_retryable
    # The user sees Ferry's words; the server's own text is kept for the trace.
    assert "password authentication failed" in found["password"].trace
    for error in found.values():
        assert guarded.password not in error.message + error.trace
        assert wrong_password not in error.message + error.trace
        assert error.blame == "third_party"


def test_the_api_answers_a_wrong_password_in_the_2023_12_01_shape(
    guarded: PostgresServer, api: Api
) -> None:
    def probe(password: str) -> dict[str, Any]:
        body = factories.postgres_source(
            "guarded", host="127.0.0.1", port=guarded.port, database="postgres"
        )
        body["source"]["postgres"]["password_auth"]["username"] = "postgres"
        body["source"]["postgres"]["password_auth"]["password"] = password
        body["source"]["postgres"]["disable_ssl"] = True
        return api.ok("POST", "/test-source", json=body, version="2023-12-01")

    assert probe(guarded.password)["status"] == "success"
    refused = probe("not-" + guarded.password)
    assert refused["status"] == "error"
    error = refused["error"]
    assert error["error_code"] == "PRQL-AUTH"
    assert error["title"] == "Authentication failed"
    assert error["blame"] == "third_party"
    assert error["message"] == "the username or password was rejected"
    assert guarded.password not in str(refused)


# --- least privilege, on the machine's server (trust auth: any password is taken) ---------------


@pytest.fixture
def place() -> Iterator[tuple[str, str]]:
    """A fresh database in which PUBLIC may not create schemas, and a role to log in as."""
    database = f"ferry_perm_{uuid.uuid4().hex[:10]}"
    role = f"ferry_user_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(sa.text(f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC'))
    try:
        yield database, role
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def as_owner(database: str, *statements: str) -> None:
    engine = sa.create_engine(f"{SERVER}/{database}", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    engine.dispose()


def rows_in(database: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(f"{SERVER}/{database}")
    with engine.connect() as connection:
        found = [tuple(row) for row in connection.execute(sa.text(sql))]
    engine.dispose()
    return found


T0 = datetime(2024, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)
TABLE = TableSpec(
    "items",
    (
        ColumnSpec("id", "id", DataType.BIGINT, is_primary_key=True),
        ColumnSpec("name", "name", DataType.STRING),
        ColumnSpec("updated_at", "updated_at", DataType.TIMESTAMP, is_last_modified=True),
    ),
    model_name="items",
)


def login(database: str, role: str, schema: str) -> dict[str, Any]:
    return settings(
        5432,
        "unused",
        database=database,
        schema=schema,
        password_auth={"username": role, "password": "unused"},
    )


def load(connector: Any, *rounds: tuple[WriteMode, range, bool]) -> None:
    """One write of rows ``ids`` per round, in ``mode``, expecting the table or not."""
    for mode, ids, expect in rounds:
        rows = [{"id": i, "name": f"n{i}", "updated_at": T0} for i in ids]
        connector.write(
            TABLE,
            iter([pa.RecordBatch.from_pylist(rows, schema=TABLE.arrow_schema())]),
            mode=mode,
            context=WriteContext(transfer_id=f"t-{ids.start}", model_id="m", status_time=T0),
            expect_table=expect,
        )


def test_a_destination_schema_granted_to_the_user_alone_is_enough(
    place: tuple[str, str],
) -> None:
    # The recipient made the schema and granted Ferry rights on it, not on the database.
    database, role = place
    as_owner(database, "CREATE SCHEMA shared", f'GRANT USAGE, CREATE ON SCHEMA shared TO "{role}"')
    config = login(database, role, "shared")
    check("destination", config)
    cls = registry.destination_class("postgres")
    connector = cls(cls.config_model.model_validate(config))
    # Loads work too: the first one, a merge through staging, a full refresh.
    load(
        connector,
        (WriteMode.UPSERT, range(1, 101), False),
        (WriteMode.UPSERT, range(50, 151), True),
        (WriteMode.REPLACE, range(1, 21), True),
    )
    assert rows_in(database, "SELECT count(*), max(id) FROM shared.items") == [(20, 20)]
    assert rows_in(database, "SELECT data_model_name FROM shared._transfer_status") == [("items",)]
    # A schema that is not there needs CREATE on the database, which this user lacks.
    refused = failure("destination", login(database, role, "elsewhere"))
    assert refused.error_code == "PRQL-PERMISSION"
    assert "permission denied" in refused.message


def test_a_destination_schema_the_user_may_not_write_to_is_refused(
    place: tuple[str, str],
) -> None:
    database, role = place
    as_owner(database, "CREATE SCHEMA shared", f'GRANT USAGE ON SCHEMA shared TO "{role}"')
    refused = failure("destination", login(database, role, "shared"))
    assert refused.error_code == "PRQL-PERMISSION"
    assert refused.title == "Permission denied"
    assert "shared" in refused.message


def test_a_source_schema_must_exist_and_be_readable(place: tuple[str, str]) -> None:
    database, role = place
    as_owner(
        database,
        "CREATE SCHEMA app",
        "CREATE SCHEMA hidden",
        f'GRANT USAGE ON SCHEMA app TO "{role}"',
    )
    check("source", login(database, role, "app"))
    missing = failure("source", login(database, role, "no_such_schema"))
    assert missing.error_code == "PRQL-NOT-FOUND"
    assert "no_such_schema" in missing.message
    hidden = failure("source", login(database, role, "hidden"))
    assert hidden.error_code == "PRQL-PERMISSION"
    assert "USAGE" in hidden.message
    assert "hidden" in hidden.message


def test_loads_and_reads_leave_no_warning_in_the_server_log(guarded: PostgresServer) -> None:
    """A recipient's DBA reads the server's log: Ferry's transactions leave nothing there (the
    driver used to send a BEGIN inside each load's open transaction, a warning every time)."""
    schema = f"out_{uuid.uuid4().hex[:8]}"
    config = settings(guarded.port, guarded.password, schema=schema)
    cls = registry.destination_class("postgres")
    connector = cls(cls.config_model.model_validate(config))
    connector.check()
    load(
        connector,
        (WriteMode.UPSERT, range(1, 101), False),  # the first load, straight into the table
        (WriteMode.UPSERT, range(50, 151), True),  # a merge through staging
        (WriteMode.UPSERT, range(200, 200), True),  # nothing new
        (WriteMode.REPLACE, range(1, 21), True),  # a full refresh
    )
    source_cls = registry.source_class("postgres")
    source = source_cls(source_cls.config_model.model_validate(config))
    source.check()
    model = ModelConfig.model_validate(
        {
            "model_name": "items",
            "source_table": f"{schema}.items",
            "organization_column": "name",
            "columns": [
                {"name_in_source": c.name, "name_in_destination": c.name, "data_type": t}
                | ({"is_primary_key": True} if c.is_primary_key else {})
                | ({"is_last_modified": True} if c.is_last_modified else {})
                for c, t in zip(TABLE.columns, ("bigint", "string", "timestamp"), strict=True)
            ],
        }
    )
    source.columns(model)
    source.horizon()
    request = ReadRequest(
        model=model, table=TableSpec.from_model(model), tenant="n5", window=Window()
    )
    assert sum(batch.num_rows for batch in source.read(request)) == 1
    logged = guarded.log.read_text(errors="replace")
    assert "WARNING" not in logged, logged[-2000:]
