"""What the SQLite source and destination share: opening a database file, which Ferry types a
declared column type can be read as, and turning driver errors into user-facing ones.

SQLite types values, not columns: a column's declared type only gives it an *affinity*
(https://www.sqlite.org/datatype3.html#type_affinity), and any value can sit in any column. So
the declared type says what a column is meant to hold and what it can therefore be read as;
each value is still checked as it is read.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ferry.connectors.config import VendorConfig
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType

# How long a statement waits for another connection's lock before giving up as busy.
BUSY_TIMEOUT_SECONDS = 30

_S, _J = DataType.STRING, DataType.JSON
# A column declared with no type takes any value (SQLite's BLOB affinity, STRICT's ANY).
ANY = frozenset(DataType) - {DataType.TEXT}
# Names that say what the column holds, checked before SQLite's affinity rules (which would
# file BOOLEAN, DATE and DATETIME under NUMERIC and JSON under BLOB).
_NAMED: list[tuple[str, frozenset[DataType]]] = [
    ("BOOL", frozenset({DataType.BOOLEAN, DataType.INTEGER, DataType.BIGINT, _S})),
    ("DATETIME", frozenset({DataType.TIMESTAMP, _S})),
    ("TIMESTAMP", frozenset({DataType.TIMESTAMP, _S})),
    ("DATE", frozenset({DataType.DATE, DataType.TIMESTAMP, _S})),
    ("JSON", frozenset({_J, _S})),
]
# SQLite's affinity rules, in its order: the first substring found decides.
_AFFINITY: list[tuple[tuple[str, ...], frozenset[DataType]]] = [
    (
        ("INT",),
        # SQLite has no boolean: 0/1 integers are the documented convention.
        frozenset(
            {
                DataType.INTEGER,
                DataType.BIGINT,
                DataType.DECIMAL,
                DataType.FLOAT,
                DataType.BOOLEAN,
                _S,
            }
        ),
    ),
    (
        ("CHAR", "CLOB", "TEXT"),
        # Text is how SQLite keeps dates, timestamps (ISO 8601) and exact decimals.
        frozenset({_S, _J, DataType.DECIMAL, DataType.DATE, DataType.TIMESTAMP}),
    ),
    (("BLOB",), frozenset({DataType.BYTES})),
    (("REAL", "FLOA", "DOUB"), frozenset({DataType.FLOAT, DataType.DECIMAL, _S})),
]
_NUMERIC = frozenset({DataType.DECIMAL, DataType.FLOAT, DataType.INTEGER, DataType.BIGINT, _S})


def type_name(declared: str) -> str:
    """A declared type without its parameters: ``DECIMAL(12,2)`` → ``DECIMAL``; none → ANY."""
    return re.sub(r"\s*\(.*$", "", declared.strip()).upper() or "ANY"


def readable(declared: str) -> frozenset[DataType]:
    """The Ferry types a column of this declared type can be read as."""
    name = type_name(declared)
    if name == "ANY":
        return ANY
    for word, types in _NAMED:
        if word in name:
            return types
    for words, types in _AFFINITY:
        if any(w in name for w in words):
            return types
    return _NUMERIC


def precision(declared: str) -> tuple[int | None, int | None]:
    """(precision, scale) of a declared DECIMAL(p, s) or NUMERIC(p, s); (None, None) else."""
    found = re.fullmatch(
        r"\s*(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*", declared, re.I
    )
    if found is None:
        return None, None
    return int(found.group(1)), int(found.group(2) or 0)


def database_path(config: VendorConfig) -> Path:
    """The config's file, absolute: a relative path is taken from Ferry's working directory."""
    return Path(str(config.public_view()["path"])).expanduser().resolve()


@contextmanager
def connect(path: Path, *, read_only: bool) -> Iterator[sqlite3.Connection]:
    """An open connection in autocommit mode (callers begin their own transactions); a
    transaction still open on exit is rolled back.

    Read-only connections never create the file. They may be used from another thread than
    the one that opened them (a destination's bulk loader can pull the source's batches from
    its own threads); the stream hands the connection from one thread to the next, never to
    two at once.
    """
    if not path.parent.is_dir():
        raise ConnectorError(
            f"directory {path.parent} does not exist on the Ferry host",
            error_code="PRQL-PATH",
            title="Directory not found",
            blame="third_party",
        )
    if read_only and not path.is_file():
        raise ConnectorError(
            f"there is no SQLite database at {path}",
            error_code="PRQL-PATH",
            title="Database file not found",
            blame="third_party",
        )
    try:
        connection = sqlite3.connect(
            f"{path.as_uri()}?mode={'ro' if read_only else 'rwc'}",
            uri=True,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=not read_only,
        )
    except sqlite3.Error as exc:
        raise classify(exc, path) from None
    try:
        yield connection
    except sqlite3.Error as exc:
        raise classify(exc, path) from None
    finally:
        with suppress(sqlite3.Error):
            if connection.in_transaction:
                connection.rollback()
        connection.close()


def classify(exc: sqlite3.Error, path: Path) -> ConnectorError:
    """A user-facing error for a driver error; the raw text goes to ``trace`` only."""
    raw = str(exc)
    code = getattr(exc, "sqlite_errorname", "") or ""
    if code == "SQLITE_NOTADB":
        return ConnectorError(
            f"{path} is not a SQLite database",
            error_code="PRQL-DATABASE",
            title="Not a database",
            blame="third_party",
            trace=raw,
        )
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ConnectorError(
            f"{path} is locked by another connection; retrying later",
            error_code="PRQL-TRANSIENT",
            title="Database busy",
            blame="third_party",
            trace=raw,
            retryable=True,
        )
    if code.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH", "SQLITE_CANTOPEN")):
        return ConnectorError(
            f"Ferry may not open {path} for this use (check the file's and its directory's "
            f"permissions): {raw}",
            error_code="PRQL-PERMISSION",
            title="Permission denied",
            blame="third_party",
            trace=raw,
        )
    if code.startswith(("SQLITE_FULL", "SQLITE_IOERR")):
        return ConnectorError(
            f"writing {path} failed: {raw}",
            error_code="PRQL-STORAGE",
            title="Storage error",
            blame="host",
            trace=raw,
        )
    if code.startswith("SQLITE_CORRUPT"):
        return ConnectorError(
            f"{path} is damaged: {raw}",
            error_code="PRQL-DATABASE",
            title="Database corrupt",
            blame="third_party",
            trace=raw,
        )
    if raw.startswith("no such table"):
        return ConnectorError(
            raw,
            error_code="PRQL-NOT-FOUND",
            title="Table not found",
            blame="first_party",
            trace=raw,
        )
    return ConnectorError(
        raw.splitlines()[0][:500] if raw else "database error",
        error_code="PRQL-DB",
        title="Database error",
        blame="unknown",
        trace=raw,
    )
