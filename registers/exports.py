"""What an access export holds of a register (art. 15(3) and 20): the fields each declaration
names as exported, as values JSON can hold, and the files of its `file_fields`. Nothing here
knows a register by name; the export's package (zip, summary) is the case's
(cases.access_export)."""

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Model

from trustcenter.spreadsheets import spreadsheet_cell

from .registry import Declaration
from .selectors import Identities, subject_rows


def field_label(model: type[Model], path: str) -> str:
    """The verbose name of the field a lookup path ends at ("event__title": the event's title)."""
    current: Any = model
    parts = path.split("__")
    for part in parts[:-1]:
        current = current._meta.get_field(part).related_model
    return str(current._meta.get_field(parts[-1]).verbose_name)


# What JSON holds as it is (most of an export's values: tested first, by type alone).
_AS_IS = frozenset({str, int, bool, float, type(None), dict, list})


def json_value(value: Any) -> Any:
    """A stored value as JSON holds it: times and dates in ISO 8601, amounts and ids as text,
    bytes (a column of another system's database) as hex."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


@dataclass
class ExportedRecord:
    key: str  # the record's primary key, as text
    values: dict[str, Any]  # exported field path -> JSON value
    files: dict[str, str] = field(default_factory=dict)  # file field -> stored file's name


def exported_records(
    declaration: Declaration, identities: Identities, *, withheld: frozenset[str] = frozenset()
) -> list[ExportedRecord]:
    """The records of one register that name these identities (as subject_records finds them),
    in the order of their keys, without those withheld (by key): the exported fields' values and
    the names of their stored files."""
    exported, file_fields = declaration.exported, declaration.file_fields
    records = []
    for pk, *values in subject_rows(declaration, identities, ("pk", *exported, *file_fields)):
        key = str(pk)
        if key in withheld:
            continue
        records.append(
            ExportedRecord(
                key=key,
                values={path: json_value(value) for path, value in zip(exported, values, strict=False)},
                files={
                    name: stored
                    for name, stored in zip(file_fields, values[len(exported) :], strict=True)
                    if stored
                },
            )
        )
    return records


def csv_text(declaration: Declaration, records: list[ExportedRecord]) -> str:
    """The records as CSV with a header of field paths (machine-readable, art. 20), every cell
    safe to open in a spreadsheet."""
    return rows_csv(list(declaration.exported), records)


def _cell(value: Any) -> Any:
    # A structured value (a case's answers) as JSON, as data.json has it, not as Python writes it.
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def rows_csv(columns: list[str], records: list[ExportedRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", *columns])
    for record in records:
        writer.writerow(
            [
                spreadsheet_cell(record.key),
                *(spreadsheet_cell(_cell(record.values[name])) for name in columns),
            ]
        )
    return buffer.getvalue()
