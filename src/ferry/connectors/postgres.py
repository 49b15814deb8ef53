"""What PostgreSQL sources and destinations share: connecting (ADBC, Arrow-native binary COPY),
type names, and turning driver errors into user-facing ones."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import quote

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc_pg

from ferry.connectors import ssh
from ferry.connectors.base import ConnectorContext
from ferry.connectors.config import VendorConfig
from ferry.connectors.pool import Pool
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType

DEFAULT_TIMEOUT_SECONDS = 10

# PostgreSQL type → the Ferry types it can be read as.
READABLE: dict[str, frozenset[DataType]] = {}


def _readable(types: str, *data_types: DataType) -> None:
    for name in types.split(","):
        READABLE[name.strip()] = frozenset(data_types)


_S, _J = DataType.STRING, DataType.JSON
_readable("text, character varying, character, varchar, char, bpchar, citext, name", _S, _J)
_readable(
    "uuid, inet, cidr, macaddr, interval, time without time zone, "
    "time with time zone, money, xml, tsvector, bit, bit varying, USER-DEFINED, ARRAY",
    _S,
)
_readable("json, jsonb", _J, _S)
_readable("bytea", DataType.BYTES)
_readable("boolean", DataType.BOOLEAN, _S)
_readable(
    "smallint, integer", DataType.INTEGER, DataType.BIGINT, DataType.DECIMAL, DataType.FLOAT, _S
)
_readable("bigint", DataType.BIGINT, DataType.DECIMAL, DataType.FLOAT, _S)
_readable("numeric", DataType.DECIMAL, DataType.FLOAT, _S)
_readable("real, double precision", DataType.FLOAT, DataType.DECIMAL, _S)
_readable("date", DataType.DATE, DataType.TIMESTAMP, _S)
_readable("timestamp without time zone, timestamp with time zone", DataType.TIMESTAMP, _S)

# Short type names (Arrow field metadata of query results) → information_schema names.
LONG_NAMES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
}


def _conninfo_value(value: object) -> str:
    """A libpq keyword/value: quoted, with backslashes and quotes escaped."""
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# conninfo() of recent configs, by identity: configs are shared and never changed in place,
# and a transfer connects several times.
_CONNINFO: dict[int, tuple[VendorConfig, str]] = {}


def conninfo(
    config: VendorConfig, database: str | None = None, *, context: ConnectorContext | None = None
) -> str:
    """A libpq keyword/value connection string; through the config's SSH tunnel, if it has one
    (opened on the way, which needs ``context`` for the key).

    Not a URI: libpq repeats a URI it cannot parse in its error message, password included,
    while keyword/value strings are quoted field by field and never echoed.
    """
    if database is not None or getattr(config, "use_ssh_tunnel", False):
        return _conninfo(config, database, context or ConnectorContext())
    found = _CONNINFO.get(id(config))
    if found is None or found[0] is not config:
        if len(_CONNINFO) >= 512:
            _CONNINFO.clear()
        found = _CONNINFO[id(config)] = (config, _conninfo(config, None, ConnectorContext()))
    return found[1]


def _conninfo(config: VendorConfig, database: str | None, context: ConnectorContext) -> str:
    values = config.reveal()
    host, port = ssh.address(values, context)
    auth = values.get("password_auth") or {}
    options = {
        "host": host,
        "port": port,
        "dbname": database or values["database"],
        "user": auth.get("username", ""),
        "password": auth.get("password", ""),
        # SSL unless the config turns it off: credentials never cross a network in clear.
        "sslmode": "disable" if values.get("disable_ssl") else "require",
        "connect_timeout": values.get("connection_timeout_in_seconds") or DEFAULT_TIMEOUT_SECONDS,
        "application_name": "ferry",
    }
    return " ".join(f"{key}={_conninfo_value(value)}" for key, value in options.items())


POOL = Pool()


def rows(cursor: Any, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a small result, through the plain query protocol: ADBC's default COPY path
    pays a describe round trip and COPY framing that only large results earn back."""
    statement = cursor.adbc_statement
    statement.set_options(**{_USE_COPY: "false"})
    try:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    finally:
        statement.set_options(**{_USE_COPY: "true"})
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


_USE_COPY = "adbc.postgresql.use_copy"


def run(cursor: Any, sql: str) -> int:
    """A statement without a result set: ADBC's update path skips the COPY machinery its
    queries use, a round trip instead of three; returns the rows changed."""
    statement = cursor.adbc_statement
    statement.set_sql_query(sql)
    changed = statement.execute_update()
    return max(int(changed), 0)


class TimedCache:
    """Values that stay good for a few seconds, shared by a process's transfers."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._values: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            found = self._values.get(key)
        if found is None or time.monotonic() - found[0] > self.seconds:
            return None
        return found[1]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if len(self._values) > 10_000:
                self._values.clear()
            self._values[key] = (time.monotonic(), value)


class _Databases:
    """The ADBC database object each pooled connection string's connections share.

    The driver keeps its table of server types on the database object, and opening one costs
    a connection of its own. In "server" mode it reads every type and every column of every
    table on the server: for a database with a thousand schemas, a third of a second and some
    10 MiB per database object. Connections to the same place share one (``adbc_clone``); once
    the last of them is closed, the next connection builds it afresh.
    """

    def __init__(self) -> None:
        self._live: dict[str, set[Any]] = {}
        self._keys: dict[int, str] = {}
        # One lock per place: the driver counts a database object's connections without
        # atomics, so opening (cloning) and closing siblings must not overlap, while a slow
        # connect to one server must not hold up any other.
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _lock_for(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def open(self, key: str, info: str, types: str) -> Any:
        with self._lock_for(key):
            connection = None
            for sibling in list(self._live.get(key, ())):
                with suppress(adbc_driver_manager.Error):
                    connection = sibling.adbc_clone()
                    break
            if connection is None:
                connection = adbc_pg.connect(info, db_kwargs={_TYPE_RESOLVER: types})
            with self._lock:
                self._live.setdefault(key, set()).add(connection)
                self._keys[id(connection)] = key
        return connection

    def close(self, connection: Any) -> None:
        with self._lock:
            key = self._keys.get(id(connection))
        if key is None:
            with suppress(adbc_driver_manager.Error):
                connection.close()
            return
        with self._lock_for(key):
            with self._lock:
                self._keys.pop(id(connection), None)
                siblings = self._live.get(key, set())
                siblings.discard(connection)
                if not siblings:
                    self._live.pop(key, None)
            with suppress(adbc_driver_manager.Error):
                connection.close()


_TYPE_RESOLVER = "adbc.postgresql.type_resolver_mode"
_DATABASES = _Databases()


def _close(connection: Any) -> None:
    _DATABASES.close(connection)


def _alive(connection: Any) -> bool:
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
    except adbc_driver_manager.Error:
        return False
    return True


def _open(config: VendorConfig, key: str, info: str, types: str, *, read_only: bool) -> Any:
    try:
        connection = _DATABASES.open(key, info, types)
    except adbc_driver_manager.Error as exc:
        raise classify(exc, config) from None
    try:
        # Transactions are begun and ended by ``connect`` itself: left to the driver, its
        # ingest sends a BEGIN inside the open transaction, and every load would leave a
        # "there is already a transaction in progress" warning in the server's log.
        connection.adbc_connection.set_autocommit(True)
        cursor = connection.cursor()
        run(cursor, "SET TIME ZONE 'UTC'")
        run(cursor, "SET standard_conforming_strings = on")
        if read_only:
            run(cursor, "SET default_transaction_read_only = on")
        cursor.close()
    except adbc_driver_manager.Error as exc:
        _close(connection)
        raise classify(exc, config) from None
    return connection


class Transaction:
    """The connection of a ``connect`` block, as the block sees it: ``commit`` ends the block's
    transaction (nothing may run after it); a block that ends without it is rolled back."""

    __slots__ = ("_cursor", "connection", "open")

    def __init__(self, connection: Any, cursor: Any, *, begun: bool) -> None:
        self.connection = connection  # the driver's
        self._cursor = cursor
        self.open = begun

    def commit(self) -> None:
        if self.open:
            run(self._cursor, "COMMIT")
            self.open = False


@contextmanager
def connect(
    config: VendorConfig,
    *,
    types: str = "server",
    context: ConnectorContext | None = None,
    read_only: bool = False,
    transaction: bool = True,
) -> Iterator[tuple[Transaction, Any]]:
    """(connection, cursor), with a transaction begun unless ``transaction`` is False (each
    statement is then its own, as a single-statement read wants); rolled back unless
    committed.

    Connections come from, and return to, a per-process pool keyed by the full connection
    string; one that saw any error is closed instead. ``types`` is how the driver learns the
    server's types: "server" reads them all (enums, composites and domains of a source read
    as what they are), "builtin" knows PostgreSQL's own types only, which is all a destination
    writes and asks for, whatever the number of tables on the server. A ``read_only``
    connection's transactions cannot write (a source's query cannot change the provider's
    data). With an SSH tunnel, ``context`` holds the key it logs in with.
    """
    info = conninfo(config, context=context)
    key = f"{types}:{'ro' if read_only else 'rw'}:{info}"
    connection = POOL.take(key, _alive, _close) or _open(
        config, key, info, types, read_only=read_only
    )
    cursor = connection.cursor()
    clean = False
    try:
        if transaction:
            run(cursor, "BEGIN")
        state = Transaction(connection, cursor, begun=transaction)
        yield state, cursor
        clean = True
    except adbc_driver_manager.Error as exc:
        raise classify(exc, config) from None
    finally:
        try:
            if clean and state.open:
                run(cursor, "ROLLBACK")
            cursor.close()
        except adbc_driver_manager.Error:
            clean = False
        if clean:
            POOL.give(key, connection, _close)
        else:
            _close(connection)


_TRANSIENT_STATES = {
    "40001",
    "40P01",
    "53300",
    "57P01",
    "57P02",
    "57P03",
    "55P03",
    "57014",
    "08000",
    "08003",
    "08006",
}


# The same failures, told by a result stream's error, which carries no SQLSTATE: the server
# ended the session (restart, failover, pg_terminate_backend), the network dropped it, a
# timeout or a deadlock cancelled the statement.
_TRANSIENT_TEXTS = (
    "terminating connection",
    "server closed the connection unexpectedly",
    "could not receive data from server",
    "no connection to the server",
    "ssl syscall error",
    "canceling statement due to statement timeout",
    "canceling statement due to lock timeout",
    "deadlock detected",
    "could not serialize access",
)


def classify(exc: Exception, config: VendorConfig) -> ConnectorError:
    """A user-facing error for a driver error; the raw text goes to ``trace`` only."""
    raw = scrub(str(exc), config)
    values = config.public_view()
    where = f"{values.get('host')}:{values.get('port')}"
    state = getattr(exc, "sqlstate", None) or _sqlstate(raw)
    text = raw.lower()
    if state == "28P01" or "password authentication failed" in text:
        return ConnectorError(
            "the username or password was rejected",
            error_code="PRQL-AUTH",
            title="Authentication failed",
            blame="third_party",
            trace=raw,
        )
    if re.search(r'role "[^"]*" does not exist', raw):
        return ConnectorError(
            "the username was rejected: no such user on the server",
            error_code="PRQL-AUTH",
            title="Authentication failed",
            blame="third_party",
            trace=raw,
        )
    if state == "28000" or "no pg_hba.conf entry" in text:
        return ConnectorError(
            f"the server at {where} refuses connections from Ferry for this user (pg_hba.conf)",
            error_code="PRQL-AUTH",
            title="Connection not allowed",
            blame="third_party",
            trace=raw,
        )
    if state == "3D000" or ("database" in text and "does not exist" in text):
        return ConnectorError(
            f"database {values.get('database')!r} does not exist on {where}",
            error_code="PRQL-DATABASE",
            title="Database not found",
            blame="third_party",
            trace=raw,
        )
    if "could not translate host name" in text or "name or service not known" in text:
        return ConnectorError(
            f"host {values.get('host')!r} could not be resolved",
            error_code="PRQL-HOST",
            title="Unknown host",
            blame="third_party",
            trace=raw,
        )
    if "connection refused" in text:
        return ConnectorError(
            f"nothing accepts connections at {where} (connection refused)",
            error_code="PRQL-REFUSED",
            title="Connection refused",
            blame="third_party",
            trace=raw,
            retryable=True,
        )
    if "timeout expired" in text or "timed out" in text:
        return ConnectorError(
            f"connecting to {where} timed out",
            error_code="PRQL-TIMEOUT",
            title="Connection timed out",
            blame="third_party",
            trace=raw,
            retryable=True,
        )
    if "server does not support ssl" in text:
        return ConnectorError(
            f"the server at {where} does not offer SSL; set disable_ssl to "
            "true to connect without encryption",
            error_code="PRQL-SSL",
            title="SSL not available",
            blame="third_party",
            trace=raw,
        )
    if state == "42501" or "permission denied" in text:
        return ConnectorError(
            f"permission denied: {_first_line(raw)}",
            error_code="PRQL-PERMISSION",
            title="Permission denied",
            blame="third_party",
            trace=raw,
        )
    if state in ("42P01", "3F000"):
        return ConnectorError(
            _first_line(raw),
            error_code="PRQL-NOT-FOUND",
            title="Table or schema not found",
            blame="first_party",
            trace=raw,
        )
    if state in _TRANSIENT_STATES or any(sign in text for sign in _TRANSIENT_TEXTS):
        return ConnectorError(
            _first_line(raw),
            error_code="PRQL-TRANSIENT",
            title="Temporary database error",
            blame="third_party",
            trace=raw,
            retryable=True,
        )
    return ConnectorError(
        _first_line(raw), error_code="PRQL-DB", title="Database error", blame="unknown", trace=raw
    )


def _sqlstate(text: str) -> str | None:
    found = re.search(r"SQLSTATE: ([0-9A-Z]{5})", text)
    return found.group(1) if found else None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "database error"
    # "[libpq] Execution error [PGRES_FATAL_ERROR]: ERROR:  …" from a result stream.
    line = re.sub(r"^\[libpq\][^:]*:\s*(?:ERROR|FATAL):\s+", "", line)
    return re.sub(r"^[A-Z_]+: ", "", line)[:500]


def scrub(text: str, config: VendorConfig) -> str:
    """Remove every form of the config's secrets from a driver message."""
    for secret in _secrets(config):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, "***")
    # Credentials inside any URI the message may quote.
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def _secrets(config: VendorConfig) -> list[str]:
    # Very short values would turn ordinary words into asterisks; drivers do not echo
    # passwords anyway, so scrubbing is a second line of defence for real-length secrets.
    return [str(v) for v in config.split()[1].values() if v and len(str(v)) >= 4]
