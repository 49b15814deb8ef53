"""What the DuckDB (and local MotherDuck) sources and destinations share: opening a database
file, which Ferry types a DuckDB type can be read as, and turning driver errors into
user-facing ones.

DuckDB lets one process at a time open a file for writing, or several open it read-only
(https://duckdb.org/docs/connect/concurrency): connections are opened per read or write and
closed right after, and a file held by another process is reported as busy and retried.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.errors import ConnectorError
from ferry.modelconfig import DataType

# The driver is imported inside the functions that use it: drivers load only for vendors in use.
if TYPE_CHECKING:
    import duckdb

    Connection = duckdb.DuckDBPyConnection

# Never download extensions at run time: a worker may have no route to the internet, and what
# Ferry needs (JSON, time zones) is built into the package.
CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

# DuckDB type (without parameters) → the Ferry types it can be read as.
READABLE: dict[str, frozenset[DataType]] = {}


def _readable(types: str, *data_types: DataType) -> None:
    for name in types.split(","):
        READABLE[name.strip()] = frozenset(data_types)


_S, _J = DataType.STRING, DataType.JSON
# Ferry's DuckDB destination keeps decimals wider than DECIMAL allows as exact text.
_readable("VARCHAR", _S, _J, DataType.DECIMAL)
_readable("JSON", _J, _S)
_readable("UUID, TIME, TIME WITH TIME ZONE, ENUM, BIT", _S)
_readable("BLOB", DataType.BYTES)
_readable("BOOLEAN", DataType.BOOLEAN, _S)
_readable(
    "TINYINT, SMALLINT, INTEGER, UTINYINT, USMALLINT",
    DataType.INTEGER,
    DataType.BIGINT,
    DataType.DECIMAL,
    DataType.FLOAT,
    _S,
)
_readable("BIGINT, UINTEGER", DataType.BIGINT, DataType.DECIMAL, DataType.FLOAT, _S)
_readable("UBIGINT, HUGEINT, UHUGEINT", DataType.DECIMAL, DataType.FLOAT, _S)
_readable("DECIMAL", DataType.DECIMAL, DataType.FLOAT, _S)
_readable("FLOAT, DOUBLE", DataType.FLOAT, DataType.DECIMAL, _S)
_readable("DATE", DataType.DATE, DataType.TIMESTAMP, _S)
_readable(
    "TIMESTAMP, TIMESTAMP WITH TIME ZONE, TIMESTAMP_S, TIMESTAMP_MS, TIMESTAMP_NS",
    DataType.TIMESTAMP,
    _S,
)
# Lists, arrays, structs, maps and unions arrive as Arrow nested values, written out as JSON.
_NESTED = frozenset({_J})


def type_name(declared: str) -> str:
    """A DuckDB type without its parameters: ``DECIMAL(12,2)`` → ``DECIMAL``."""
    return re.sub(r"\s*\(.*$", "", declared.strip()).upper()


def readable(declared: str) -> frozenset[DataType]:
    if declared.rstrip().endswith("]") or type_name(declared) in ("STRUCT", "MAP", "UNION"):
        return _NESTED
    return READABLE.get(type_name(declared), frozenset())


def precision(declared: str) -> tuple[int | None, int | None]:
    """(precision, scale) of a ``DECIMAL(p,s)``; (None, None) for any other type."""
    found = re.fullmatch(r"\s*DECIMAL\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*", declared, re.I)
    return (int(found.group(1)), int(found.group(2))) if found else (None, None)


def local_path(database: str, *, kind: str = "DuckDB") -> Path:
    """A database file on the Ferry host, absolute (relative paths are taken from Ferry's
    working directory)."""
    if not database.strip():
        raise ConnectorError(
            f"the {kind} database path is empty",
            error_code="PRQL-PATH",
            title="Database file not found",
            blame="first_party",
        )
    return Path(database).expanduser().resolve()


@contextmanager
def connect(path: Path, *, read_only: bool) -> Iterator[Connection]:
    """An open connection, in UTC, closed on exit. Read-only connections never create the
    file."""
    if not path.parent.is_dir():
        raise ConnectorError(
            f"directory {path.parent} does not exist on the Ferry host",
            error_code="PRQL-PATH",
            title="Directory not found",
            blame="third_party",
        )
    if read_only and not path.is_file():
        raise ConnectorError(
            f"there is no DuckDB database at {path}",
            error_code="PRQL-PATH",
            title="Database file not found",
            blame="third_party",
        )
    import duckdb

    try:
        connection = duckdb.connect(str(path), read_only=read_only, config=dict(CONFIG))
    except duckdb.Error as exc:
        raise classify(exc, path) from None
    try:
        # Naive timestamps are read, and time zones shown, as UTC.
        connection.execute("SET TimeZone = 'UTC'")
        yield connection
    except duckdb.Error as exc:
        raise classify(exc, path) from None
    finally:
        connection.close()


def error_type() -> type[duckdb.Error]:
    """The driver's base error class (``duckdb.Error``)."""
    import duckdb

    return duckdb.Error


def arrow_reader(relation: Any, rows: int) -> Any:
    """A streaming Arrow reader over a relation, ``rows`` rows per batch. DuckDB 1.x names
    it ``fetch_record_batch``; later releases ``to_arrow_reader`` and deprecate the old name."""
    if hasattr(relation, "to_arrow_reader"):
        return relation.to_arrow_reader(rows)
    return relation.fetch_record_batch(rows)


def classify(exc: duckdb.Error, path: Path) -> ConnectorError:
    """A user-facing error for a driver error; the raw text goes to ``trace`` only."""
    import duckdb

    raw = str(exc)
    text = raw.lower()
    if "could not set lock" in text or "different configuration" in text:
        return ConnectorError(
            f"{path} is open in another process or connection (DuckDB lets one writer open a "
            "file at a time); retrying later",
            error_code="PRQL-TRANSIENT",
            title="Database busy",
            blame="third_party",
            trace=raw,
            retryable=True,
        )
    if "not a valid duckdb database" in text or (
        isinstance(exc, duckdb.IOException) and "extension" in text and path.is_file()
    ):
        # A file of another kind (a SQLite database, say) makes DuckDB look for a reader
        # extension for it; either way it is not a DuckDB database.
        return ConnectorError(
            f"{path} is not a DuckDB database",
            error_code="PRQL-DATABASE",
            title="Not a database",
            blame="third_party",
            trace=raw,
        )
    if "permission denied" in text or "read-only" in text:
        return ConnectorError(
            f"Ferry may not open {path} for this use (check the file's and its directory's "
            "permissions)",
            error_code="PRQL-PERMISSION",
            title="Permission denied",
            blame="third_party",
            trace=raw,
        )
    if isinstance(exc, duckdb.CatalogException):
        return ConnectorError(
            _first_line(raw),
            error_code="PRQL-NOT-FOUND",
            title="Table or schema not found",
            blame="first_party",
            trace=raw,
        )
    if isinstance(exc, duckdb.OutOfMemoryException):
        return ConnectorError(
            _first_line(raw),
            error_code="PRQL-STORAGE",
            title="Out of memory",
            blame="host",
            trace=raw,
        )
    return ConnectorError(
        _first_line(raw), error_code="PRQL-DB", title="Database error", blame="unknown", trace=raw
    )


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "database error"
    return line[:500]


def motherduck_path(database: str) -> Path:
    """The local DuckDB file a MotherDuck config names. A MotherDuck service database
    (``md:name``) needs MotherDuck's cloud, which this build cannot reach."""
    if database.strip().lower().startswith(("md:", "motherduck:")):
        raise ConnectorError(
            f"MotherDuck's cloud service ({database.split('?')[0]}) is not available in this "
            "build of Ferry; the configuration is accepted and stored, but tests and "
            "transfers fail. To self-host, set database to the path of a DuckDB file on the "
            "Ferry host",
            error_code="PRQL-UNAVAILABLE",
            title="Connector not available in this build",
            blame="host",
        )
    return local_path(database, kind="MotherDuck")
