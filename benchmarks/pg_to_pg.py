"""PostgreSQL → PostgreSQL: Ferry against a raw binary COPY pipe, in the same run.

    python benchmarks/pg_to_pg.py [--rows 1000000] [--tenants 1000] [--workers 2]
        [--metadata sqlite|postgres]

Builds a source table (7 columns, the given number of tenants) in a throwaway database, then:

- full copy: the pipe ``COPY … TO STDOUT (FORMAT binary) | COPY … FROM STDIN (FORMAT binary)``
  of the whole table, against Ferry delivering every tenant's slice to its own destination;
- incremental: 1 % of rows updated and 0.5 % inserted; the pipe copies the changed rows into a
  staging table and merges them with ``INSERT … ON CONFLICT``, against Ferry's incremental runs.
- no change: Ferry once more with nothing new (what each run of a frequent schedule costs).

Also in the same run, the floor for the same layout: a minimal client doing, per tenant and in
one destination transaction, only what PostgreSQL itself must do for it (for the full copy: create
the schema, ``_transfer_status`` and the typed table, then pipe the tenant's rows with binary
COPY; for the incremental run: COPY the tenant's changed rows into a temporary table, upsert
them, record the status). With many small tenants that per-table work, not the row volume,
decides the time; Ferry's ratio to this floor is what its own overhead costs.

Ferry's metadata (transfers, leases, watermarks) lives in SQLite, the embedded default, or with
``--metadata postgres`` in a PostgreSQL database of its own, as a deployment with several
workers keeps it. Ferry's transfers run in a process of their own (``transfer_worker.py``), as in a worker whose
threads take the transfers in turn; the set-up (destinations created through the services)
stays out of it. Prints the times, the ratios, rows/s and the peak resident memory of
that worker process. Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and psql on PATH.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from ferry.db import migrate
from ferry.db.engine import session_scope
from ferry.db.models import Environment
from ferry.logging import configure
from ferry.runtime import Runtime
from ferry.scope import Scope
from ferry.services import destinations, models, organizations, recipients, sources, transfers
from ferry.settings import Settings

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
COLUMNS = ("id", "org_id", "title", "amount", "quantity", "is_open", "updated_at")


def psql(database: str, sql: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            database,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        check=True,
    )


def create_database(name: str) -> None:
    psql("postgres", f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_source(name: str, rows: int, tenants: int) -> None:
    psql(
        name,
        f"""
        CREATE TABLE orders (id BIGINT PRIMARY KEY, org_id TEXT NOT NULL, title TEXT,
            amount NUMERIC(12, 2), quantity INTEGER, is_open BOOLEAN, updated_at TIMESTAMPTZ);
        INSERT INTO orders SELECT g, 't' || lpad((g % {tenants})::text, 5, '0'),
            'order ' || g || ' of ' || md5(g::text), (g % 100000) / 100.0, g % 1000,
            g % 3 = 0, now() - interval '1 day' - (g || ' milliseconds')::interval
        FROM generate_series(1, {rows}) AS g;
        CREATE INDEX orders_read ON orders (org_id, updated_at, id);
        CREATE INDEX orders_modified ON orders (updated_at);
        ANALYZE orders;""",
    )


def pipe(source: str, destination: str, query: str, table: str) -> float:
    """Seconds for psql COPY TO STDOUT | psql COPY FROM STDIN, both binary."""
    out = [
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        source,
        "-q",
        "-c",
        f"COPY ({query}) TO STDOUT (FORMAT binary)",
    ]
    into = [
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        destination,
        "-q",
        "-c",
        f"COPY {table} FROM STDIN (FORMAT binary)",
    ]
    started = time.perf_counter()
    reader = subprocess.Popen(out, stdout=subprocess.PIPE)
    writer = subprocess.run(into, stdin=reader.stdout, check=True)
    reader.wait()
    if reader.returncode or writer.returncode:
        raise RuntimeError("the COPY pipe failed")
    return time.perf_counter() - started


TABLE_DDL = (
    "(id BIGINT PRIMARY KEY, org_id TEXT, title TEXT, amount NUMERIC(12, 2), "
    "quantity INTEGER, is_open BOOLEAN, updated_at TIMESTAMPTZ)"
)
SELECTED = ", ".join(COLUMNS)


def floor(source: str, target: str, tenants: int, workers: int, *, since: str | None) -> float:
    """Seconds for the per-tenant floor (see the module's docstring), on ``workers`` threads of
    a process of its own, so that Ferry's peak memory stays Ferry's."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_floor, source, target, tenants, workers, since).result()


def _floor(source: str, target: str, tenants: int, workers: int, since: str | None) -> float:
    import psycopg

    def connect(database: str) -> psycopg.Connection:
        return psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}")

    def one_share(share: list[str]) -> None:
        with connect(source) as reader, connect(target) as writer:
            for tenant in share:
                where = f"org_id = '{tenant}'" + (f" AND updated_at >= '{since}'" if since else "")
                read = (
                    f"COPY (SELECT {SELECTED} FROM orders WHERE {where}) TO STDOUT (FORMAT binary)"
                )
                schema = f'"floor_{tenant}"'
                with writer.transaction(), writer.cursor() as out:
                    if since is None:
                        out.execute(
                            f"CREATE SCHEMA {schema}; CREATE TABLE {schema}._transfer_status "
                            "(data_model_name TEXT PRIMARY KEY, transfer_last_updated_at "
                            f"TIMESTAMPTZ); CREATE TABLE {schema}.orders {TABLE_DDL}"
                        )
                        into = f"COPY {schema}.orders FROM STDIN (FORMAT binary)"
                    else:
                        out.execute(
                            f"CREATE TEMPORARY TABLE staging (LIKE {schema}.orders) ON COMMIT DROP"
                        )
                        into = "COPY staging FROM STDIN (FORMAT binary)"
                    with reader.cursor().copy(read) as rows, out.copy(into) as load:
                        for chunk in rows:
                            load.write(chunk)
                    if since is not None:
                        out.execute(
                            f"INSERT INTO {schema}.orders SELECT * FROM staging ON CONFLICT (id) "
                            "DO UPDATE SET title = EXCLUDED.title, updated_at = EXCLUDED.updated_at"
                        )
                    out.execute(
                        f"INSERT INTO {schema}._transfer_status VALUES ('orders', now()) "
                        "ON CONFLICT (data_model_name) DO UPDATE SET transfer_last_updated_at "
                        "= EXCLUDED.transfer_last_updated_at"
                    )
                reader.rollback()

    names = [f"t{n:05d}" for n in range(tenants)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one_share, [names[i::workers] for i in range(workers)]))
    return time.perf_counter() - started


def configure_ferry(runtime: Runtime, source: str, target: str, tenants: int) -> list[str]:
    sessions = runtime.sessions
    with session_scope(sessions) as session:
        organizations.create_api_key(session, org_name="bench", environment="prod")
    with session_scope(sessions) as session:
        env = session.scalars(sa.select(Environment).where(Environment.kind == "prod")).one()
        scope = Scope(
            organization_id=env.organization_id,
            environment_id=env.id,
            environment="prod",
            actor_type="api_key",
            actor_id=None,
        )
        login = {
            "host": "127.0.0.1",
            "port": 5432,
            "auth_method": "password_auth",
            "password_auth": {"username": "postgres", "password": "bench-password"},
            "disable_ssl": True,
        }
        from ferry.connectors import registry

        source_cls = registry.source_class("postgres")
        sources.create(
            session,
            scope=scope,
            name="app",
            vendor="postgres",
            config=source_cls.config_model.model_validate(
                login | {"database": source, "schema": "public"}
            ),
        )
        columns = [
            {"name_in_source": c, "name_in_destination": c, "data_type": t}
            for c, t in (
                ("title", "text"),
                ("amount", "decimal"),
                ("quantity", "integer"),
                ("is_open", "boolean"),
            )
        ]
        models.create(
            session,
            scope=scope,
            skip_validation=True,
            data={
                "model_name": "orders",
                "source_table": "public.orders",
                "organization_column": "org_id",
                "columns": [
                    {
                        "name_in_source": "id",
                        "name_in_destination": "id",
                        "data_type": "bigint",
                        "is_primary_key": True,
                    },
                    *columns,
                    {
                        "name_in_source": "updated_at",
                        "name_in_destination": "updated_at",
                        "data_type": "timestamp",
                        "is_last_modified": True,
                    },
                ],
            },
        )
        dest_cls = registry.destination_class("postgres")
        made = []
        for n in range(tenants):
            tenant = f"t{n:05d}"
            recipient = recipients.create(
                session, scope=scope, data={"id_in_provider_system": tenant}
            )
            config = dest_cls.config_model.model_validate(
                login | {"database": target, "schema": f"out_{tenant}", "use_ssh_tunnel": False}
            )
            destination = destinations.create(
                session,
                scope=scope,
                config=config,
                data={"vendor": "postgres", "name": tenant, "recipient_id": recipient.id},
            )
            made.append(str(destination.id))
        return made


def request_all(runtime: Runtime, destination_ids: list[str]) -> list[str]:
    """A transfer requested for every destination, as the API would; their ids."""
    with session_scope(runtime.sessions) as session:
        env = session.scalars(sa.select(Environment).where(Environment.kind == "prod")).one()
        scope = Scope(
            organization_id=env.organization_id,
            environment_id=env.id,
            environment="prod",
            actor_type="api_key",
            actor_id=None,
        )
        return [
            str(transfers.request(session, scope=scope, destination_id=d, data={})[0].id)
            for d in destination_ids
        ]


def run_all(settings: Settings, ids: list[str], workers: int) -> tuple[float, float]:
    """(seconds, peak MiB) of a worker process running the transfers (transfer_worker.py)."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    job = {
        "database_url": settings.database_url,
        "secret_key": key,
        "transfer_ids": ids,
        "workers": workers,
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("transfer_worker.py"))],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    if result["failed"]:
        raise RuntimeError(f"transfers did not succeed: {result['failed']}")
    return result["seconds"], result["peak_mib"]


def report(
    label: str,
    rows: int,
    pipe_seconds: float,
    floor_seconds: float,
    ferry: tuple[float, float],
) -> None:
    ferry_seconds, peak = ferry
    print(
        f"{label}: pipe {pipe_seconds:.2f}s ({rows / pipe_seconds:,.0f} rows/s), "
        f"per-tenant floor {floor_seconds:.2f}s ({floor_seconds / pipe_seconds:.2f}x the pipe), "
        f"ferry {ferry_seconds:.2f}s ({rows / ferry_seconds:,.0f} rows/s), "
        f"ratio {ferry_seconds / pipe_seconds:.2f}x the pipe, "
        f"{ferry_seconds / floor_seconds:.2f}x the floor, "
        f"ferry worker's peak memory {peak:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--metadata", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    configure("WARNING")
    tag = uuid.uuid4().hex[:8]
    source, pipe_target, ferry_target, metadata = (
        f"bench_src_{tag}",
        f"bench_pipe_{tag}",
        f"bench_ferry_{tag}",
        f"bench_meta_{tag}",
    )
    databases = [source, pipe_target, ferry_target]
    if args.metadata == "postgres":
        databases.append(metadata)
    for name in databases:
        create_database(name)
    try:
        print(f"building {args.rows:,} rows for {args.tenants:,} tenants …", file=sys.stderr)
        build_source(source, args.rows, args.tenants)
        psql(pipe_target, f"CREATE TABLE orders {TABLE_DDL}")
        with tempfile.TemporaryDirectory() as work:
            settings = Settings(
                database_url=(
                    f"{SERVER}/{metadata}"
                    if args.metadata == "postgres"
                    else f"sqlite:///{Path(work) / 'meta.db'}"
                ),
                secret_key=Fernet.generate_key().decode(),
            )
            migrate.upgrade(settings)
            runtime = Runtime.build(settings)
            ids = configure_ferry(runtime, source, ferry_target, args.tenants)

            full_pipe = pipe(source, pipe_target, "SELECT * FROM orders", "orders")
            full_floor = floor(source, pipe_target, args.tenants, args.workers, since=None)
            full_ferry = run_all(settings, request_all(runtime, ids), args.workers)
            report("full copy", args.rows, full_pipe, full_floor, full_ferry)

            changed = args.rows // 100
            added = args.rows // 200
            cutoff = subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", source, "-Atc", "SELECT now()"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            psql(
                source,
                "UPDATE orders SET title = title || ' (edited)', "
                "updated_at = now() WHERE id % 100 = 7",
            )
            psql(
                source,
                f"INSERT INTO orders SELECT g, 't' || lpad((g % {args.tenants})::text"
                f", 5, '0'), 'new ' || g, 1.5, 1, true, now() FROM generate_series("
                f"{args.rows + 1}, {args.rows + added}) AS g",
            )
            psql(pipe_target, "CREATE UNLOGGED TABLE staging (LIKE orders)")
            started = time.perf_counter()
            pipe(
                source,
                pipe_target,
                f"SELECT * FROM orders WHERE updated_at >= '{cutoff}'",
                "staging",
            )
            psql(
                pipe_target,
                "INSERT INTO orders SELECT * FROM staging ON CONFLICT (id) DO "
                "UPDATE SET title = EXCLUDED.title, updated_at = "
                "EXCLUDED.updated_at",
            )
            incremental_pipe = time.perf_counter() - started
            incremental_floor = floor(source, pipe_target, args.tenants, args.workers, since=cutoff)
            incremental_ferry = run_all(settings, request_all(runtime, ids), args.workers)
            report(
                "incremental",
                changed + added,
                incremental_pipe,
                incremental_floor,
                incremental_ferry,
            )
            # Nothing changed since: what a frequent schedule costs per tenant.
            idle, idle_peak = run_all(settings, request_all(runtime, ids), args.workers)
            print(
                f"no change: ferry {idle:.2f}s ({idle / args.tenants * 1000:.1f} ms per tenant), "
                f"ferry worker's peak memory {idle_peak:.0f} MiB"
            )
            runtime.engine.dispose()
    finally:
        for name in databases:
            drop_database(name)


if __name__ == "__main__":
    main()
