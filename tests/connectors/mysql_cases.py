"""MySQL (MariaDB here) for the conformance tests: a destination writing into a throwaway
database, and a source holding the fixture table in one.

The case modules import these factories to register them, so they are imported from there
lazily, inside the factories.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymysql

from ferry.connectors import registry

if TYPE_CHECKING:
    from tests.connectors.destination_cases import DestinationCase
    from tests.connectors.source_cases import SourceCase

SERVER: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def server(database: str | None = None, **options: Any) -> pymysql.Connection[Any]:
    """A plain autocommitting admin connection to the test server."""
    return pymysql.connect(
        **SERVER, database=database, charset="utf8mb4", autocommit=True, **options
    )


def run(sql: str, database: str | None = None) -> None:
    with server(database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)


@contextmanager
def throwaway_user(*grants: str) -> Iterator[tuple[str, str]]:
    """(user, password) of a new user holding the grants (``ALL ON `db`.*``…), dropped after."""
    user, password = f"ferry_{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    run(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    try:
        for grant in grants:
            run(f"GRANT {grant} TO '{user}'@'%'")
        yield user, password
    finally:
        run(f"DROP USER IF EXISTS '{user}'@'%'")


def config(user: str, password: str, **overrides: Any) -> dict[str, Any]:
    """A connector config for the test server (SSL is off there)."""
    return {
        "host": SERVER["host"],
        "port": SERVER["port"],
        "auth_method": "password_auth",
        "password_auth": {"username": user, "password": password},
        "disable_ssl": True,
        **overrides,
    }


@contextmanager
def mysql_case(tmp_path: Path) -> Iterator[DestinationCase]:
    from tests.connectors.destination_cases import DestinationCase, normalize

    home = f"ferry_dst_{uuid.uuid4().hex[:10]}"
    target = f"{home}_out"  # the write database: the connector creates it

    def query(sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with server(target) as connection, connection.cursor() as cursor:
            cursor.execute(sql, args or None)
            return list(cursor.fetchall())

    def rows(table: str) -> list[dict[str, Any]]:
        with server(target) as connection, connection.cursor(pymysql.cursors.DictCursor) as cursor:
            cursor.execute(f"SELECT * FROM `{table}`")
            return [{k: normalize(v) for k, v in row.items()} for row in cursor.fetchall()]

    def status() -> dict[str, datetime]:
        found = query("SELECT data_model_name, transfer_last_updated_at FROM _transfer_status")
        return {name: normalize(at) for name, at in found}

    def column_types(table: str) -> dict[str, str]:
        found = query(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.columns "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            target,
            table,
        )
        return {str(name): str(kind) for name, kind in found}

    run(f"CREATE DATABASE `{home}`")
    try:
        grants = (f"ALL ON `{home}`.*", f"ALL ON `{target}`.*")
        with throwaway_user(*grants) as (user, password):
            cls = registry.destination_class("mysql")
            settings = config(
                user,
                password,
                connection_database=home,
                write_database=target,
                use_ssh_tunnel=False,
            )
            connector = cls(cls.config_model.model_validate(settings))
            yield DestinationCase("mysql", connector, rows, status, column_types)
    finally:
        run(f"DROP DATABASE IF EXISTS `{target}`")
        run(f"DROP DATABASE IF EXISTS `{home}`")


@contextmanager
def mysql_source_case(tmp_path: Path) -> Iterator[SourceCase]:
    from tests.connectors.source_cases import SourceCase, create_sql

    name = f"ferry_src_{uuid.uuid4().hex[:10]}"
    run(f"CREATE DATABASE `{name}`")

    def execute(sql: str) -> None:
        run(sql, name)

    @contextmanager
    def open_transaction() -> Iterator[None]:
        with server(name) as connection, connection.cursor() as cursor:
            cursor.execute("START TRANSACTION")
            # InnoDB lists a transaction once it touches a table, and refreshes its list of
            # them at most every 0.1 s.
            cursor.execute("SELECT COUNT(*) FROM orders")
            time.sleep(0.2)
            yield
            connection.rollback()

    try:
        for statement in create_sql("DATETIME(6)", "DECIMAL(12,2)"):
            execute(statement)
        # A reader: SELECT on its database, and PROCESS to see other transactions (the horizon).
        with throwaway_user(f"SELECT ON `{name}`.*", "PROCESS ON *.*") as (user, password):
            cls = registry.source_class("mysql")
            connector = cls(cls.config_model.model_validate(config(user, password, database=name)))
            yield SourceCase("mysql", connector, execute, open_transaction, "datetime")
    finally:
        run(f"DROP DATABASE IF EXISTS `{name}`")
