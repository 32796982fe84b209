"""The real services the store tests use answer as they should (PostgreSQL, S3 over HTTP)."""

from __future__ import annotations

from typing import Any


def test_postgres_cluster_takes_connections(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url.replace("postgresql://", "postgresql://", 1)) as conn:
        conn.execute("CREATE TABLE t (k text PRIMARY KEY, v double precision)")
        conn.execute("INSERT INTO t VALUES (%s, %s), (%s, %s)", ("a", 1.5, "b", float("nan")))
        rows = conn.execute("SELECT k, v FROM t ORDER BY k").fetchall()
    assert rows[0] == ("a", 1.5)
    assert rows[1][0] == "b" and rows[1][1] != rows[1][1]  # NaN survives the round trip


def test_each_test_gets_its_own_database(postgres: Any, pg_url: str) -> None:
    other = postgres.create_database()
    assert other != pg_url and other.startswith(f"postgresql://{postgres.user}@127.0.0.1:")


def test_s3_server_over_http(s3_env: Any) -> None:
    import boto3

    client = boto3.client("s3")  # endpoint and credentials from the environment
    bucket = s3_env.create_bucket()
    client.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"
    assert s3_env.endpoint_url.startswith("http://127.0.0.1:")
