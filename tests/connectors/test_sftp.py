"""The SFTP destination against a real OpenSSH server: CSV files read back value by value,
delimiters, manifests, failures and connection errors."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import socket
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ferry.connectors import registry
from ferry.connectors.base import ConnectorContext, WriteContext, WriteMode, WriteResult
from ferry.connectors.destinations.sftp import SftpDestination, sftp_folder
from ferry.connectors.object_storage import files_signature
from ferry.errors import ConnectorError
from tests.connectors.servers import (
    EDGE,
    T0,
    KeyPair,
    SshServer,
    batch_of,
    edge_rows,
    free_port,
    key_pair,
    require_sshd,
    sshd_server,
)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    require_sshd()
    with sshd_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def destination(
    server: SshServer,
    folder: Path | str,
    *,
    delimiter: str = ",",
    configured: KeyPair | None = None,
    held: dict[str, str] | None = None,
    port: int | None = None,
    **extra: Any,
) -> SftpDestination:
    """A connector whose config names ``configured``'s public key (the server's authorized
    key by default) and whose context holds ``held`` (that key's private half by default)."""
    key = configured or server.key
    config = {
        "host": "127.0.0.1",
        "port": port or server.port,
        "username": server.username,
        "folder": str(folder),
        "file_format": "csv",
        "csv": {"delimiter": delimiter},
        "auth_method": "public_key_auth",
        "public_key_auth": {"public_key": key.public},
        **extra,
    }
    keys = {key.public: key.private} if held is None else held
    connector = registry.destination_class("sftp")(
        SftpDestination.config_model.model_validate(config),
        context=ConnectorContext(private_keys=keys),
    )
    assert isinstance(connector, SftpDestination)
    return connector


def context(transfer: str, *, full: bool = False, day: datetime = T0) -> WriteContext:
    return WriteContext(
        transfer_id=transfer, model_id="model-edge", status_time=day, is_full_refresh=full
    )


def write(
    connector: SftpDestination, rows: list[dict[str, Any]], ctx: WriteContext, chunk: int = 2
) -> WriteResult:
    batches = [batch_of(EDGE, rows[i : i + chunk]) for i in range(0, len(rows), chunk)]
    mode = WriteMode.REPLACE if ctx.is_full_refresh else WriteMode.UPSERT
    return connector.write(EDGE, iter(batches), mode=mode, context=ctx)


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def read_csv(path: Path, delimiter: str) -> list[dict[str, str]]:
    # The 1 MB text value is above the csv module's default field limit.
    limit = csv.field_size_limit(4 * 1024 * 1024)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle, delimiter=delimiter))
    finally:
        csv.field_size_limit(limit)


def parsed(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row back in canonical values; empty fields read as NULL (checked apart)."""

    def value(text: str, kind: Any) -> Any:
        return None if text == "" else kind(text)

    return {
        "id": row["id"],
        "text": row["text"],
        "number": row["number"] or None,
        "wide": row["wide"] or None,
        "free_number": row["free_number"] or None,
        "small": value(row["small"], int),
        "big": value(row["big"], int),
        "ratio": value(row["ratio"], float),
        "flag": value(row["flag"], {"true": True, "false": False}.__getitem__),
        "day": value(row["day"], date.fromisoformat),
        "doc": row["doc"] or None,
        "blob": value(row["blob"], base64.b64decode),
        "updated_at": value(row["updated_at"], datetime.fromisoformat),
    }


def expected_csv(row: dict[str, Any]) -> dict[str, Any]:
    """What CSV can say of a canonical row: an empty string and NULL both read as ''."""
    out = dict(row)
    if out["text"] is None:
        out["text"] = ""
    if out["blob"] == b"":
        out["blob"] = None
    return out


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_files_read_back_exactly(sshd: SshServer, tmp_path: Path, delimiter: str) -> None:
    folder = tmp_path / "drop"
    connector = destination(sshd, folder, delimiter=delimiter)
    connector.part_rows = 3
    rows = edge_rows()
    assert not connector.has_table(EDGE)

    first = write(connector, rows, context("t-incremental"))
    second = write(connector, rows[:1], context("t-full", full=True, day=T0 + timedelta(days=2)))

    assert files_under(folder) == {
        "edge/dt=2024-03-01/t-incremental_00000.csv",
        "edge/dt=2024-03-01/t-incremental_00001.csv",
        "edge/dt=2024-03-03/t-full_00000.csv",
        "_manifests/edge/dt=2024-03-01/manifest_t-incremental.json",
        "_manifests/edge/dt=2024-03-03/manifest_t-full.json",
    }
    assert first.rows == first.changed == len(rows)
    assert first.files == [
        f"{folder}/edge/dt=2024-03-01/t-incremental_00000.csv",
        f"{folder}/edge/dt=2024-03-01/t-incremental_00001.csv",
    ]
    assert first.bytes == sum(Path(f).stat().st_size for f in first.files)
    assert second.files == [f"{folder}/edge/dt=2024-03-03/t-full_00000.csv"]
    assert connector.has_table(EDGE)

    got = [r for f in first.files for r in read_csv(Path(f), delimiter)]
    assert [parsed(r) for r in got] == [expected_csv(r) for r in rows]
    header = Path(first.files[0]).read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == delimiter.join(f'"{c.name}"' for c in EDGE.columns)

    # NULL is an empty field; an empty string and empty bytes are quoted.
    text = Path(first.files[0]).read_text(encoding="utf-8")
    assert f'"nulls"{delimiter * 12}\n' in text
    assert [parsed(r) for r in read_csv(Path(second.files[0]), delimiter)] == [
        expected_csv(rows[0])
    ]
    empty_line = next(
        line for line in Path(first.files[1]).read_text().splitlines() if line.startswith('"empty"')
    )
    assert empty_line.split(delimiter)[1] == '""'

    # Timestamps are ISO 8601 UTC with microseconds, bytes base64.
    by_id = {r["id"]: r for r in got}
    assert by_id["max"]["updated_at"] == "2024-03-01T12:00:00.123456Z"
    assert by_id["min"]["updated_at"] == "1900-01-01T00:00:00.000001Z"
    assert by_id["max"]["blob"] == base64.b64encode(bytes(range(256))).decode()
    assert by_id["max"]["ratio"] == "0.30000000000000004"

    manifest_path = folder / "_manifests/edge/dt=2024-03-01/manifest_t-incremental.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["file_format"] == "CSV"
    assert manifest["transfer_type"] == "INCREMENTAL"
    assert manifest["bucket_name"] is None
    assert manifest["bucket_prefix"] == str(folder)
    assert manifest["manifest_file_key"] == str(manifest_path)
    assert manifest["signature_public_key"] is None
    assert [f["data_file_key"] for f in manifest["files"]] == first.files
    for entry in manifest["files"]:
        content = Path(entry["data_file_key"]).read_bytes()
        assert entry["sha256_checksum"] == hashlib.sha256(content).hexdigest()
        assert entry["etag"] is None
    assert manifest["signature"] == files_signature(manifest["files"])
    full = json.loads((folder / "_manifests/edge/dt=2024-03-03/manifest_t-full.json").read_text())
    assert full["transfer_type"] == "FULL_REFRESH"


def test_zero_rows_and_disabled_manifest(sshd: SshServer, tmp_path: Path) -> None:
    connector = destination(sshd, tmp_path / "empty")
    result = connector.write(EDGE, iter([]), mode=WriteMode.UPSERT, context=context("t-empty"))
    assert result == WriteResult()
    manifest = json.loads(
        (tmp_path / "empty/_manifests/edge/dt=2024-03-01/manifest_t-empty.json").read_text()
    )
    assert manifest["files"] == []

    bare = destination(sshd, tmp_path / "bare", disable_manifest=True)
    written = write(bare, edge_rows()[:2], context("t-bare"))
    assert files_under(tmp_path / "bare") == {"edge/dt=2024-03-01/t-bare_00000.csv"}
    assert written.files == [f"{tmp_path}/bare/edge/dt=2024-03-01/t-bare_00000.csv"]


def test_a_retried_transfer_replaces_its_own_files(sshd: SshServer, tmp_path: Path) -> None:
    connector = destination(sshd, tmp_path / "again")
    write(connector, edge_rows(), context("t-same"))
    result = write(connector, edge_rows()[:1], context("t-same"))

    assert [r["id"] for r in read_csv(Path(result.files[0]), ",")] == ["max"]
    assert not [name for name in files_under(tmp_path / "again") if "partial" in name]


def test_failure_mid_stream_leaves_no_manifest_and_no_files(
    sshd: SshServer, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    connector = destination(sshd, folder)
    connector.part_rows = 1
    rows = edge_rows()

    def broken() -> Iterator[pa.RecordBatch]:
        yield batch_of(EDGE, rows[:2])
        assert len(files_under(folder)) == 2  # one part per row, uploaded already
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="the source went away"):
        connector.write(EDGE, broken(), mode=WriteMode.UPSERT, context=context("t-broken"))
    assert files_under(folder) == set()


def test_check_creates_the_folder_and_leaves_nothing(sshd: SshServer, tmp_path: Path) -> None:
    folder = tmp_path / "new" / "deeper"
    destination(sshd, folder).check()
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_a_key_the_server_does_not_trust_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    stranger = key_pair()
    with pytest.raises(ConnectorError) as caught:
        destination(sshd, tmp_path, configured=stranger).check()
    assert caught.value.error_code == "PRQL-AUTH"
    assert not caught.value.is_retryable


def test_a_missing_private_key_is_named(sshd: SshServer, tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        destination(sshd, tmp_path, held={}).check()
    assert caught.value.error_code == "PRQL-KEY"


def test_the_key_is_found_without_its_comment(sshd: SshServer, tmp_path: Path) -> None:
    # Ferry files private keys by type and key material; the config may carry a comment.
    commented = KeyPair(sshd.key.public + " ferry@example", sshd.key.private)
    destination(
        sshd, tmp_path / "c", configured=commented, held={sshd.key.public: sshd.key.private}
    ).check()


def test_a_refused_port_is_retryable(sshd: SshServer, tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        destination(sshd, tmp_path, port=free_port()).check()
    assert caught.value.error_code == "PRQL-REFUSED"
    assert caught.value.is_retryable


def test_an_unresolvable_host_is_named(sshd: SshServer, tmp_path: Path) -> None:
    # The resolver's own error, classified without a lookup leaving the machine.
    error = destination(sshd, tmp_path).classify(socket.gaierror(-2, "Name or service not known"))
    assert error.error_code == "PRQL-HOST"


def test_folder_forms() -> None:
    assert sftp_folder("/upload//ferry/") == "/upload/ferry"
    assert sftp_folder("upload/ferry/") == "upload/ferry"
    assert sftp_folder("/") == "/"
