"""Source vendors; importing this package registers each of them."""

from ferry.connectors.sources import (  # noqa: F401
    abs,
    athena,
    bigquery,
    clickhouse,
    databricks,
    duckdb,
    gcs,
    mongodb,
    motherduck,
    mysql,
    oracle,
    postgres,
    redshift,
    redshift_serverless,
    s3,
    sftp,
    snowflake,
    sql_server,
    sqlite,
)
