"""Import and export of the registers through the admin's real import and export views: a file
is imported whole or not at all, a refusal names the line a person sees in their file, e-mail
addresses are normalised, and an export defuses formulas."""

import csv
import io
import re
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from import_export.tmp_storages import TempFolderStorage

from registers.models import AccountingRecord, JobApplication, Lead
from tests.factories import StaffFactory
from tests.registers.factories import JobApplicationFactory, LeadFactory, LegalEntityFactory, staff_with

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"  # the order of registers.resources.FORMATS
HEADER = ["full_name", "email", "position", "process_closed_on", "legal_entity"]


@pytest.fixture
def staff_client(client):
    user: Any = StaffFactory(is_superuser=True)
    client.force_login(user)
    LegalEntityFactory(name="Amesto Solutions AS")
    return client


def csv_file(lines: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile("applications.csv", "\n".join(lines).encode(), content_type="text/csv")


def xlsx_file(rows: list[list[Any]]) -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    workbook.save(data)
    return SimpleUploadedFile(
        "applications.xlsx",
        data.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def import_file(client, model_name: str, upload: SimpleUploadedFile, file_format: str):
    """The admin's import: the dry run, and, when it offers to, the confirmed import."""
    url = f"/admin/registers/{model_name}/import/"
    dry_run = client.post(url, {"format": file_format, "resource": "0", "import_file": upload})
    confirm_form = dry_run.context.get("confirm_form") if dry_run.status_code == 200 else None
    if confirm_form is None:
        return dry_run
    return client.post(f"/admin/registers/{model_name}/process_import/", confirm_form.initial)


def refused_lines(page: str) -> list[int]:
    return [int(line) for line in re.findall(r'class="import-refusal" data-line="(\d+)"', page)]


def test_a_good_csv_file_imports_every_row_with_its_email_normalised(staff_client):
    upload = csv_file(
        [
            ",".join(HEADER),
            "Kari Nordmann, Kari.Nordmann@Example.COM ,Privacy engineer,2025-01-31,Amesto Solutions AS",
            "",
            'Ola Nordmann,ola@example.com,"Engineer, security",,',
        ]
    )

    response = import_file(staff_client, "jobapplication", upload, CSV_FORMAT)

    assert response.status_code == 302
    kari, ola = JobApplication.objects.order_by("full_name")
    assert (kari.email, kari.legal_entity.name, str(kari.process_closed_on)) == (
        "kari.nordmann@example.com",
        "Amesto Solutions AS",
        "2025-01-31",
    )
    assert (ola.email, ola.position, ola.process_closed_on, ola.legal_entity) == (
        "ola@example.com",
        "Engineer, security",
        None,
        None,
    )


def test_a_semicolon_separated_csv_file_imports_too(staff_client):
    upload = csv_file([";".join(HEADER), "Anna Svensson;ANNA@example.se;Analyst;2025-02-28;"])

    assert import_file(staff_client, "jobapplication", upload, CSV_FORMAT).status_code == 302
    assert JobApplication.objects.get().email == "anna@example.se"


BAD_ROWS = {
    "an invalid e-mail": ["Bad Mail", "not-an-address", "Analyst", "", ""],
    "a missing required value": ["No Position", "np@example.com", "", "", ""],
    "a date that is no date": ["Bad Date", "bd@example.com", "Analyst", "31.02.2025", ""],
    "a legal entity that does not exist": ["Bad Entity", "be@example.com", "Analyst", "", "Nobody AS"],
}


@pytest.mark.parametrize("problem", BAD_ROWS)
def test_a_csv_file_with_a_bad_row_imports_nothing_and_names_its_line(staff_client, problem):
    JobApplicationFactory(full_name="Already there")
    good = "Kari Nordmann,kari@example.com,Privacy engineer,2025-01-31,Amesto Solutions AS"
    bad = ",".join(BAD_ROWS[problem])
    # Line 1 the header, 2 a good row, 3 blank, 4 a good row, 5 the bad one, 6 a good row.
    upload = csv_file([",".join(HEADER), good, "", good, bad, good])

    response = import_file(staff_client, "jobapplication", upload, CSV_FORMAT)

    page = response.content.decode()
    assert refused_lines(page) == [5], page
    assert "Line 5" in page and "Nothing was imported" in page
    assert response.context.get("confirm_form") is None  # nothing to confirm
    assert list(JobApplication.objects.values_list("full_name", flat=True)) == ["Already there"]


@pytest.mark.parametrize("problem", BAD_ROWS)
def test_an_xlsx_file_with_a_bad_row_imports_nothing_and_names_its_row(staff_client, problem):
    JobApplicationFactory(full_name="Already there")
    good = ["Kari Nordmann", "kari@example.com", "Privacy engineer", "2025-01-31", "Amesto Solutions AS"]
    # Row 1 the header, 2 and 3 good rows, 4 the bad one, 5 empty, 6 a good row.
    upload = xlsx_file([HEADER, good, good, BAD_ROWS[problem], [], good])

    response = import_file(staff_client, "jobapplication", upload, XLSX_FORMAT)

    page = response.content.decode()
    assert refused_lines(page) == [4], page
    assert list(JobApplication.objects.values_list("full_name", flat=True)) == ["Already there"]


def test_a_csv_line_with_more_values_than_columns_refuses_the_file_naming_its_line(staff_client):
    upload = csv_file(
        [",".join(HEADER), "Kari Nordmann,kari@example.com,Engineer,,", "Ola,ola@example.com,X,,,extra"]
    )

    response = import_file(staff_client, "jobapplication", upload, CSV_FORMAT)

    assert "Line 3 has more values than the header has columns." in response.content.decode()
    assert not JobApplication.objects.exists()


def test_a_good_xlsx_file_with_real_dates_and_numbers_imports_every_row(staff_client):
    import datetime

    upload = xlsx_file(
        [
            ["full_name", "email", "voucher_number", "fiscal_year_end", "amount", "legal_entity"],
            ["Kari Nordmann", "KARI@example.com", "2024-0001", datetime.date(2024, 12, 31), 1250.5, ""],
            ["Ola Nordmann", "ola@example.com", "2024-0002", "2024-12-31", -99, "Amesto Solutions AS"],
        ]
    )

    response = import_file(staff_client, "accountingrecord", upload, XLSX_FORMAT)

    assert response.status_code == 302
    assert sorted(AccountingRecord.objects.values_list("email", "amount")) == [
        ("kari@example.com", pytest.approx(1250.5)),
        ("ola@example.com", -99),
    ]


def test_a_confirmed_import_that_meets_a_bad_row_imports_nothing(staff_client):
    # As if the file had passed its dry run and then met a row that fails: the confirmation
    # names a stored file whose third line is bad.
    stored = TempFolderStorage(encoding="utf-8-sig", read_mode="r")
    stored.save(
        "\n".join(
            [
                ",".join(HEADER),
                "Kari Nordmann,kari@example.com,Privacy engineer,,",
                "Bad Mail,not-an-address,Analyst,,",
            ]
        ).encode()
    )

    response = staff_client.post(
        "/admin/registers/jobapplication/process_import/",
        {
            "import_file_name": stored.name,
            "original_file_name": "applications.csv",
            "format": CSV_FORMAT,
            "resource": "0",
        },
    )

    assert response.status_code == 400
    assert refused_lines(response.content.decode()) == [3]
    assert not JobApplication.objects.exists()


def test_export_as_csv_holds_the_rows_and_defuses_formulas(staff_client):
    LeadFactory(
        full_name="Kari Nordmann", email="kari@example.com", company='=HYPERLINK("http://x.test","y")'
    )
    LeadFactory(full_name="Ola Nordmann", email="ola@example.com", company="+47 Widgets", phone="-1")
    form = staff_client.get("/admin/registers/lead/export/").context["form"]
    chosen = {
        name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)
    }

    response = staff_client.post(
        "/admin/registers/lead/export/", {"format": CSV_FORMAT, "resource": "0", **chosen}
    )

    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_email = {row["email"]: row for row in rows}
    assert set(by_email) == {"kari@example.com", "ola@example.com"}
    assert by_email["kari@example.com"]["full_name"] == "Kari Nordmann"
    assert by_email["kari@example.com"]["company"] == '\'=HYPERLINK("http://x.test","y")'
    assert by_email["ola@example.com"]["company"] == "'+47 Widgets"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    assert "anonymised_at" not in rows[0]


def test_export_as_xlsx_holds_the_rows_and_no_formula(staff_client):
    LeadFactory(full_name="Kari Nordmann", company='=HYPERLINK("http://x.test","y")')
    form = staff_client.get("/admin/registers/lead/export/").context["form"]
    chosen = {
        name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)
    }

    response = staff_client.post("/admin/registers/lead/export/", {"format": XLSX_FORMAT, **chosen})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert "Kari Nordmann" in [cell.value for cell in cells]
    assert '\'=HYPERLINK("http://x.test","y")' in [cell.value for cell in cells]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]


def test_an_exported_file_imports_back_onto_the_same_records(staff_client):
    lead = LeadFactory(full_name="Kari Nordmann", company="=1+1")
    form = staff_client.get("/admin/registers/lead/export/").context["form"]
    chosen = {
        name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)
    }
    exported = staff_client.post("/admin/registers/lead/export/", {"format": CSV_FORMAT, **chosen}).content

    response = import_file(
        staff_client, "lead", SimpleUploadedFile("leads.csv", exported, content_type="text/csv"), CSV_FORMAT
    )

    assert response.status_code == 302
    assert list(Lead.objects.values_list("pk", "company")) == [(lead.pk, "=1+1")]


def test_export_leaves_out_files_and_the_anonymisation_date(staff_client):
    JobApplicationFactory()
    form = staff_client.get("/admin/registers/jobapplication/export/").context["form"]
    offered = {field.label for field in form.fields.values() if getattr(field, "is_selectable_field", False)}

    assert offered and not {label for label in offered if re.search(r"cv|anonymised", label, re.I)}


def test_staff_without_the_add_permission_cannot_import(client):
    user: Any = staff_with("view_jobapplication", "change_jobapplication")
    client.force_login(user)
    upload = csv_file([",".join(HEADER), "Kari Nordmann,kari@example.com,Privacy engineer,,"])

    page = client.get("/admin/registers/jobapplication/import/")
    posted = client.post(
        "/admin/registers/jobapplication/import/",
        {"format": CSV_FORMAT, "resource": "0", "import_file": upload},
    )

    assert page.status_code == 403 and posted.status_code == 403
    assert not JobApplication.objects.exists()
    assert client.get("/admin/registers/jobapplication/export/").status_code == 200  # view may export
