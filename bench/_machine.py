"""The machine the benchmarks run on: how idle its CPU is, and its PostgreSQL server."""

import time

import psycopg2

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "postgres"}


def cpu_idle_share(seconds: float = 1.0) -> float:
    """The machine's idle share over a second (/proc/stat), to tell when others compete for it."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(value) for value in stat.readline().split()[1:]]
        return values[3] + values[4], sum(values)

    idle_before, total_before = sample()
    time.sleep(seconds)
    idle_after, total_after = sample()
    return (idle_after - idle_before) / max(1, total_after - total_before)


def pg_admin_execute(sql: str) -> None:
    """Runs one statement (CREATE or DROP DATABASE) outside a transaction, on the server's
    `postgres` database."""
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()
