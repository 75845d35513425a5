"""Registers kept in other databases (issue 13, point 7), against a real MariaDB and a second
PostgreSQL database: a person's rows found, exported, deleted or anonymised, rows past their
retention purged in batches, and an unreachable database reported, never taken for done."""

import os
from datetime import date

import pytest

from registers import external
from registers.models import ExternalRegister
from tests.registers.external_db import external_table, rows_of

pytestmark = pytest.mark.django_db

KARI = "kari@example.com"
ROWS = [
    {"name": "Kari Nordmann", "email": " Kari@Example.com ", "signed_up_on": date(2020, 1, 5)},
    {"name": "Kari N.", "email": KARI, "signed_up_on": date(2025, 6, 1)},
    {"name": "Ola", "email": "ola@example.com", "signed_up_on": date(2019, 3, 3)},
]


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_a_person_s_rows_are_found_exported_and_deleted(kind, drop_external_tables):
    register, table = external_table(kind, ROWS)
    drop_external_tables.append((kind, table))
    assert external.check(register) == 3
    assert external.count_for(register, (KARI,)) == 2
    exported = external.rows_for(register, (KARI,))
    assert [row["name"] for row in exported] == ["Kari Nordmann", "Kari N."]
    assert exported[0] == {
        "id": exported[0]["id"],
        "name": "Kari Nordmann",
        "email": " Kari@Example.com ",
        "signed_up_on": "2020-01-05",
    }

    assert external.erase_for(register, (KARI,), batch=1) == 2  # one row a batch: the batches add up
    assert [row["email"] for row in rows_of(kind, table)] == ["ola@example.com"]


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_an_anonymising_register_blanks_the_columns_named(kind, drop_external_tables):
    register, table = external_table(kind, ROWS)
    drop_external_tables.append((kind, table))
    register.erasure = ExternalRegister.Erasure.ANONYMISE
    register.anonymise = {"name": "", "email": None}
    register.save()
    assert external.erase_for(register, (KARI,), batch=1) == 2
    assert [(row["name"], row["email"]) for row in rows_of(kind, table)] == [
        ("", None),
        ("", None),
        ("Ola", "ola@example.com"),
    ]
    assert external.count_for(register, (KARI,)) == 0


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_rows_past_their_retention_are_purged_in_batches(kind, drop_external_tables):
    register, table = external_table(kind, ROWS)
    drop_external_tables.append((kind, table))
    assert external.purge_due(register, date(2020, 12, 31), batch=1) == 2
    assert [row["name"] for row in rows_of(kind, table)] == ["Kari N."]
    assert external.purge_due(register, date(2020, 12, 31)) == 0  # idempotent


def test_an_unreachable_database_is_reported_not_taken_for_done(monkeypatch):
    register = ExternalRegister.objects.create(
        name="Gone",
        connection_variable="TRUSTCENTER_EXTERNAL_GONE_URL",
        table="contacts",
        email_column="email",
        exported_columns=["email"],
    )
    monkeypatch.delenv("TRUSTCENTER_EXTERNAL_GONE_URL", raising=False)
    with pytest.raises(external.Unavailable, match="not set"):
        external.count_for(register, (KARI,))
    # A port nothing listens on.
    monkeypatch.setenv("TRUSTCENTER_EXTERNAL_GONE_URL", "mysql+pymysql://nobody:x@127.0.0.1:9/none")
    for call in (
        lambda: external.count_for(register, (KARI,)),
        lambda: external.rows_for(register, (KARI,)),
        lambda: external.erase_for(register, (KARI,)),
    ):
        with pytest.raises(external.Unavailable):
            call()


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_a_declared_column_the_table_lacks_is_reported(kind, drop_external_tables):
    register, table = external_table(kind, ROWS)
    drop_external_tables.append((kind, table))
    register.exported_columns = ["name", "birthday"]
    register.save()
    with pytest.raises(external.Unavailable):  # the statement fails: never an empty answer
        external.rows_for(register, (KARI,))
    with pytest.raises(external.Unavailable, match="birthday"):  # the admin's check names it
        external.check(register)


def test_the_url_can_come_from_a_file_named_by_the_variable(monkeypatch, tmp_path, drop_external_tables):
    """Container secrets: TRUSTCENTER_EXTERNAL_<NAME>_URL_FILE names a file holding the URL."""
    register, table = external_table("postgres", ROWS)
    drop_external_tables.append(("postgres", table))
    secret = tmp_path / "crm-url"
    secret.write_text(os.environ[register.connection_variable] + "\n")
    register.connection_variable = "TRUSTCENTER_EXTERNAL_FROM_FILE_URL"
    register.save()
    monkeypatch.delenv("TRUSTCENTER_EXTERNAL_FROM_FILE_URL", raising=False)
    monkeypatch.setenv("TRUSTCENTER_EXTERNAL_FROM_FILE_URL_FILE", str(secret))
    assert external.count_for(register, (KARI,)) == 2
    monkeypatch.setenv("TRUSTCENTER_EXTERNAL_FROM_FILE_URL_FILE", str(tmp_path / "missing"))
    with pytest.raises(external.Unavailable, match="cannot be read"):
        external.count_for(register, (KARI,))
