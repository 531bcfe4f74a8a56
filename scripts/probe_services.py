"""Say which PostgreSQL and Redis the test run will use, or what it falls back to.

Prints shell `export`/`unset` lines on stdout for scripts/test.sh to eval, and one
loud banner on stderr.
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/segur_test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def probe_postgres(url: str) -> str | None:
    import psycopg2

    parts = urlsplit(url)
    try:
        connection = psycopg2.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            connect_timeout=3,
        )
    except psycopg2.OperationalError as error:
        print(f"# PostgreSQL: {str(error).strip()}", file=sys.stderr)
        return None
    with connection, connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    connection.close()
    return version


def probe_redis(url: str) -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        version = client.info("server")["redis_version"]
        client.close()
    except redis.RedisError as error:
        print(f"# Redis: {error}", file=sys.stderr)
        return None
    return version


def main() -> None:
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    pg_version = probe_postgres(database_url)
    redis_version = probe_redis(redis_url)

    lines, fallbacks = [], []
    if pg_version:
        lines.append(f"export DATABASE_URL='{database_url}'")
        database = f"PostgreSQL {pg_version} at {redact(database_url)}"
    else:
        lines.append("unset DATABASE_URL")
        database = "SQLite (in memory)"
        fallbacks.append(f"PostgreSQL unreachable at {redact(database_url)} -> SQLite")
    if redis_version:
        lines.append(f"export REDIS_URL='{redis_url}'")
        broker = (
            f"Redis {redis_version} at {redact(redis_url)} (worker tests on a real Celery worker)"
        )
    else:
        lines.append("unset REDIS_URL")
        broker = "none (tasks eager, worker tests SKIPPED)"
        fallbacks.append(f"Redis unreachable at {redact(redis_url)} -> no broker")

    bar = ("!" if fallbacks else "=") * 78
    print(bar, file=sys.stderr)
    print(f"TEST RUN: database = {database}; broker = {broker}", file=sys.stderr)
    for fallback in fallbacks:
        print(f"FALLBACK: {fallback}", file=sys.stderr)
    print(bar, file=sys.stderr)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
