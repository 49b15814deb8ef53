"""What MySQL and Aurora MySQL sources and destinations share: connecting (PyMySQL), the session
every statement runs in, type names, and turning driver errors into user-facing ones.

Every session runs with ``time_zone = '+00:00'``, so TIMESTAMP values and ``NOW()`` are UTC and
DATETIME values are read and written as UTC, and with a fixed ``sql_mode`` whatever the server's
default is: ``STRICT_ALL_TABLES`` turns a value that does not fit its column into an error instead
of a silent truncation, and ``NO_BACKSLASH_ESCAPES`` makes string literals follow the SQL
standard, so ``SqlDialect.literal`` (quotes doubled, nothing else special) is the whole escaping.

Values are fetched as the server's own text (no driver-side conversion): decimals keep every
digit, and the connectors decide how each text becomes an Arrow value.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from ferry.connectors import ssh
from ferry.connectors.base import ConnectorContext
from ferry.connectors.config import VendorConfig
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType

# PyMySQL is imported inside the functions that use it: drivers load only for vendors in use.
if TYPE_CHECKING:
    from pymysql.connections import Connection
    from pymysql.cursors import Cursor

DEFAULT_TIMEOUT_SECONDS = 10
SQL_MODE = (
    "STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO"
)


@cache
def _encoders() -> dict[Any, Any]:
    """Encoders only: with no decoders PyMySQL hands every value over as the server's text
    (bytes for binary columns), which keeps decimals exact and leaves the typing to the
    connectors."""
    import pymysql.converters

    return {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}


# MySQL type (information_schema DATA_TYPE, or a refinement of it) → the Ferry types it can be
# read as. ``tinyint(1)`` is how MySQL spells BOOLEAN; unsigned types lose the Ferry integer
# type whose range they exceed. MariaDB's JSON is LONGTEXT, so text types can be read as json.
READABLE: dict[str, frozenset[DataType]] = {}


def _readable(types: str, *data_types: DataType) -> None:
    for name in types.split(","):
        READABLE[name.strip()] = frozenset(data_types)


_S, _J, _B = DataType.STRING, DataType.JSON, DataType.BYTES
_I, _BI, _D, _F = DataType.INTEGER, DataType.BIGINT, DataType.DECIMAL, DataType.FLOAT
_readable("char, varchar, tinytext, text, mediumtext, longtext", _S, _J)
_readable("enum, set, time, uuid, inet4, inet6", _S)
_readable("json", _J, _S)
_readable("binary, varbinary, tinyblob, blob, mediumblob, longblob", _B)
_readable("tinyint(1), boolean, bool", DataType.BOOLEAN, _I, _BI, _D, _F, _S)
_readable("bit(1)", DataType.BOOLEAN, _I, _BI, _B)
_readable("bit", _BI, _B)
_readable("tinyint, smallint, mediumint, int, integer", _I, _BI, _D, _F, _S)
_readable("tinyint unsigned, smallint unsigned, mediumint unsigned", _I, _BI, _D, _F, _S)
_readable("int unsigned, bigint", _BI, _D, _F, _S)
_readable("bigint unsigned, decimal, numeric", _D, _F, _S)
_readable("float, double, real", _F, _D, _S)
_readable("year", _I, _BI, _S)
_readable("date", DataType.DATE, DataType.TIMESTAMP, _S)
_readable("datetime, timestamp", DataType.TIMESTAMP, _S)
# A custom query's result names a text or a binary string with the same type code, so its
# string columns are accepted as either.
_readable("string", _S, _J, _B)


@cache
def type_codes() -> dict[int, str]:
    """Result type codes of a custom query → the names above."""
    from pymysql.constants import FIELD_TYPE

    return {
        FIELD_TYPE.DECIMAL: "decimal",
        FIELD_TYPE.NEWDECIMAL: "decimal",
        FIELD_TYPE.TINY: "tinyint",
        FIELD_TYPE.SHORT: "smallint",
        FIELD_TYPE.INT24: "mediumint",
        FIELD_TYPE.LONG: "int",
        FIELD_TYPE.LONGLONG: "bigint",
        FIELD_TYPE.FLOAT: "float",
        FIELD_TYPE.DOUBLE: "double",
        FIELD_TYPE.YEAR: "year",
        FIELD_TYPE.DATE: "date",
        FIELD_TYPE.NEWDATE: "date",
        FIELD_TYPE.DATETIME: "datetime",
        FIELD_TYPE.TIMESTAMP: "timestamp",
        FIELD_TYPE.TIME: "time",
        FIELD_TYPE.BIT: "bit",
        FIELD_TYPE.JSON: "json",
        FIELD_TYPE.ENUM: "enum",
        FIELD_TYPE.SET: "set",
        **dict.fromkeys(
            (
                FIELD_TYPE.VARCHAR,
                FIELD_TYPE.VAR_STRING,
                FIELD_TYPE.STRING,
                FIELD_TYPE.TINY_BLOB,
                FIELD_TYPE.MEDIUM_BLOB,
                FIELD_TYPE.LONG_BLOB,
                FIELD_TYPE.BLOB,
            ),
            "string",
        ),
    }


def kind(data_type: str, column_type: str) -> str:
    """The READABLE name of an information_schema column (DATA_TYPE, COLUMN_TYPE)."""
    data_type, column_type = data_type.lower(), column_type.lower()
    if column_type.startswith(("tinyint(1)", "bit(1)")):
        return column_type[: column_type.index(")") + 1]
    if "unsigned" in column_type and data_type in ("tinyint", "smallint", "mediumint", "int"):
        return f"{data_type} unsigned"
    if "unsigned" in column_type and data_type == "bigint":
        return "bigint unsigned"
    return data_type


@dataclass(frozen=True, slots=True)
class Server:
    """What differs between the servers speaking the MySQL protocol."""

    version: tuple[int, ...]
    is_mariadb: bool

    @property
    def max_decimal_scale(self) -> int:
        # https://mariadb.com/kb/en/decimal/ (38 since 10.2.1); MySQL stays at 30.
        return 38 if self.is_mariadb else 30

    @property
    def key_collation(self) -> str:
        """A binary collation with no trailing-space padding, where the server has one: keys
        compare exactly (``'a'``, ``'A'`` and ``'a '`` are three keys)."""
        if self.is_mariadb:
            return "utf8mb4_nopad_bin"
        # utf8mb4_0900_bin arrived in MySQL 8.0.17; before it only the padding utf8mb4_bin.
        return "utf8mb4_0900_bin" if self.version >= (8, 0, 17) else "utf8mb4_bin"


def server_of(connection: Connection[Any]) -> Server:
    info = str(cast(Any, connection).get_server_info())
    is_mariadb = "mariadb" in info.lower()
    # MariaDB prefixes "5.5.5-" for the sake of old replication clients.
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", info.removeprefix("5.5.5-"))
    version = tuple(int(p) for p in found.groups()) if found else (0,)
    return Server(version=version, is_mariadb=is_mariadb)


class _ResultGuard:
    """Mixed into PyMySQL's ``MySQLResult`` by ``_guarded_result``."""

    def _read_load_local_packet(self, first_packet: Any) -> None:
        import pymysql
        from pymysql.constants import CR
        from pymysql.protocol import LoadLocalPacketWrapper

        connection = cast("GuardedConnection", cast(Any, self).connection)
        requested = LoadLocalPacketWrapper(first_packet).filename
        offered = connection.offered_file
        if offered is None or requested != offered.encode():
            # The protocol cannot go on without sending some file: the connection is dropped.
            cast(Any, connection)._force_close()
            raise pymysql.OperationalError(
                CR.CR_UNKNOWN_ERROR,
                "the server asked for a local file Ferry did not offer; refused",
            )
        cast(Any, super())._read_load_local_packet(first_packet)


class ConnectionGuard:
    """A connection that sends a local file only to its own ``LOAD DATA LOCAL INFILE``, and only
    the file named there.

    With LOCAL INFILE enabled, a server may answer *any* statement with "send me file X", and
    PyMySQL would send it: a hostile or compromised destination could read the worker's files
    (its secret key, other tenants' credentials). ``offered_file`` is set only while Ferry's
    own load runs. PyMySQL has no hook for this, so two of its internal methods are extended
    (``_read_query_result``, ``_read_load_local_packet``); tests run the guard against a real
    server. Mixed into PyMySQL's ``Connection`` by ``_guarded_connection``.
    """

    offered_file: str | None = None

    def _read_query_result(self, unbuffered: bool = False) -> int:
        # PyMySQL's own method, with the guarded result class.
        self_ = cast(Any, self)
        self_._result = None
        result = _guarded_result()(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self_._result = result
        if result.server_status is not None:
            self_.server_status = result.server_status
        return cast(int, result.affected_rows)


if TYPE_CHECKING:

    class GuardedConnection(ConnectionGuard, Connection[Cursor]):
        """A PyMySQL connection with ``ConnectionGuard``."""


@cache
def _guarded_result() -> Any:
    """PyMySQL's result class with ``_ResultGuard``."""
    from pymysql.connections import MySQLResult

    return type("_GuardedResult", (_ResultGuard, MySQLResult), {})


@cache
def _guarded_connection() -> type[GuardedConnection]:
    """PyMySQL's connection class with ``ConnectionGuard``."""
    from pymysql.connections import Connection

    built = type("GuardedConnection", (ConnectionGuard, Connection), {})
    return cast("type[GuardedConnection]", built)


def open_connection(
    config: VendorConfig,
    *,
    database: str | None = None,
    context: ConnectorContext | None = None,
) -> GuardedConnection:
    """A connection in Ferry's session settings, outside any transaction; through the config's
    SSH tunnel, if it has one (``context`` holds the key it logs in with)."""
    import pymysql

    values = config.reveal()
    host, port = ssh.address(values, context or ConnectorContext())
    auth = values.get("password_auth") or {}
    options: dict[str, Any] = {}
    if values.get("disable_ssl"):
        options["ssl_disabled"] = True
    else:
        # Like libpq's sslmode=require: encrypted, the certificate not verified. A context (not
        # a dict) makes PyMySQL refuse a server without SSL instead of falling back to clear text.
        encrypted = ssl.create_default_context()
        encrypted.check_hostname = False
        encrypted.verify_mode = ssl.CERT_NONE
        options["ssl"] = encrypted
    try:
        return _guarded_connection()(
            host=host,
            port=port,
            user=str(auth.get("username", "")),
            password=str(auth.get("password", "")),
            database=database or values.get("database") or values.get("connection_database"),
            charset="utf8mb4",
            local_infile=True,
            connect_timeout=int(
                values.get("connection_timeout_in_seconds") or DEFAULT_TIMEOUT_SECONDS
            ),
            conv=_encoders(),
            autocommit=False,
            init_command=f"SET time_zone = '+00:00', sql_mode = '{SQL_MODE}'",
            program_name="ferry",
            **options,
        )
    except pymysql.MySQLError as exc:
        raise classify(exc, config) from None


def close(connection: Connection[Any]) -> None:
    """Roll back whatever is open and close, ignoring a connection that is already gone."""
    if not connection.open:
        return
    import pymysql

    with suppress(pymysql.MySQLError):
        connection.rollback()
    with suppress(pymysql.MySQLError):
        connection.close()


def abandon(connection: Connection[Any]) -> None:
    """Close a connection in the middle of a streamed result without reading the rest of it.

    PyMySQL would otherwise drain the result (every remaining row of the table) before the
    next command, or when the cursor is collected.
    """
    result = getattr(connection, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    if connection.open:
        with suppress(Exception):
            connection.close()


@contextmanager
def offering(connection: Connection[Any], path: str) -> Iterator[None]:
    """Let the server fetch this one local file, for the LOAD DATA LOCAL INFILE run inside."""
    if not isinstance(connection, ConnectionGuard):
        raise TypeError("LOAD DATA LOCAL needs a connection made by ferry.connectors.mysql")
    connection.offered_file = path
    try:
        yield
    finally:
        connection.offered_file = None


@contextmanager
def connect(
    config: VendorConfig,
    *,
    database: str | None = None,
    context: ConnectorContext | None = None,
) -> Iterator[tuple[GuardedConnection, Cursor]]:
    """(connection, cursor); statements run in a transaction rolled back unless committed."""
    import pymysql

    connection = open_connection(config, database=database, context=context)
    try:
        yield connection, connection.cursor()
    except pymysql.MySQLError as exc:
        raise classify(exc, config) from None
    finally:
        close(connection)


@dataclass(frozen=True, slots=True)
class _Codes:
    """Groups of server (ER) and client (CR) error numbers."""

    auth: frozenset[int]
    permission: frozenset[int]
    not_found: frozenset[int]
    transient: frozenset[int]
    bad_value: frozenset[int]


@cache
def _codes() -> _Codes:
    from pymysql.constants import CR, ER

    return _Codes(
        auth=frozenset({ER.ACCESS_DENIED_ERROR, 1698, 1251}),
        permission=frozenset(
            {
                ER.DBACCESS_DENIED_ERROR,
                ER.TABLEACCESS_DENIED_ERROR,
                ER.COLUMNACCESS_DENIED_ERROR,
                ER.SPECIFIC_ACCESS_DENIED_ERROR,
                1370,  # routine access denied
            }
        ),
        not_found=frozenset({ER.NO_SUCH_TABLE, ER.BAD_TABLE_ERROR, ER.BAD_FIELD_ERROR}),
        transient=frozenset(
            {
                ER.LOCK_DEADLOCK,
                ER.LOCK_WAIT_TIMEOUT,
                ER.CON_COUNT_ERROR,
                ER.SERVER_SHUTDOWN,
                ER.QUERY_INTERRUPTED,
                1927,  # MariaDB: connection was killed
                3024,  # MySQL: maximum statement execution time exceeded
                CR.CR_SERVER_GONE_ERROR,
                CR.CR_SERVER_LOST,
                2055,  # lost connection (extended)
            }
        ),
        bad_value=frozenset(
            {
                ER.WARN_DATA_OUT_OF_RANGE,
                ER.TRUNCATED_WRONG_VALUE_FOR_FIELD,
                ER.DATA_TOO_LONG,
                ER.TRUNCATED_WRONG_VALUE,
                ER.BAD_NULL_ERROR,
                ER.WARN_DATA_TRUNCATED,
                1365,  # division by 0
                3140,  # MySQL: invalid JSON text
                4025,  # MariaDB: CHECK constraint failed (its JSON type checks JSON_VALID)
            }
        ),
    )


_UNRESOLVED = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
    "errno -2]",
    "errno -3]",
    "errno -5]",
)


def classify(exc: Exception, config: VendorConfig) -> ConnectorError:
    """A user-facing error for a driver error; the raw text goes to ``trace`` only."""
    from pymysql.constants import CR, ER

    codes = _codes()
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    message = scrub(str(exc.args[1]) if len(exc.args) > 1 else str(exc), config)
    trace = scrub(f"{type(exc).__name__}{exc.args!r}", config)
    values = config.public_view()
    where = f"{values.get('host')}:{values.get('port')}"
    text = message.lower()

    def error(
        text: str, error_code: str, title: str, blame: str = "third_party", retry: bool = False
    ) -> ConnectorError:
        return ConnectorError(
            text, error_code=error_code, title=title, blame=blame, trace=trace, retryable=retry
        )

    if code in codes.auth:
        return error("the username or password was rejected", "PRQL-AUTH", "Authentication failed")
    if code == ER.BAD_DB_ERROR:
        database = values.get("database") or values.get("connection_database")
        return error(
            f"database {database!r} does not exist on {where}",
            "PRQL-DATABASE",
            "Database not found",
        )
    if code == CR.CR_SSL_CONNECTION_ERROR or (code == CR.CR_CONN_HOST_ERROR and "ssl" in text):
        if "doesn't support" in text:
            return error(
                f"the server at {where} does not offer SSL; set disable_ssl to true to "
                "connect without encryption",
                "PRQL-SSL",
                "SSL not available",
            )
        return error(f"the SSL handshake with {where} failed", "PRQL-SSL", "SSL failed")
    if code == CR.CR_CONN_HOST_ERROR:
        if any(marker in text for marker in _UNRESOLVED):
            return error(
                f"host {values.get('host')!r} could not be resolved", "PRQL-HOST", "Unknown host"
            )
        if "timed out" in text:
            return error(
                f"connecting to {where} timed out",
                "PRQL-TIMEOUT",
                "Connection timed out",
                retry=True,
            )
        return error(
            f"nothing accepts connections at {where} (connection refused or unreachable)",
            "PRQL-REFUSED",
            "Connection refused",
            retry=True,
        )
    if code == ER.DBACCESS_DENIED_ERROR:
        # MySQL answers this, not "unknown database", to a user without global privileges.
        return error(
            f"permission denied: {message} (the server says so too when the database does "
            "not exist)",
            "PRQL-PERMISSION",
            "Permission denied",
        )
    if code in codes.permission:
        return error(f"permission denied: {message}", "PRQL-PERMISSION", "Permission denied")
    if code in codes.not_found:
        return error(message, "PRQL-NOT-FOUND", "Table or column not found", "first_party")
    if code in codes.transient:
        return error(message, "PRQL-TRANSIENT", "Temporary database error", retry=True)
    if code in codes.bad_value:
        return error(message, "PRQL-TYPE", "Value does not fit the column type", "first_party")
    if code in (ER.NOT_ALLOWED_COMMAND, 3948):
        return error(
            f"the server at {where} does not accept LOAD DATA LOCAL INFILE ({message})",
            "PRQL-PERMISSION",
            "Bulk load not allowed",
        )
    if code == ER.PARSE_ERROR:
        return error(message, "PRQL-QUERY", "Invalid SQL", "first_party")
    return error(message[:500] or "database error", "PRQL-DB", "Database error", "unknown")


def scrub(text: str, config: VendorConfig) -> str:
    for secret in _secrets(config):
        text = text.replace(secret, "***")
    return text


def _secrets(config: VendorConfig) -> list[str]:
    # Very short values would turn ordinary words into asterisks; servers do not echo
    # passwords anyway, so scrubbing is a second line of defence for real-length secrets.
    return [str(v) for v in config.split()[1].values() if v and len(str(v)) >= 4]
