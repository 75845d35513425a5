"""The package of an access export (issue 13, point 2): a zip with what the registry finds for the
requester as JSON (all registers, one file) and CSV (one per register), their stored files, and a
readable summary in the requester's language with what art. 15(1)(a)–(h) and 15(2) require.

`write_package` reads the records and writes the zip; fulfilment.build_access_export claims the
export, calls it and stores the result.
"""

import json
import posixpath
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import translation

from registers import exports
from registers.registry import Declaration
from registers.selectors import Identities, owning_declaration
from retention.selectors import controller, processing_activities
from trustcenter.authorities import SUPERVISORY_AUTHORITIES

from .models import Case

# The version of data.json's layout, for whoever reads it by program.
PACKAGE_FORMAT = 1


@dataclass(frozen=True)
class Withheld:
    register: str  # label
    record_key: str
    reason: str


@dataclass
class RegisterPart:
    declaration_label: str
    owner_label: str  # the register it is part of (a case's messages: the cases), or its own
    name: str
    records: list[exports.ExportedRecord]


@dataclass
class ExternalPart:
    """A register kept in another database, as read for the requester (registers.external)."""

    label: str
    name: str
    columns: list[str]
    rows: list[dict]  # {"id": key, column: value, ...}


def write_package(
    *,
    case: Case,
    registers: list[Declaration],  # those that export something
    identities: Identities,
    withheld: list[Withheld],
    generated_at: datetime,
    external_parts: Sequence[ExternalPart] = (),
    on_register: Callable[[int], None] = lambda done: None,
) -> tuple[tempfile.SpooledTemporaryFile, int]:
    """The zip (a temporary file, at its start) and how many records it holds. `on_register` is
    told after each register how many are done (the case page's progress)."""
    withheld_keys: dict[str, set[str]] = {}
    for item in withheld:
        withheld_keys.setdefault(item.register, set()).add(item.record_key)
    package = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    parts: list[RegisterPart] = []
    total = 0
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, declaration in enumerate(registers, start=1):
            exported = exports.exported_records(
                declaration, identities, withheld=frozenset(withheld_keys.get(declaration.label, ()))
            )
            if exported:
                with translation.override(case.language):
                    name = declaration.verbose_name_plural
                parts.append(
                    RegisterPart(declaration.label, owning_declaration(declaration).label, name, exported)
                )
                archive.writestr(f"csv/{declaration.label}.csv", exports.csv_text(declaration, exported))
                for record in exported:
                    for field_name, stored in record.files.items():
                        extension = posixpath.splitext(stored)[1].lower()
                        inside = f"files/{declaration.label}/{record.key}-{field_name}{extension}"
                        with (
                            default_storage.open(stored, "rb") as source,
                            archive.open(inside, "w") as target,
                        ):
                            while chunk := source.read(1024 * 1024):
                                target.write(chunk)
                        record.values[field_name] = inside
                total += len(exported)
            on_register(done)
        for part in external_parts:
            kept = [row for row in part.rows if row["id"] not in withheld_keys.get(part.label, set())]
            if not kept:
                continue
            read = [
                exports.ExportedRecord(key=row["id"], values={c: row[c] for c in part.columns})
                for row in kept
            ]
            parts.append(RegisterPart(part.label, part.label, part.name, read))
            archive.writestr(f"csv/{part.label}.csv", exports.rows_csv(part.columns, read))
            total += len(read)
        data = {
            "format": PACKAGE_FORMAT,
            "controller": controller().name,
            "case": case.reference,
            "generated_at": generated_at.isoformat(),
            "registers": [
                {
                    "register": part.declaration_label,
                    "name": part.name,
                    "records": [{"id": record.key, **record.values} for record in part.records],
                }
                for part in parts
            ],
            "withheld": [{"register": item.register, "reason": item.reason} for item in withheld],
        }
        # Compact: the C encoder (an indented dump takes the pure-Python one, several times slower).
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False))
        archive.writestr(
            "summary.html", summary_html(case=case, parts=parts, withheld=withheld, generated_at=generated_at)
        )
    package.seek(0)
    return package, total


def summary_html(
    *, case: Case, parts: list[RegisterPart], withheld: list[Withheld], generated_at: datetime
) -> str:
    """The readable summary, in the requester's language: per register what art. 15(1) asks
    (purposes, categories, recipients, how long, the source), the rights, the supervisory
    authorities, automated decisions, transfers, and what was withheld and why."""
    with translation.override(case.language):
        activities = {activity.label: activity for activity in processing_activities()}
        names = {part.declaration_label: part.name for part in parts}
        return render_to_string(
            "cases/access/summary.html",
            {
                "case": case,
                "controller": controller(),
                "generated_at": generated_at,
                "registers": [
                    {
                        "name": part.name,
                        "count": len(part.records),
                        "activity": activities.get(part.owner_label),
                    }
                    for part in parts
                ],
                "withheld": [
                    {"register": names.get(item.register, item.register), "reason": item.reason}
                    for item in withheld
                ],
                "authorities": SUPERVISORY_AUTHORITIES,
                "language": case.language,
            },
        )
