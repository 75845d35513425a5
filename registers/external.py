"""Registers kept in other databases (issue 13, point 7), reached with SQLAlchemy Core: a person's
rows found, exported and erased by their e-mail column, and rows past their retention purged, in
batches by the key column. The URL comes from the environment variable the declaration names.

Every failure to reach a database or read its table raises `Unavailable` (with the error's class
only: a driver's message may quote a value), so that callers mark their run or request as
incomplete, to be tried again, and never as done.
"""

import os
from datetime import date
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from .exports import json_value
from .models import ExternalRegister

BATCH = 500


class Unavailable(Exception):
    """The register's database could not be reached, or its table or columns not read. `done`:
    the rows erased by the batches that committed before it went away."""

    done = 0


@lru_cache(maxsize=32)
def _engine(url: str) -> Engine:
    # One pool per URL and process, as Django keeps its connections; checked before each use.
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=2, max_overflow=2, connect_args=_connect_args(url)
    )


def _connect_args(url: str) -> dict:
    # A register that does not answer must not hold a worker: fail within seconds.
    if url.startswith("mysql"):
        return {"connect_timeout": 5, "read_timeout": 30, "write_timeout": 30}
    if url.startswith("postgresql"):
        return {"connect_timeout": 5}
    return {}


def connection_url(variable: str) -> str:
    """The URL in the variable, or in the file that <variable>_FILE names (container secrets)."""
    url = os.environ.get(variable, "")
    secret_file = os.environ.get(f"{variable}_FILE", "")
    if not url and secret_file:
        try:
            url = Path(secret_file).read_text().strip()
        except OSError as error:
            raise Unavailable(f"{variable}_FILE cannot be read ({type(error).__name__})") from error
    if not url:
        raise Unavailable(f"{variable} is not set")
    return url


def engine_for(register: ExternalRegister) -> Engine:
    url = connection_url(register.connection_variable)
    try:
        return _engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise Unavailable(type(error).__name__) from error


def _columns(register: ExternalRegister) -> set[str]:
    names = {register.key_column, register.email_column, *register.exported_columns, *register.anonymise}
    return names | ({register.clock_column} if register.clock_column else set())


def _reflected(register: ExternalRegister, connection: Connection) -> sa.Table:
    """The table as the database describes it, every declared column checked (the admin's check)."""
    table = sa.Table(register.table, sa.MetaData(), autoload_with=connection)
    missing = _columns(register) - set(table.c.keys())
    if missing:
        raise Unavailable(f"missing columns: {', '.join(sorted(missing))}")
    return table


def _declared(register: ExternalRegister) -> sa.TableClause:
    """The table as the declaration names it, without asking the database (reflection costs a
    handful of catalog queries a call); a column it lacks fails the statement: Unavailable."""
    return sa.table(register.table, *(sa.column(name) for name in sorted(_columns(register))))


def _run(register: ExternalRegister, work, *, reflect: bool = False):
    """Runs `work(connection, table)` in one transaction; any database error is Unavailable."""
    try:
        with engine_for(register).begin() as connection:
            table = _reflected(register, connection) if reflect else _declared(register)
            return work(connection, table)
    except SQLAlchemyError as error:
        raise Unavailable(type(error).__name__) from error


def _of_subject(table: sa.Table, register: ExternalRegister, emails: tuple[str, ...]):
    return sa.func.lower(sa.func.trim(table.c[register.email_column])).in_(emails)


def check(register: ExternalRegister) -> int:
    """Reaches the table and its columns; returns its number of rows."""
    return _run(
        register,
        lambda connection, table: connection.execute(
            sa.select(sa.func.count()).select_from(table)
        ).scalar_one(),
        reflect=True,
    )


def count_for(register: ExternalRegister, emails: tuple[str, ...]) -> int:
    if not emails:
        return 0

    def work(connection, table):
        query = sa.select(sa.func.count()).select_from(table).where(_of_subject(table, register, emails))
        return connection.execute(query).scalar_one()

    return _run(register, work)


def rows_for(register: ExternalRegister, emails: tuple[str, ...]) -> list[dict]:
    """The person's rows: their key as "id" and the exported columns, in key order."""
    if not emails:
        return []

    def work(connection, table):
        columns = [table.c[register.key_column], *(table.c[name] for name in register.exported_columns)]
        query = (
            sa.select(*columns)
            .where(_of_subject(table, register, emails))
            .order_by(table.c[register.key_column])
        )
        return [
            {
                "id": str(row[0]),
                **{
                    name: json_value(value)
                    for name, value in zip(register.exported_columns, row[1:], strict=True)
                },
            }
            for row in connection.execute(query)
        ]

    return _run(register, work)


def _apply(register: ExternalRegister, connection, table, keys: list) -> int:
    key = table.c[register.key_column]
    if register.erasure == ExternalRegister.Erasure.ANONYMISE:
        return connection.execute(sa.update(table).where(key.in_(keys)).values(**register.anonymise)).rowcount
    return connection.execute(sa.delete(table).where(key.in_(keys))).rowcount


def _in_batches(register: ExternalRegister, condition, batch: int) -> int:
    """Deletes or anonymises the rows `condition(table)` selects, one transaction per batch; an
    anonymised row is passed over by its key, so the loop ends."""
    done, after = 0, None
    while True:
        try:
            keys, count = _run(
                register,
                lambda connection, table, after=after: _batch(
                    register, connection, table, condition, batch, after
                ),
            )
        except Unavailable as error:
            error.done = done
            raise
        done += count
        if len(keys) < batch:
            return done
        after = keys[-1]


def _batch(register: ExternalRegister, connection, table, condition, batch: int, after) -> tuple[list, int]:
    key = table.c[register.key_column]
    query = sa.select(key).where(condition(table)).order_by(key).limit(batch)
    if after is not None and register.erasure == ExternalRegister.Erasure.ANONYMISE:
        query = query.where(key > after)
    keys = [row[0] for row in connection.execute(query)]
    return keys, (_apply(register, connection, table, keys) if keys else 0)


def erase_for(register: ExternalRegister, emails: tuple[str, ...], *, batch: int = BATCH) -> int:
    """Erases the person's rows as the declaration says; returns how many."""
    if not emails:
        return 0
    return _in_batches(register, lambda table: _of_subject(table, register, emails), batch)


def _due(register: ExternalRegister, table, cutoff: date):
    """The rows whose date column is on or before `cutoff` (their retention has run out)."""
    condition = table.c[register.clock_column] <= cutoff
    if register.erasure == ExternalRegister.Erasure.ANONYMISE:
        # An anonymised row is done: not taken again.
        name, value = next(iter(register.anonymise.items()))
        condition &= table.c[name].is_(None) if value is None else table.c[name] != value
    return condition


def purge_due(
    register: ExternalRegister, cutoff: date, *, except_emails: tuple[str, ...] = (), batch: int = BATCH
) -> int:
    """Erases the rows whose retention has run out, but those of `except_emails` (held)."""
    if not register.clock_column:
        return 0

    def due(table):
        condition = _due(register, table, cutoff)
        if except_emails:  # a row without an address is nobody's: not held
            condition &= sa.not_(sa.func.coalesce(_of_subject(table, register, except_emails), sa.false()))
        return condition

    return _in_batches(register, due, batch)


def count_due(register: ExternalRegister, cutoff: date, *, emails: tuple[str, ...] | None = None) -> int:
    """How many rows' retention has run out (of `emails` alone, where given)."""
    if not register.clock_column or emails == ():
        return 0

    def work(connection, table):
        condition = _due(register, table, cutoff)
        if emails is not None:
            condition &= _of_subject(table, register, emails)
        return connection.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar_one()

    return _run(register, work)
