"""The S3 family against a real S3 API (moto in server mode): layout, Parquet values, manifests,
failures and connection checks; and the Amazon S3 code paths that need no AWS."""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ferry.connectors import registry
from ferry.connectors.base import WriteContext, WriteMode, WriteResult
from ferry.connectors.destinations.s3 import S3Destination
from ferry.connectors.destinations.s3_compatible import S3CompatibleDestination
from ferry.connectors.object_storage import MIB, endpoint_url, files_signature
from ferry.connectors.types import TableSpec
from ferry.errors import ConnectorError
from tests.connectors.servers import EDGE, T0, batch_of, edge_rows, free_port, moto_server

FOLDER = "exports/acme"
MANIFEST_KEYS = {
    "version",
    "transfer_id",
    "start_time",
    "end_time",
    "model_id",
    "model_name",
    "bucket_name",
    "bucket_prefix",
    "manifest_file_key",
    "file_format",
    "transfer_type",
    "signature",
    "signature_public_key",
    "files",
}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def s3(s3_endpoint: str) -> Iterator[Any]:
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    yield client
    client.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"ferry-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def compatible(host: str, bucket: str, **extra: Any) -> S3CompatibleDestination:
    config = {
        "host": host,
        "folder": extra.pop("folder", FOLDER),
        "bucket_name": bucket,
        "disable_ssl": True,
        "auth_method": "access_keys",
        "access_keys": {"access_id": "test", "secret_key": "test-secret"},
        **extra,
    }
    connector = registry.destination_class("s3_compatible")(
        S3CompatibleDestination.config_model.model_validate(config)
    )
    assert isinstance(connector, S3CompatibleDestination)
    return connector


def context(transfer: str, *, full: bool = False, day: datetime = T0) -> WriteContext:
    return WriteContext(
        transfer_id=transfer, model_id="model-edge", status_time=day, is_full_refresh=full
    )


def keys(s3: Any, bucket: str, prefix: str = "") -> dict[str, str]:
    """Every key under the prefix → its ETag (unquoted)."""
    found: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"].strip('"')
    return found


def body(s3: Any, bucket: str, key: str) -> bytes:
    response = s3.get_object(Bucket=bucket, Key=key)
    with response["Body"] as stream:
        return bytes(stream.read())


def manifest_of(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(body(s3, bucket, key))
    return document


def check_manifest(
    s3: Any,
    bucket: str,
    key: str,
    *,
    transfer: str,
    data_keys: list[str],
    transfer_type: str,
) -> dict[str, Any]:
    manifest = manifest_of(s3, bucket, key)
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["version"] == 1
    assert manifest["transfer_id"] == transfer
    assert manifest["model_id"] == "model-edge"
    assert manifest["model_name"] == "edge"
    assert manifest["bucket_name"] == bucket
    assert manifest["bucket_prefix"] == FOLDER
    assert manifest["manifest_file_key"] == key
    assert manifest["file_format"] == "PARQUET"
    assert manifest["transfer_type"] == transfer_type
    assert manifest["signature_public_key"] is None
    start = datetime.fromisoformat(manifest["start_time"])
    end = datetime.fromisoformat(manifest["end_time"])
    assert start.tzinfo is not None
    assert start <= end
    files = manifest["files"]
    assert [f["data_file_key"] for f in files] == data_keys
    stored = keys(s3, bucket)
    for entry in files:
        assert set(entry) == {"sha256_checksum", "etag", "data_file_key"}
        content = body(s3, bucket, entry["data_file_key"])
        assert entry["sha256_checksum"] == hashlib.sha256(content).hexdigest()
        assert entry["etag"] == stored[entry["data_file_key"]]
    canonical = json.dumps(files, sort_keys=True, separators=(",", ":"))
    assert manifest["signature"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert manifest["signature"] == files_signature(files)
    return manifest


def read_rows(s3: Any, bucket: str, data_keys: list[str]) -> tuple[pa.Schema, list[dict[str, Any]]]:
    tables = [pq.read_table(io.BytesIO(body(s3, bucket, key))) for key in data_keys]
    return tables[0].schema, [row for t in tables for row in t.to_pylist()]


def expected_parquet(row: dict[str, Any]) -> dict[str, Any]:
    """A canonical row as the Parquet file must give it back."""
    out = dict(row)
    for name in ("number", "wide"):
        out[name] = None if row[name] is None else Decimal(row[name])
    return out


def write(
    connector: S3CompatibleDestination,
    rows: list[dict[str, Any]],
    ctx: WriteContext,
    *,
    table: TableSpec = EDGE,
    chunk: int = 2,
) -> WriteResult:
    batches = [batch_of(table, rows[i : i + chunk]) for i in range(0, len(rows), chunk)]
    mode = WriteMode.REPLACE if ctx.is_full_refresh else WriteMode.UPSERT
    return connector.write(table, iter(batches), mode=mode, context=ctx)


# --- writing -----------------------------------------------------------------------------------


def test_two_transfers_land_in_hive_layout_with_manifests(
    s3: Any, bucket: str, s3_endpoint: str
) -> None:
    connector = compatible(s3_endpoint, bucket)
    connector.part_rows = 3
    rows = edge_rows()
    assert not connector.has_table(EDGE)

    first = write(connector, rows, context("t-incremental"))
    day2 = T0 + timedelta(days=1, hours=13)  # 2024-03-03 01:00 UTC
    second = write(connector, rows[:2], context("t-full", full=True, day=day2))

    part = f"{FOLDER}/edge/dt=2024-03-01"
    first_keys = [f"{part}/t-incremental_00000.parquet", f"{part}/t-incremental_00001.parquet"]
    second_keys = [f"{FOLDER}/edge/dt=2024-03-03/t-full_00000.parquet"]
    first_manifest = f"{FOLDER}/_manifests/edge/dt=2024-03-01/manifest_t-incremental.json"
    second_manifest = f"{FOLDER}/_manifests/edge/dt=2024-03-03/manifest_t-full.json"
    assert set(keys(s3, bucket)) == {*first_keys, *second_keys, first_manifest, second_manifest}

    assert first.rows == first.changed == len(rows)
    assert first.files == first_keys
    stored = keys(s3, bucket)
    sizes = sum(
        s3.head_object(Bucket=bucket, Key=k)["ContentLength"] for k in first_keys if k in stored
    )
    assert first.bytes == sizes
    assert second.rows == second.changed == 2
    assert second.files == second_keys

    check_manifest(
        s3,
        bucket,
        first_manifest,
        transfer="t-incremental",
        data_keys=first_keys,
        transfer_type="INCREMENTAL",
    )
    check_manifest(
        s3,
        bucket,
        second_manifest,
        transfer="t-full",
        data_keys=second_keys,
        transfer_type="FULL_REFRESH",
    )
    assert connector.has_table(EDGE)
    other = TableSpec("other", EDGE.columns, model_name="other")
    assert not connector.has_table(other)

    schema, got = read_rows(s3, bucket, first_keys)
    assert [expected_parquet(r) for r in rows] == got
    _, again = read_rows(s3, bucket, second_keys)
    assert [expected_parquet(r) for r in rows[:2]] == again

    types = {field.name: field.type for field in schema}
    assert types == {
        "id": pa.string(),
        "text": pa.string(),
        "number": pa.decimal128(38, 10),
        "wide": pa.decimal256(50, 5),
        "free_number": pa.string(),
        "small": pa.int32(),
        "big": pa.int64(),
        "ratio": pa.float64(),
        "flag": pa.bool_(),
        "day": pa.date32(),
        "doc": pa.string(),
        "blob": pa.binary(),
        "updated_at": pa.timestamp("us", tz="UTC"),
    }
    assert schema.field("text").metadata == {b"description": b"Free text"}
    # Exact text survives for an undeclared decimal; declared ones are exact decimals.
    by_id = {r["id"]: r for r in got}
    assert by_id["max"]["free_number"] == (
        "123456789012345678901234567890.123456789012345678901234567890"
    )
    assert by_id["max"]["number"] == Decimal("1234567890123456789012345678.0123456789")
    assert by_id["max"]["updated_at"] == T0
    assert by_id["min"]["updated_at"] == datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert by_id["min"]["day"] == date(1, 1, 1)
    assert by_id["big"]["text"] == edge_rows()[3]["text"]


def test_big_parts_go_as_multipart_uploads(s3: Any, bucket: str, s3_endpoint: str) -> None:
    connector = compatible(s3_endpoint, bucket)
    connector.multipart_threshold = 5 * MIB
    connector.multipart_chunk = 5 * MIB
    # Random text barely compresses, so the single part is about 7 MB.
    rows = [{**edge_rows()[4], "id": f"r{i}", "text": os.urandom(500_000).hex()} for i in range(7)]
    result = write(connector, rows, context("t-multi"))

    assert len(result.files) == 1
    assert result.bytes > 5 * MIB
    manifest_key = f"{FOLDER}/_manifests/edge/dt=2024-03-01/manifest_t-multi.json"
    manifest = check_manifest(
        s3,
        bucket,
        manifest_key,
        transfer="t-multi",
        data_keys=result.files,
        transfer_type="INCREMENTAL",
    )
    assert manifest["files"][0]["etag"].endswith("-2")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    _, got = read_rows(s3, bucket, result.files)
    assert [r["text"] for r in got] == [r["text"] for r in rows]


def test_parts_roll_by_size(s3: Any, bucket: str, s3_endpoint: str) -> None:
    connector = compatible(s3_endpoint, bucket)
    connector.part_bytes = 1  # every batch passes it
    result = write(connector, edge_rows(), context("t-small"), chunk=2)

    assert [key.rsplit("/", 1)[1] for key in result.files] == [
        "t-small_00000.parquet",
        "t-small_00001.parquet",
        "t-small_00002.parquet",
    ]
    _, got = read_rows(s3, bucket, result.files)
    assert [r["id"] for r in got] == [r["id"] for r in edge_rows()]


def test_zero_rows_still_get_a_manifest(s3: Any, bucket: str, s3_endpoint: str) -> None:
    connector = compatible(s3_endpoint, bucket)
    result = connector.write(EDGE, iter([]), mode=WriteMode.UPSERT, context=context("t-empty"))

    assert result == WriteResult(rows=0, changed=0, bytes=0, files=[])
    key = f"{FOLDER}/_manifests/edge/dt=2024-03-01/manifest_t-empty.json"
    assert set(keys(s3, bucket)) == {key}
    manifest = check_manifest(
        s3, bucket, key, transfer="t-empty", data_keys=[], transfer_type="INCREMENTAL"
    )
    assert manifest["files"] == []
    assert not connector.has_table(EDGE)


def test_disable_manifest_writes_data_only(s3: Any, bucket: str, s3_endpoint: str) -> None:
    connector = compatible(s3_endpoint, bucket, disable_manifest=True)
    result = write(connector, edge_rows(), context("t-bare"))

    assert set(keys(s3, bucket)) == set(result.files)
    assert result.files == [f"{FOLDER}/edge/dt=2024-03-01/t-bare_00000.parquet"]


def test_failure_mid_stream_leaves_no_manifest_and_no_parts(
    s3: Any, bucket: str, s3_endpoint: str
) -> None:
    connector = compatible(s3_endpoint, bucket)
    connector.part_rows = 1
    rows = edge_rows()

    def broken() -> Iterator[pa.RecordBatch]:
        yield batch_of(EDGE, rows[:3])
        assert len(keys(s3, bucket)) == 3  # one part per row, uploaded already
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="the source went away"):
        connector.write(EDGE, broken(), mode=WriteMode.UPSERT, context=context("t-broken"))
    assert keys(s3, bucket) == {}


def test_a_value_that_does_not_fit_its_precision_fails_the_model(
    s3: Any, bucket: str, s3_endpoint: str
) -> None:
    connector = compatible(s3_endpoint, bucket)
    rows = [{**edge_rows()[4], "number": "1.12345678901"}]  # scale 11 in numeric(38, 10)

    with pytest.raises(ConnectorError) as caught:
        write(connector, rows, context("t-scale"))
    assert caught.value.error_code == "PRQL-TYPE"
    assert "number" in caught.value.message
    assert keys(s3, bucket) == {}


def test_host_without_scheme_and_folder_slashes(s3: Any, bucket: str, s3_endpoint: str) -> None:
    host = s3_endpoint.removeprefix("http://")
    connector = compatible(host, bucket, folder="/deep//folder/")
    result = write(connector, edge_rows()[:1], context("t-host"))

    assert result.files == ["deep/folder/edge/dt=2024-03-01/t-host_00000.parquet"]
    assert "deep/folder/_manifests/edge/dt=2024-03-01/manifest_t-host.json" in keys(s3, bucket)


# --- connection checks -------------------------------------------------------------------------


def test_check_passes_and_leaves_nothing(s3: Any, bucket: str, s3_endpoint: str) -> None:
    compatible(s3_endpoint, bucket).check()
    assert keys(s3, bucket) == {}


def test_check_names_a_missing_bucket(s3_endpoint: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        compatible(s3_endpoint, "ferry-no-such-bucket").check()
    assert caught.value.error_code == "PRQL-BUCKET"
    assert "ferry-no-such-bucket" in caught.value.message
    assert not caught.value.is_retryable


def test_check_names_an_unreachable_endpoint(bucket: str) -> None:
    connector = compatible(f"127.0.0.1:{free_port()}", bucket)
    with pytest.raises(ConnectorError) as caught:
        connector.check()
    assert caught.value.error_code == "PRQL-REFUSED"
    assert caught.value.is_retryable
    assert "test-secret" not in caught.value.trace


# --- Amazon S3 without AWS ---------------------------------------------------------------------


def aws(auth: dict[str, Any], **extra: Any) -> S3Destination:
    config = {
        "folder": "/exports/acme/",
        "bucket_name": "recipient-bucket",
        "bucket_region": "eu-west-3",
        **auth,
        **extra,
    }
    connector = registry.destination_class("s3")(S3Destination.config_model.model_validate(config))
    assert isinstance(connector, S3Destination)
    return connector


ACCESS_KEYS = {
    "auth_method": "aws_access_keys",
    "aws_access_keys": {"access_id": "AKIAEXAMPLE", "secret_key": "secret"},
}
IAM_ROLE = {
    "auth_method": "aws_iam_role",
    "aws_iam_role": {"aws_iam_role_arn": "arn:aws:iam::123456789012:role/ferry"},
}


def test_s3_talks_to_aws_in_the_bucket_region() -> None:
    connector = aws(ACCESS_KEYS)
    settings = connector.settings()
    assert settings.endpoint_url is None
    assert settings.region == "eu-west-3"
    assert settings.bucket == "recipient-bucket"
    assert not settings.path_style
    assert connector.capabilities.append_only
    assert connector.capabilities.bulk_load == "parquet"


def test_s3_key_layout() -> None:
    layout = aws(ACCESS_KEYS).layout()
    day = date(2024, 3, 1)
    assert layout.data_key(EDGE, day, "t1", 0, "parquet") == (
        "exports/acme/edge/dt=2024-03-01/t1_00000.parquet"
    )
    assert layout.data_key(EDGE, day, "t1", 12, "parquet").endswith("/t1_00012.parquet")
    assert layout.manifest_key(EDGE, day, "t1") == (
        "exports/acme/_manifests/edge/dt=2024-03-01/manifest_t1.json"
    )
    assert layout.table_prefix(EDGE) == "exports/acme/edge/"


def test_s3_iam_role_is_not_available_in_this_build() -> None:
    connector = aws(IAM_ROLE)
    with pytest.raises(ConnectorError) as at_check:
        connector.check()
    assert at_check.value.error_code == "PRQL-UNAVAILABLE"
    assert "aws_access_keys" in at_check.value.message

    with pytest.raises(ConnectorError) as at_write:
        connector.write(EDGE, iter([]), mode=WriteMode.UPSERT, context=context("t-role"))
    assert at_write.value.error_code == "PRQL-UNAVAILABLE"


def test_s3_classifies_aws_answers() -> None:
    from botocore.exceptions import ClientError

    connector = aws(ACCESS_KEYS)

    def answer(code: str, status: int) -> ConnectorError:
        error = ClientError(
            {
                "Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            "PutObject",
        )
        return connector.classify(error)

    assert answer("InvalidAccessKeyId", 403).error_code == "PRQL-AUTH"
    assert answer("SignatureDoesNotMatch", 403).error_code == "PRQL-AUTH"
    assert answer("AccessDenied", 403).error_code == "PRQL-PERMISSION"
    assert answer("NoSuchBucket", 404).error_code == "PRQL-BUCKET"
    assert answer("PermanentRedirect", 301).error_code == "PRQL-BUCKET"
    slow = answer("SlowDown", 503)
    assert (slow.error_code, slow.is_retryable) == ("PRQL-STORAGE", True)


@pytest.mark.parametrize(
    ("host", "disable_ssl", "url"),
    [
        ("minio.local:9000", False, "https://minio.local:9000"),
        ("minio.local:9000", True, "http://minio.local:9000"),
        ("http://minio.local:9000/", False, "https://minio.local:9000"),
        ("https://gateway.example.com/s3/", True, "http://gateway.example.com/s3"),
        ("[::1]:9000", True, "http://[::1]:9000"),
    ],
)
def test_endpoint_url(host: str, disable_ssl: bool, url: str) -> None:
    assert endpoint_url(host, disable_ssl=disable_ssl) == url


def test_endpoint_url_refuses_a_host_without_a_name() -> None:
    with pytest.raises(ConnectorError) as caught:
        endpoint_url("https://", disable_ssl=False)
    assert caught.value.error_code == "PRQL-HOST"
