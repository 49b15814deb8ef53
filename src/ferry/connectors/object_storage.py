"""File destinations: what Amazon S3, S3-compatible stores and SFTP share, and the S3 family.

Layout (spec §9.3), with ``<table>`` the model's destination table name and ``dt`` the UTC date
on which the source was read (``WriteContext.status_time``)::

    <folder>/<table>/dt=<YYYY-MM-DD>/<transfer_id>_<part>.<parquet|csv>
    <folder>/_manifests/<table>/dt=<YYYY-MM-DD>/manifest_<transfer_id>.json

``<part>`` is a five-digit sequence number from ``00000`` in the order the parts were written.
For object storage the keys live in the destination's bucket, with the folder's leading and
trailing slashes removed.

Append-only. Every transfer adds new files and never rewrites old ones: rows sent again (the
lookback overlap, a full refresh) appear again in new files, and readers deduplicate by primary
key, keeping the greatest last-modified value. A full refresh sends the model's whole history
anew; its manifest says ``"transfer_type": "FULL_REFRESH"``, so a reader may drop everything
older. ``has_table`` is "any object under ``<folder>/<table>/``": when a recipient deletes the
model's folder, the next transfer backfills it.

Parts. Rows are written to a local temporary file, one batch at a time, rolled to a new part
every ``part_rows`` rows or once the file passes about ``part_bytes`` bytes. Each part is
uploaded only once complete, so memory holds one batch and local disk one part, and no reader
ever sees a partly written file.

Manifest. One JSON object per model per transfer, written after all its data files, unless the
destination sets ``disable_manifest``. A model that read no rows still gets one, with ``files:
[]``, which tells readers the transfer ran. Keys: ``version`` (1), ``transfer_id``,
``start_time`` and ``end_time`` (UTC, ISO 8601: when writing the model began and when its last
data file was stored), ``model_id``, ``model_name``, ``bucket_name``, ``bucket_prefix`` (the
folder), ``manifest_file_key``, ``file_format`` (``PARQUET`` or ``CSV``), ``transfer_type``
(``FULL_REFRESH`` or ``INCREMENTAL``), ``signature``, ``signature_public_key`` and ``files``:
``[{sha256_checksum, etag, data_file_key}]`` in the order written. ``sha256_checksum`` is the
hex SHA-256 of the file's bytes; ``etag`` is the store's ETag without its quotes (S3: the MD5 of
a single-request upload, ``<md5>-<parts>`` of a multipart one; null where the store has none).
``signature`` is the hex SHA-256 of the ``files`` value serialized as canonical JSON
(``json.dumps(files, sort_keys=True, separators=(",", ":"))``): it lets a reader check the list
is the one written. It is a digest, not yet a signature: ``signature_public_key`` stays null
until the manifests are signed with the key that signs webhooks, which arrives with webhook
signing.

``write`` returns every row as changed (nothing is merged), ``bytes`` as the size of the data
files stored and ``files`` as their keys.

Commit and failure. The manifest is the commit: a data file that no manifest lists belongs to no
completed transfer. If reading, converting or uploading fails, no manifest is written, the data
files this transfer already stored for the model are deleted (best effort: a deletion that
fails leaves a file no manifest lists), and the original error is raised. A retried transfer
writes the same keys again.

Parquet (S3, S3-compatible). Column types follow the model:

| data_type   | Parquet                                                                  |
| ----------- | ------------------------------------------------------------------------ |
| string/text | string (UTF-8)                                                           |
| bytes       | binary                                                                   |
| boolean     | boolean                                                                  |
| integer     | int32                                                                    |
| bigint      | int64                                                                    |
| decimal     | decimal(p, s) when the source declares a precision (decimal128 up to 38  |
|             | digits, decimal256 up to 76); otherwise string holding the exact text    |
| float       | double                                                                   |
| date        | date32                                                                   |
| timestamp   | timestamp[us], adjusted to UTC                                           |
| json        | string (JSON text)                                                       |

A decimal without a declared precision (PostgreSQL ``numeric``, for example) can hold any
number of digits on either side of the point, and Parquet decimals need one fixed precision and
scale per column: any choice would round some values or fail on them. Its exact text keeps every
digit, and readers cast it as they see fit. Every column is nullable; column descriptions are
kept as field metadata (``description``). Compression is Snappy, which every Parquet reader has.

S3 and S3-compatible stores. ``aws_access_keys`` / ``access_keys`` sign requests (SigV4); the
``aws_iam_role`` method (web-identity federation into the recipient's role) is not available in
this build and fails ``check()`` and transfers with a clear error. ``s3`` talks to AWS in
``bucket_region`` with virtual-hosted addressing; ``s3_compatible`` to ``host`` (HTTPS unless
``disable_ssl``) with path-style addressing, which every S3 clone serves. Parts above
``multipart_threshold`` bytes are sent as multipart uploads of ``multipart_chunk`` bytes (an
interrupted one is aborted). Payload checksums are sent only where the S3 API requires them:
several S3 clones reject the newer checksum headers, and each file's SHA-256 is in the
manifest. ``check()`` stores and then deletes a probe object under the folder, so it proves the
credentials, the bucket and the write and delete permissions.

Errors: rejected credentials ``PRQL-AUTH``; missing bucket or bucket in another region
``PRQL-BUCKET``; access denied ``PRQL-PERMISSION``; endpoint unreachable ``PRQL-REFUSED`` and
throttling or server errors ``PRQL-STORAGE`` (both retryable); a decimal that does not fit its
declared precision ``PRQL-TYPE``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from ferry.connectors.base import (
    Capabilities,
    DestinationConnector,
    TableMissing,
    WriteContext,
    WriteMode,
    WriteResult,
)
from ferry.connectors.sql import Feed
from ferry.connectors.types import ColumnSpec, TableSpec
from ferry.errors import ConnectorError
from ferry.modelconfig import DataType

# boto3 and botocore are imported where used: drivers load only for vendors in use.
if TYPE_CHECKING:
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

MIB = 1024 * 1024
MANIFEST_VERSION = 1
MANIFESTS = "_manifests"
PROBE_PREFIX = "_ferry_connection_check_"

# --- layout ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a destination's files go: paths below ``root`` (the folder)."""

    root: str

    def join(self, *parts: str) -> str:
        below = "/".join(p for p in parts if p)
        if not self.root:
            return below
        return f"{self.root.rstrip('/')}/{below}" if below else self.root

    def table_prefix(self, table: TableSpec) -> str:
        return self.join(_safe(table.name)) + "/"

    def data_key(self, table: TableSpec, day: date, transfer_id: str, part: int, ext: str) -> str:
        name = f"{_safe(transfer_id)}_{part:05d}.{ext}"
        return self.join(_safe(table.name), f"dt={day.isoformat()}", name)

    def manifest_key(self, table: TableSpec, day: date, transfer_id: str) -> str:
        name = f"manifest_{_safe(transfer_id)}.json"
        return self.join(MANIFESTS, _safe(table.name), f"dt={day.isoformat()}", name)

    def probe_key(self) -> str:
        return self.join(f"{PROBE_PREFIX}{uuid.uuid4().hex}")


def object_folder(folder: str) -> str:
    """A folder as an object-key prefix: no leading or trailing slashes."""
    return "/".join(p for p in folder.split("/") if p)


def _safe(name: str) -> str:
    # Names come from validated identifiers and ids; refuse anything that could leave the folder.
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ConnectorError(
            f"{name!r} cannot be used in a file path",
            error_code="PRQL-NAME",
            title="Invalid name",
            blame="first_party",
        )
    return name


# --- part formats ----------------------------------------------------------------------------


class PartWriter(Protocol):
    """Writes record batches into one open local file."""

    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...


class PartFormat(ABC):
    """How rows become the bytes of one file."""

    extension: ClassVar[str]
    manifest_name: ClassVar[str]
    content_type: ClassVar[str]

    @abstractmethod
    def open(self, sink: pa.NativeFile, table: TableSpec) -> PartWriter:
        """A writer of the table's batches (canonical types) into ``sink``."""


class ParquetFormat(PartFormat):
    extension = "parquet"
    manifest_name = "PARQUET"
    content_type = "application/vnd.apache.parquet"

    def open(self, sink: pa.NativeFile, table: TableSpec) -> PartWriter:
        return _ParquetPart(sink, table)


class _ParquetPart:
    def __init__(self, sink: pa.NativeFile, table: TableSpec) -> None:
        self.table = table
        self.schema = parquet_schema(table)
        # Imported here: the Parquet writer costs a worker memory only where files are written.
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(sink, self.schema, compression="snappy")

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(to_parquet(batch, self.table, self.schema))

    def close(self) -> None:
        self.writer.close()


def parquet_type(column: ColumnSpec) -> pa.DataType:
    if column.data_type is DataType.DECIMAL and column.precision:
        precision, scale = column.precision, column.scale or 0
        if 0 <= scale <= precision:
            if precision <= 38:
                return pa.decimal128(precision, scale)
            if precision <= 76:
                return pa.decimal256(precision, scale)
    return column.arrow_type


def parquet_schema(table: TableSpec) -> pa.Schema:
    return pa.schema(
        [
            pa.field(
                c.name,
                parquet_type(c),
                nullable=True,
                metadata={"description": c.description} if c.description else None,
            )
            for c in table.columns
        ]
    )


def to_parquet(batch: pa.RecordBatch, table: TableSpec, schema: pa.Schema) -> pa.RecordBatch:
    """A canonical batch in the file's types: decimal text becomes exact decimals."""
    arrays = []
    for column, field in zip(table.columns, schema, strict=True):
        array = batch.column(batch.schema.get_field_index(column.name))
        if array.type != field.type:
            try:
                array = pc.cast(array, field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ConnectorError(
                    f"column {column.name!r}: a value does not fit {field.type} ({exc})",
                    error_code="PRQL-TYPE",
                    title="Value does not fit the column type",
                    blame="first_party",
                ) from None
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- stores ----------------------------------------------------------------------------------


class FileStore(Protocol):
    """An open connection to where files land, keyed by path."""

    def upload(self, local: Path, key: str, content_type: str) -> str | None:
        """Store a local file whole under ``key``; its ETag, if the store has them."""
        ...

    def put(self, data: bytes, key: str, content_type: str) -> str | None: ...
    def delete(self, key: str) -> None: ...
    def any_under(self, prefix: str) -> bool:
        """Whether anything is stored below ``prefix`` (which ends with a slash)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    sha256: str
    etag: str | None
    size: int


class FileDestination(DestinationConnector, ABC):
    """A destination that receives append-only files and manifests (object storage, SFTP)."""

    available = True
    # Roll to a new part after this many rows, or once the file passes about this many bytes.
    part_rows: ClassVar[int] = 1_000_000
    part_bytes: ClassVar[int] = 128 * MIB

    @abstractmethod
    def open_store(self) -> AbstractContextManager[FileStore]:
        """A connected store, closed on exit."""

    @abstractmethod
    def layout(self) -> Layout: ...

    @abstractmethod
    def part_format(self) -> PartFormat: ...

    def bucket_name(self) -> str | None:
        return None

    def manifest_enabled(self) -> bool:
        return not self.config.public_view().get("disable_manifest", False)

    def check(self) -> None:
        """Store a probe file under the folder, then delete it."""
        with self.open_store() as store:
            key = self.layout().probe_key()
            store.put(b"ferry connection check\n", key, "text/plain")
            store.delete(key)

    def has_table(self, table: TableSpec) -> bool:
        with self.open_store() as store:
            return store.any_under(self.layout().table_prefix(table))

    def write(
        self,
        table: TableSpec,
        batches: Iterator[pa.RecordBatch],
        *,
        mode: WriteMode,
        context: WriteContext,
        expect_table: bool = False,
    ) -> WriteResult:
        # Files are append-only whatever the mode; a full refresh is told apart in the manifest.
        del mode
        if expect_table and not self.has_table(table):
            raise TableMissing(table.name)
        started = _now()
        layout = self.layout()
        day = context.status_time.astimezone(UTC).date()
        fmt = self.part_format()
        feed = Feed(batches)
        stored: list[StoredFile] = []
        attempted: list[str] = []
        with self.open_store() as store, tempfile.TemporaryDirectory(prefix="ferry-") as scratch:

            def ship(local: Path) -> None:
                key = layout.data_key(table, day, context.transfer_id, len(stored), fmt.extension)
                digest, size = _sha256(local)
                # Listed before the upload: a failed one may still have stored the object.
                attempted.append(key)
                etag = store.upload(local, key, fmt.content_type)
                stored.append(StoredFile(key, digest, etag, size))
                local.unlink()

            try:
                self._write_parts(table, feed, fmt, Path(scratch), ship)
                finished = _now()
                if self.manifest_enabled():
                    key = layout.manifest_key(table, day, context.transfer_id)
                    body = self.manifest(table, context, key, stored, started, finished, fmt)
                    attempted.append(key)
                    store.put(body, key, "application/json")
            except BaseException:
                for key in reversed(attempted):
                    # Best effort: the original error is what the caller must see.
                    with suppress(Exception):
                        store.delete(key)
                raise
        size = sum(f.size for f in stored)
        return WriteResult(
            rows=feed.rows, changed=feed.rows, bytes=size, files=[f.key for f in stored]
        )

    def _write_parts(
        self,
        table: TableSpec,
        batches: Feed,
        fmt: PartFormat,
        scratch: Path,
        ship: Callable[[Path], None],
    ) -> None:
        """Write the batches into part files in ``scratch``, handing each finished one over."""
        part: _LocalPart | None = None
        try:
            for batch in batches:
                offset = 0
                while offset < batch.num_rows:
                    if part is None:
                        part = _LocalPart(scratch / f"part.{fmt.extension}", fmt, table)
                    take = min(batch.num_rows - offset, self.part_rows - part.rows)
                    part.write(batch.slice(offset, take))
                    offset += take
                    if part.rows >= self.part_rows or part.size >= self.part_bytes:
                        ship(part.finish())
                        part = None
            if part is not None:
                ship(part.finish())
                part = None
        finally:
            if part is not None:
                part.abandon()

    def manifest(
        self,
        table: TableSpec,
        context: WriteContext,
        key: str,
        files: list[StoredFile],
        started: datetime,
        finished: datetime,
        fmt: PartFormat,
    ) -> bytes:
        listed = [
            {"sha256_checksum": f.sha256, "etag": f.etag, "data_file_key": f.key} for f in files
        ]
        document = {
            "version": MANIFEST_VERSION,
            "transfer_id": context.transfer_id,
            "start_time": _iso(started),
            "end_time": _iso(finished),
            "model_id": context.model_id,
            "model_name": table.model_name or table.name,
            "bucket_name": self.bucket_name(),
            "bucket_prefix": self.layout().root,
            "manifest_file_key": key,
            "file_format": fmt.manifest_name,
            "transfer_type": "FULL_REFRESH" if context.is_full_refresh else "INCREMENTAL",
            "signature": files_signature(listed),
            "signature_public_key": None,
            "files": listed,
        }
        return (json.dumps(document, indent=2) + "\n").encode()


def files_signature(files: list[dict[str, Any]]) -> str:
    """The hex SHA-256 of the manifest's ``files`` value as canonical JSON."""
    canonical = json.dumps(files, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class _LocalPart:
    """One part file being written on local disk."""

    def __init__(self, path: Path, fmt: PartFormat, table: TableSpec) -> None:
        self.path = path
        self.sink = pa.OSFile(str(path), "wb")
        try:
            self.writer = fmt.open(self.sink, table)
        except BaseException:
            self.sink.close()
            raise
        self.rows = 0

    @property
    def size(self) -> int:
        return int(self.sink.tell())

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write(batch)
        self.rows += batch.num_rows

    def finish(self) -> Path:
        try:
            self.writer.close()
        finally:
            self.sink.close()
        return self.path

    def abandon(self) -> None:
        with suppress(Exception):
            self.finish()
        self.path.unlink(missing_ok=True)


def _sha256(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
    return digest.hexdigest(), path.stat().st_size


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- the S3 family ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class S3Settings:
    """How to reach a bucket."""

    bucket: str
    access_id: str
    secret_key: str
    region: str
    endpoint_url: str | None  # None: AWS itself
    path_style: bool


class S3FamilyDestination(FileDestination):
    """A folder in a bucket of Amazon S3 or an S3-compatible store, receiving Parquet files."""

    capabilities = Capabilities(
        transactional_ddl=False,
        native_upsert=False,
        max_identifier_length=1024,
        bulk_load="parquet",
        append_only=True,
    )
    # Parts above this size go as multipart uploads of ``multipart_chunk`` bytes (S3 needs at
    # least 5 MiB per chunk but the last).
    multipart_threshold: ClassVar[int] = 64 * MIB
    multipart_chunk: ClassVar[int] = 16 * MIB
    connect_timeout_seconds: ClassVar[int] = 10
    read_timeout_seconds: ClassVar[int] = 120
    max_attempts: ClassVar[int] = 3

    @abstractmethod
    def settings(self) -> S3Settings:
        """The endpoint, region and credentials; raises when the auth method cannot work."""

    def layout(self) -> Layout:
        return Layout(object_folder(str(self.config.public_view()["folder"])))

    def part_format(self) -> PartFormat:
        return ParquetFormat()

    def bucket_name(self) -> str:
        return str(self.config.public_view()["bucket_name"])

    def client_config(self, settings: S3Settings) -> Config:
        from botocore.config import Config

        return Config(
            region_name=settings.region,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            retries={"max_attempts": self.max_attempts, "mode": "standard"},
            s3={"addressing_style": "path" if settings.path_style else "virtual"},
            # Checksum headers only where the API demands them: several S3 clones refuse the
            # newer ones, and the manifest carries each file's SHA-256.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    @contextmanager
    def open_store(self) -> Iterator[FileStore]:
        settings = self.settings()

        import boto3
        from botocore.exceptions import BotoCoreError

        translate = self.classify
        try:
            client: S3Client = boto3.session.Session().client(
                "s3",
                aws_access_key_id=settings.access_id,
                aws_secret_access_key=settings.secret_key,
                endpoint_url=settings.endpoint_url,
                config=self.client_config(settings),
            )
        except (BotoCoreError, ValueError) as exc:
            raise translate(exc) from None
        try:
            yield S3Store(
                client,
                settings.bucket,
                translate,
                multipart_threshold=self.multipart_threshold,
                multipart_chunk=self.multipart_chunk,
            )
        finally:
            client.close()

    def classify(self, exc: Exception) -> ConnectorError:
        """A user-facing error for a botocore error; the raw text goes to ``trace`` only."""
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
            SSLError,
        )

        raw = str(exc)
        secrets = self.config.split()[1]
        for secret in secrets.values():
            if isinstance(secret, str) and secret:
                raw = raw.replace(secret, "***")
        bucket = self.bucket_name()
        where = self.where()
        if isinstance(exc, ClientError):
            return _classify_client_error(exc, raw, bucket, where)
        if isinstance(exc, NoCredentialsError):
            return ConnectorError(
                "no access key was given",
                error_code="PRQL-AUTH",
                title="Authentication failed",
                blame="first_party",
                trace=raw,
            )
        if isinstance(exc, SSLError):
            return ConnectorError(
                f"the TLS handshake with {where} failed; if the endpoint serves plain HTTP, "
                "set disable_ssl",
                error_code="PRQL-SSL",
                title="TLS failed",
                blame="third_party",
                trace=raw,
            )
        if isinstance(
            exc,
            EndpointConnectionError
            | ConnectTimeoutError
            | ConnectionClosedError
            | ReadTimeoutError,
        ):
            return ConnectorError(
                f"could not reach {where}: the connection was refused, timed out or dropped",
                error_code="PRQL-REFUSED",
                title="Endpoint unreachable",
                blame="third_party",
                trace=raw,
                retryable=True,
            )
        if isinstance(exc, ValueError):
            return ConnectorError(
                f"{where} is not a usable endpoint ({raw})",
                error_code="PRQL-HOST",
                title="Invalid endpoint",
                blame="first_party",
                trace=raw,
            )
        return ConnectorError(
            f"the request to {where} failed: {raw}",
            error_code="PRQL-STORAGE",
            title="Storage request failed",
            blame="third_party",
            trace=raw,
        )

    def where(self) -> str:
        """The endpoint, for messages."""
        return "Amazon S3"


def _classify_client_error(exc: ClientError, raw: str, bucket: str, where: str) -> ConnectorError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _AUTH_CODES or status == 401:
        return ConnectorError(
            f"{where} rejected the access key (check its id and secret)",
            error_code="PRQL-AUTH",
            title="Authentication failed",
            blame="third_party",
            trace=raw,
        )
    if code in ("NoSuchBucket", "InvalidBucketName"):
        return ConnectorError(
            f"bucket {bucket!r} does not exist at {where}",
            error_code="PRQL-BUCKET",
            title="Bucket not found",
            blame="third_party",
            trace=raw,
        )
    if code in _REGION_CODES or status == 301:
        return ConnectorError(
            f"bucket {bucket!r} is in another region than the one configured",
            error_code="PRQL-BUCKET",
            title="Wrong bucket region",
            blame="first_party",
            trace=raw,
        )
    if code in ("AccessDenied", "AllAccessDisabled", "AccountProblem") or status == 403:
        return ConnectorError(
            f"access to bucket {bucket!r} was denied: the key needs s3:PutObject on the "
            "folder, and s3:ListBucket and s3:DeleteObject for checks and cleanup",
            error_code="PRQL-PERMISSION",
            title="Permission denied",
            blame="third_party",
            trace=raw,
        )
    retryable = status >= 500 or status == 429 or code in _RETRYABLE_CODES
    return ConnectorError(
        f"{where} answered {code or status}: {error.get('Message', '') or raw}",
        error_code="PRQL-STORAGE",
        title="Storage request failed",
        blame="third_party",
        trace=raw,
        retryable=retryable,
    )


_AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "InvalidSecurity",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)
_REGION_CODES = frozenset(
    {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
)
_RETRYABLE_CODES = frozenset(
    {"SlowDown", "Throttling", "RequestTimeout", "InternalError", "ServiceUnavailable"}
)


class S3Store:
    """A bucket reached through one boto3 client; every error comes out classified."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        translate: Callable[[Exception], ConnectorError],
        *,
        multipart_threshold: int,
        multipart_chunk: int,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.translate = translate
        self.multipart_threshold = multipart_threshold
        self.multipart_chunk = multipart_chunk

    @contextmanager
    def _translated(self) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            raise self.translate(exc) from None

    def upload(self, local: Path, key: str, content_type: str) -> str | None:
        if local.stat().st_size <= self.multipart_threshold:
            with local.open("rb") as body, self._translated():
                response = self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
                )
            return _unquote(response.get("ETag"))
        return self._multipart(local, key, content_type)

    def _multipart(self, local: Path, key: str, content_type: str) -> str | None:
        with self._translated():
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            with local.open("rb") as handle:
                number = 1
                while chunk := handle.read(self.multipart_chunk):
                    with self._translated():
                        answer = self.client.upload_part(
                            Bucket=self.bucket,
                            Key=key,
                            UploadId=upload_id,
                            PartNumber=number,
                            Body=chunk,
                        )
                    parts.append({"ETag": answer["ETag"], "PartNumber": number})
                    number += 1
            with self._translated():
                response = self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            # An unfinished multipart upload keeps its chunks (and costs storage) until aborted.
            with suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return _unquote(response.get("ETag"))

    def put(self, data: bytes, key: str, content_type: str) -> str | None:
        with self._translated():
            response = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )
        return _unquote(response.get("ETag"))

    def delete(self, key: str) -> None:
        with self._translated():
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def any_under(self, prefix: str) -> bool:
        with self._translated():
            answer = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        return int(answer.get("KeyCount", 0)) > 0


def _unquote(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None


def endpoint_url(host: str, *, disable_ssl: bool) -> str:
    """The endpoint URL for a ``host`` given with or without scheme, port or path.

    ``disable_ssl`` alone picks the scheme: a scheme written in ``host`` is accepted and
    ignored, so credentials never cross the network in clear by a typo.
    """
    text = host.strip()
    parts = urlsplit(text if "://" in text else f"//{text}")
    if not parts.netloc or any(c.isspace() for c in parts.netloc):
        raise ConnectorError(
            f"host {host!r} is not a host name (expected e.g. storage.example.com:9000)",
            error_code="PRQL-HOST",
            title="Invalid endpoint",
            blame="first_party",
        )
    scheme = "http" if disable_ssl else "https"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"
