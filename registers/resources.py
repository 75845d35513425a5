"""Import and export of the registers (django-import-export), CSV and XLSX only.

A file is imported whole or not at all: a row that fails (an invalid e-mail, a missing required
value, a date that is no date, a legal entity that does not exist) refuses the whole file, and the
refusal names the line of that row as the person sees it in their file (the header is line 1;
blank lines are counted but not imported). E-mail addresses are normalised as the registry
compares them. Files (a CV, a receipt) and the retention's `anonymised_at` are neither imported
nor exported. Text cells that a spreadsheet would run as a formula are exported defused.
"""

from __future__ import annotations

import csv
import io
from decimal import InvalidOperation
from typing import Any

import tablib
from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from import_export.results import Result

from trustcenter.spreadsheets import FORMULA_STARTS, spreadsheet_cell

from . import models
from .marks import is_suppressed
from .registry import normalise_email

# ---------------------------------------------------------------------------------------------
# Formats that remember, for each row, the line of the file it came from.


class UnreadableFile(ValueError):
    """A file that cannot be read as a table; its message is shown to the person importing."""


class LinedDataset(tablib.Dataset):
    """A dataset whose rows know the line (CSV) or row (XLSX) of the file they were read from."""

    source_lines: list[int]


def _is_blank(cells: list[Any]) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in cells)


def _dataset(header: list[Any], rows: list[tuple[int, list[Any]]]) -> LinedDataset:
    """The rows under their header: blank rows dropped, short rows padded; a row with values
    beyond the header's columns refuses the file, naming its line."""
    headers = [("" if cell is None else str(cell)).strip() for cell in header]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise UnreadableFile(_("The file has no header line naming its columns."))
    dataset = LinedDataset(headers=headers)
    dataset.source_lines = []
    for line, cells in rows:
        if _is_blank(cells):
            continue
        if not _is_blank(cells[len(headers) :]):
            raise UnreadableFile(
                _("Line %(line)s has more values than the header has columns.") % {"line": line}
            )
        cells = list(cells[: len(headers)]) + [""] * (len(headers) - len(cells))
        dataset.append(cells)
        dataset.source_lines.append(line)
    return dataset


class LinedCSV(base_formats.CSV):
    """CSV, comma- or semicolon-separated (spreadsheets in Norway, Sweden and Denmark write
    semicolons), with each row's line number; a value over several lines counts from its first."""

    def create_dataset(self, in_stream, **kwargs):
        text = in_stream.decode(self.encoding or "utf-8-sig") if isinstance(in_stream, bytes) else in_stream
        text = text.removeprefix("\ufeff")
        first_line = text.split("\n", 1)[0]
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(reader, [])
            read_up_to = reader.line_num
            rows = []
            for cells in reader:
                rows.append((read_up_to + 1, cells))
                read_up_to = reader.line_num
        except csv.Error as error:
            raise UnreadableFile(
                _("Line %(line)s cannot be read as CSV: %(error)s")
                % {"line": reader.line_num, "error": error}
            ) from None
        return _dataset(header, rows)


class LinedXLSX(base_formats.XLSX):
    """The first sheet of a workbook, each row with its row number in the sheet; values, not
    formulas (as import-export reads them)."""

    def create_dataset(self, in_stream, **kwargs):
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=True)
        try:
            sheet = workbook.active
            if sheet is None:
                raise UnreadableFile(_("The workbook has no sheet."))
            numbered = enumerate(sheet.iter_rows(values_only=True), start=1)
            _first, header = next(numbered, (1, ()))
            return _dataset(list(header), [(number, list(cells)) for number, cells in numbered])
        finally:
            workbook.close()


FORMATS = (LinedCSV, LinedXLSX)


# ---------------------------------------------------------------------------------------------
# Widgets


class NormalisedEmailWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        return normalise_email(super().clean(value, row, **kwargs) or "")


class NamedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A related record by a field that names it; one that does not exist is a row's error."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except ObjectDoesNotExist:
            raise ValueError(
                _("No %(kind)s %(value)s.") % {"kind": self.model._meta.verbose_name, "value": value}
            ) from None


def legal_entity_field() -> fields.Field:
    return fields.Field(
        attribute="legal_entity",
        column_name="legal_entity",
        widget=NamedForeignKeyWidget(models.LegalEntity, field="name"),
    )


def email_field() -> fields.Field:
    return fields.Field(attribute="email", column_name="email", widget=NormalisedEmailWidget())


# ---------------------------------------------------------------------------------------------
# Resources


class LinedResult(Result):
    def row_errors(self):
        # import-export numbers these by their place among the imported rows; the resource has
        # already set each to the line of the file it came from.
        return [(row.number, row.errors) for row in self.error_rows]


class RegisterResource(resources.ModelResource):
    """What every register's resource does: full validation of each row, the file's line in
    every refusal, formulas defused on export and their defusing undone on import."""

    def get_result_class(self):
        return LinedResult

    def import_data(self, dataset, *args, **kwargs):
        result = super().import_data(dataset, *args, **kwargs)
        lines = getattr(dataset, "source_lines", None)

        def line_of(number: int) -> int:
            if lines is not None and 0 < number <= len(lines):
                return lines[number - 1]
            return number + 1  # a dataset from elsewhere: its header is line 1

        for row in [*result.invalid_rows, *result.error_rows]:
            row.number = line_of(row.number)
        return result

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.attribute == "id":
            # The id finds the record to update; a file's id that matches none makes a new record
            # with a new id, never one that the table's sequence would give out again.
            return
        if isinstance(field.widget, widgets.CharWidget):
            value = row.get(field.column_name)
            if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
                row[field.column_name] = value[1:]
        try:
            super().import_field(field, instance, row, is_m2m, **kwargs)
        except (ArithmeticError, InvalidOperation, TypeError) as error:
            raise ValueError(_("Not a valid value.")) from error

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(field.widget, widgets.CharWidget) and isinstance(value, str):
            return spreadsheet_cell(value)
        return value


PERSON_FIELDS = ("id", "full_name", "email", "phone", "legal_entity", "created_at")


class PersonalRecordResource(RegisterResource):
    """A register of people (registers.models.PersonalRecord): its e-mail normalised, its legal
    entity by name. A new row for an address on the suppression list (erased, or objected to
    direct marketing: art. 21(3)) is skipped, and the import's summary counts it as skipped."""

    email = email_field()
    legal_entity = legal_entity_field()

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if original is None or original.pk is None:
            if instance.email and is_suppressed(instance.email):
                return True
        return super().skip_row(instance, original, row, import_validation_errors)


class LegalEntityResource(RegisterResource):
    class Meta:
        model = models.LegalEntity
        fields = ("id", "name", "country", "organisation_number")
        clean_model_instances = True


class EventResource(RegisterResource):
    legal_entity = legal_entity_field()

    class Meta:
        model = models.Event
        fields = ("id", "title", "starts_on", "ends_on", "legal_entity")
        clean_model_instances = True


class EventParticipantResource(PersonalRecordResource):
    event = fields.Field(
        attribute="event", column_name="event", widget=NamedForeignKeyWidget(models.Event, field="pk")
    )

    class Meta:
        model = models.EventParticipant
        fields = (*PERSON_FIELDS, "event", "organisation")
        clean_model_instances = True


class LeadResource(PersonalRecordResource):
    class Meta:
        model = models.Lead
        fields = (*PERSON_FIELDS, "company", "job_title", "source")
        clean_model_instances = True


class InquiryResource(PersonalRecordResource):
    class Meta:
        model = models.Inquiry
        fields = (*PERSON_FIELDS, "company", "question", "answered_at")
        clean_model_instances = True


class CustomerContactResource(PersonalRecordResource):
    class Meta:
        model = models.CustomerContact
        fields = (*PERSON_FIELDS, "company", "role", "relationship_ended_on")
        clean_model_instances = True


class SupplierContactResource(PersonalRecordResource):
    class Meta:
        model = models.SupplierContact
        fields = (*PERSON_FIELDS, "company", "role", "relationship_ended_on")
        clean_model_instances = True


class JobApplicationResource(PersonalRecordResource):
    class Meta:
        model = models.JobApplication
        fields = (*PERSON_FIELDS, "position", "cover_letter", "process_closed_on")
        clean_model_instances = True


class RecruitmentEntryResource(PersonalRecordResource):
    class Meta:
        model = models.RecruitmentEntry
        fields = (*PERSON_FIELDS, "skills")
        clean_model_instances = True


class AccountingRecordResource(PersonalRecordResource):
    class Meta:
        model = models.AccountingRecord
        fields = (*PERSON_FIELDS, "voucher_number", "fiscal_year_end", "amount", "description")
        clean_model_instances = True


class VisitorRegistrationResource(PersonalRecordResource):
    class Meta:
        model = models.VisitorRegistration
        fields = (*PERSON_FIELDS, "company", "host_name", "visited_at")
        clean_model_instances = True
