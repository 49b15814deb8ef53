"""The SFTP destination: CSV files and manifests in a folder on an SFTP server.

Layout, as for object storage (``ferry.connectors.object_storage``), below ``folder`` (relative
to the login directory unless it starts with ``/``)::

    <folder>/<table>/dt=<YYYY-MM-DD>/<transfer_id>_<part>.csv
    <folder>/_manifests/<table>/dt=<YYYY-MM-DD>/manifest_<transfer_id>.json

Directories are created as needed. Every file is uploaded under a hidden temporary name in its
final directory (``.<name>.partial``) and renamed once complete (a POSIX rename where the server
offers it), so readers never see a partial file. Files are append-only and rolled into parts,
the manifest is written last and is the commit, and a failure deletes what the transfer had
stored, exactly as the object-storage family documents. In the manifest ``file_format`` is
``CSV``, ``bucket_name`` and each ``etag`` are null (SFTP has neither buckets nor ETags) and
``bucket_prefix`` is the folder.

CSV (RFC 4180 quoting, ``\\n`` line ends, UTF-8): a header row of the column names, then one row
per record, fields separated by ``csv.delimiter``. Every text value (strings, JSON, decimals,
timestamps, bytes) and every header name is quoted, with quotes doubled; NULL is an empty
unquoted field, so it differs from an empty string (``""``). Booleans are ``true``/``false``;
floats use the shortest text that reads back to the same double (``nan``, ``inf``, ``-inf`` for
the specials); decimals keep their exact source text; dates are ``YYYY-MM-DD``; timestamps are
ISO 8601 in UTC with microseconds (``2024-03-01T12:00:00.123456Z``); bytes are base64 (standard
alphabet, padded), shorter than hex and decoded by every language's standard library.

Auth: ``public_key_auth.public_key`` names a key pair Ferry made (``POST
/actions/generate-ssh-key``); its private half, in OpenSSH format, comes from the connector
context. A public key Ferry holds no private key for fails with ``PRQL-KEY``.

Errors: rejected key ``PRQL-AUTH``; unknown host name ``PRQL-HOST``; connection refused or
timed out ``PRQL-REFUSED`` (retryable); denied on the server's file system
``PRQL-PERMISSION``; other SSH or SFTP failures ``PRQL-SFTP`` (retryable when the connection
broke).
"""

from __future__ import annotations

import base64
import errno
import io
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ferry.connectors import ssh
from ferry.connectors.base import Capabilities
from ferry.connectors.config import Csv
from ferry.connectors.object_storage import (
    FileDestination,
    FileStore,
    Layout,
    PartFormat,
    PartWriter,
)
from ferry.connectors.registry import register_destination
from ferry.connectors.shapes.sftp import SftpConnection
from ferry.connectors.types import TableSpec
from ferry.errors import ConnectorError
from ferry.fields import Short
from ferry.modelconfig import DataType

# paramiko is imported where used: drivers load only for vendors in use.
if TYPE_CHECKING:
    import paramiko

# How long one SFTP request may hang before the connection is given up.
IO_TIMEOUT_SECONDS = 120
PARTIAL_SUFFIX = ".partial"


class SftpDestinationConfig(SftpConnection):
    """A folder on an SFTP server that receives CSV files."""

    folder: Short
    file_format: Literal["csv"]
    csv: Csv
    disable_manifest: bool = False


# --- CSV -------------------------------------------------------------------------------------


class CsvFormat(PartFormat):
    extension = "csv"
    manifest_name = "CSV"
    content_type = "text/csv"

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter

    def open(self, sink: pa.NativeFile, table: TableSpec) -> PartWriter:
        return _CsvPart(sink, table, self.delimiter)


class _CsvPart:
    def __init__(self, sink: pa.NativeFile, table: TableSpec, delimiter: str) -> None:
        self.schema = csv_schema(table)
        options = pcsv.WriteOptions(
            include_header=True, delimiter=delimiter, quoting_style="needed"
        )
        # CSVWriter takes a NativeFile (its stubs name only paths and Python files).
        self.writer = pcsv.CSVWriter(cast("IO[bytes]", sink), self.schema, write_options=options)

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(to_csv(batch, self.schema))

    def close(self) -> None:
        self.writer.close()


def csv_schema(table: TableSpec) -> pa.Schema:
    """Bytes and timestamps travel as text; everything else as its canonical type."""
    return pa.schema(
        [
            pa.field(
                c.name,
                pa.string()
                if c.data_type in (DataType.BYTES, DataType.TIMESTAMP)
                else c.arrow_type,
            )
            for c in table.columns
        ]
    )


def to_csv(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for field in schema:
        array: Any = batch.column(batch.schema.get_field_index(field.name))
        if pa.types.is_timestamp(array.type):
            # %S of a microsecond timestamp carries the fraction: 00.123456.
            array = pc.strftime(array, format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
            array = pa.array(
                [
                    None if v is None else base64.b64encode(v).decode("ascii")
                    for v in array.to_pylist()
                ],
                type=pa.string(),
            )
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- the store -------------------------------------------------------------------------------


def sftp_folder(folder: str) -> str:
    """The folder without repeated or trailing slashes; a leading one (absolute) is kept."""
    parts = [p for p in folder.split("/") if p]
    root = "/".join(parts)
    return "/" + root if folder.startswith("/") else root


class SftpStore:
    """One SFTP session; every error comes out classified."""

    def __init__(
        self, sftp: paramiko.SFTPClient, translate: Callable[[BaseException], ConnectorError]
    ) -> None:
        self.sftp = sftp
        self.translate = translate
        self.known_dirs: set[str] = set()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        import paramiko

        try:
            yield
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self.translate(exc) from None

    def _ensure_dir(self, directory: str) -> None:
        if not directory or directory in self.known_dirs:
            return
        parent = posixpath.dirname(directory)
        if parent != directory:
            self._ensure_dir(parent)
        try:
            self.sftp.stat(directory)
        except FileNotFoundError:
            try:
                self.sftp.mkdir(directory)
            except OSError:
                # Another writer may have made it meanwhile; if not, stat says why.
                self.sftp.stat(directory)
        self.known_dirs.add(directory)

    def _store(self, key: str, send: Callable[[str], object]) -> None:
        import paramiko

        directory, name = posixpath.split(key)
        temporary = posixpath.join(directory, f".{name}{PARTIAL_SUFFIX}")
        with self._translated():
            self._ensure_dir(directory)
            try:
                send(temporary)
                self._rename(temporary, key)
            except BaseException:
                with suppress(OSError, EOFError, paramiko.SSHException):
                    self.sftp.remove(temporary)
                raise

    def _rename(self, source: str, target: str) -> None:
        try:
            # Replaces the target in one step (a retried transfer rewrites its own files).
            self.sftp.posix_rename(source, target)
        except PermissionError:
            raise
        except OSError:
            # Servers without the OpenSSH extension: a plain rename refuses an existing target.
            with suppress(FileNotFoundError):
                self.sftp.remove(target)
            self.sftp.rename(source, target)

    def upload(self, local: Path, key: str, content_type: str) -> str | None:
        del content_type  # SFTP keeps no content types
        self._store(key, lambda path: self.sftp.put(str(local), path, confirm=True))
        return None

    def put(self, data: bytes, key: str, content_type: str) -> str | None:
        del content_type
        self._store(key, lambda path: self.sftp.putfo(io.BytesIO(data), path, confirm=True))
        return None

    def delete(self, key: str) -> None:
        with self._translated(), suppress(FileNotFoundError):
            self.sftp.remove(key)

    def any_under(self, prefix: str) -> bool:
        with self._translated():
            try:
                return bool(self.sftp.listdir(prefix.rstrip("/") or "/"))
            except FileNotFoundError:
                return False


# --- the destination -------------------------------------------------------------------------


@register_destination
class SftpDestination(FileDestination):
    """SFTP."""

    vendor = "sftp"
    display_name = "SFTP"
    config_model = SftpDestinationConfig
    target_fields = ("host", "port", "folder")
    capabilities = Capabilities(
        transactional_ddl=False,
        native_upsert=False,
        max_identifier_length=255,
        bulk_load="csv",
        append_only=True,
    )

    def layout(self) -> Layout:
        return Layout(sftp_folder(str(self.config.public_view()["folder"])))

    def part_format(self) -> PartFormat:
        return CsvFormat(str(self.config.public_view()["csv"]["delimiter"]))

    def private_key(self) -> paramiko.PKey:
        public = str(self.config.public_view()["public_key_auth"]["public_key"])
        return ssh.private_key(public, self.context)

    @contextmanager
    def open_store(self) -> Iterator[FileStore]:
        values = self.config.public_view()
        key = self.private_key()
        import paramiko

        try:
            client = ssh.login(
                str(values["host"]), int(values["port"]), str(values["username"]), key
            )
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self.classify(exc) from None
        try:
            sftp = client.open_sftp()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            client.close()
            raise self.classify(exc) from None
        except BaseException:
            client.close()
            raise
        try:
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(IO_TIMEOUT_SECONDS)
            yield SftpStore(sftp, self.classify)
        finally:
            sftp.close()
            client.close()

    def classify(self, exc: BaseException) -> ConnectorError:
        """A user-facing error for a paramiko or socket error; the raw text goes to ``trace``."""
        import paramiko

        values = self.config.public_view()
        where = f"{values['host']}:{values['port']}"
        raw = f"{type(exc).__name__}: {exc}"
        known = ssh.login_error(exc, str(values["host"]), int(values["port"]), values["username"])
        if known is not None:
            return known
        if isinstance(exc, PermissionError) or (
            isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM)
        ):
            return ConnectorError(
                f"the server at {where} denied access to a path under the folder "
                f"{values['folder']!r} ({exc})",
                error_code="PRQL-PERMISSION",
                title="Permission denied",
                blame="third_party",
                trace=raw,
            )
        if isinstance(exc, FileNotFoundError):
            return ConnectorError(
                f"a path under the folder {values['folder']!r} does not exist on {where} ({exc})",
                error_code="PRQL-SFTP",
                title="Path not found",
                blame="third_party",
                trace=raw,
            )
        broken = isinstance(exc, EOFError | paramiko.SSHException | ConnectionError)
        return ConnectorError(
            f"the SFTP session with {where} failed: {exc}",
            error_code="PRQL-SFTP",
            title="SFTP failed",
            blame="third_party",
            trace=raw,
            retryable=broken,
        )
