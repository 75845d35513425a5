"""The external databases the tests declare registers in: a real MariaDB and a second PostgreSQL
database, started by bin/test (bin/lib.sh: ensure_mariadb, ensure_external_postgres)."""

import os
import uuid

import pytest
import sqlalchemy as sa

from registers.external import _engine
from registers.models import ExternalRegister
from tests.conftest import need

KINDS = {
    "mariadb": "TRUSTCENTER_EXTERNAL_TEST_MARIADB_URL",
    "postgres": "TRUSTCENTER_EXTERNAL_TEST_POSTGRES_URL",
}


def external_table(kind: str, rows: list[dict]) -> tuple[ExternalRegister, sa.Table]:
    """A table of its own in the external database of `kind`, with `rows`, and its declaration:
    e-mail column `email`, date column `signed_up_on`, exported `name` and `email`."""
    variable = KINDS[kind]
    url = os.environ.get(variable, "")
    need(bool(url), f"{variable} (bin/test sets it)")
    engine = _engine(url)
    metadata = sa.MetaData()
    table = sa.Table(
        f"crm_contacts_{uuid.uuid4().hex[:10]}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(254)),
        sa.Column("signed_up_on", sa.Date),
    )
    try:
        metadata.create_all(engine)
    except sa.exc.OperationalError as error:
        need(False, f"the {kind} database ({type(error).__name__})")
    with engine.begin() as connection:
        if rows:
            connection.execute(table.insert(), rows)
    register = ExternalRegister.objects.create(
        name=f"CRM contacts ({kind}, {table.name})",
        connection_variable=variable,
        table=table.name,
        email_column="email",
        clock_column="signed_up_on",
        category="leads",
        exported_columns=["name", "email", "signed_up_on"],
    )
    return register, table


def rows_of(kind: str, table: sa.Table) -> list[dict]:
    with _engine(os.environ[KINDS[kind]]).connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(table).order_by(table.c.id))]


@pytest.fixture
def drop_external_tables():
    made: list[tuple[str, sa.Table]] = []
    yield made
    for kind, table in made:
        table.drop(_engine(os.environ[KINDS[kind]]), checkfirst=True)
