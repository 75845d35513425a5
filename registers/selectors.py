"""What the registry finds for a person (DESIGN.md §2): every declared record their addresses or
proven phone numbers name, and every record that belongs to one of those (a case's messages, a
consent subject's events). Access exports and erasure read this; nothing here knows a model by
name."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from auditlog.models import LogEntry
from django.db import connections
from django.db.models import Expression, F, Q, QuerySet, Value
from django.db.models.functions import Lower, Replace
from django.db.models.sql.compiler import SQLCompiler

from .registry import (
    PHONE_PUNCTUATION,
    Declaration,
    declaration_for,
    declarations,
    normalise_email,
    normalise_phone,
)


@dataclass(frozen=True)
class Identities:
    """What identifies one person: the addresses and phone numbers they have proven."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @classmethod
    def of(cls, *, emails=(), phones=()) -> "Identities":
        """Normalised, without blanks and repeats, in a stable order."""
        return cls(
            emails=tuple(sorted({normalise_email(email) for email in emails} - {""})),
            phones=tuple(sorted({normalise_phone(phone) for phone in phones} - {""})),
        )

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones)


@dataclass(frozen=True)
class FoundRecords:
    """A declaration's rows that name a person: those that may be shown (`rows`) and those that
    another team answers for (`answered_elsewhere`, counted only)."""

    declaration: Declaration
    rows: QuerySet
    answered_elsewhere: QuerySet | None


def _part_of(declaration: Declaration) -> Declaration | None:
    """The declaration of the record a `part_of` declaration belongs to (one step), or None."""
    if not declaration.part_of:
        return None
    model: Any = declaration.model
    for step in declaration.part_of.split("__"):
        model = model._meta.get_field(step).related_model
    return declaration_for(model)


def owner_of(declaration: Declaration) -> tuple[str, Declaration] | None:
    """The declaration whose fields name a subject for this one's rows, and the lookup prefix
    from this model to it: itself (""), or its owner's through `part_of` (as many steps as it
    takes). None where nothing names a subject."""
    if declaration.subject_email or declaration.subject_phone:
        return "", declaration
    owner_declaration = _part_of(declaration)
    found = owner_of(owner_declaration) if owner_declaration is not None else None
    if found is None:
        return None
    prefix, named_by = found
    return f"{declaration.part_of}__{prefix}", named_by


def owning_declaration(declaration: Declaration) -> Declaration:
    """The declaration a `part_of` declaration belongs to (following chains), or itself."""
    seen = set()
    while declaration.label not in seen and (owner := _part_of(declaration)) is not None:
        seen.add(declaration.label)
        declaration = owner
    return declaration


def _prefixed(condition: Q, prefix: str) -> Q:
    """A condition on the owner, as a condition on a model that is part of it."""
    if not prefix:
        return condition
    copy = Q()
    copy.connector, copy.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            copy.children.append(_prefixed(child, prefix))
        else:
            lookup, value = cast(tuple[str, Any], child)
            copy.children.append((f"{prefix}{lookup}", value))
    return copy


def _phone_digits(path: str) -> Expression | F:
    """The stored number as normalise_phone writes it, in SQL."""
    expression: Expression | F = F(path)
    for character in PHONE_PUNCTUATION:
        expression = Replace(expression, Value(character), Value(""))
    return expression


def _matching(declaration: Declaration, identities: Identities) -> QuerySet | None:
    found = owner_of(declaration)
    if found is None or not identities:
        return None
    prefix, named_by = found
    rows = declaration.model._default_manager.all()
    matches = Q()
    for number, path in enumerate(named_by.subject_email if identities.emails else ()):
        alias = f"registry_email_{number}"
        rows = rows.alias(**{alias: Lower(f"{prefix}{path}")})
        matches |= Q(**{f"{alias}__in": identities.emails})
    for number, path in enumerate(named_by.subject_phone if identities.phones else ()):
        alias = f"registry_phone_{number}"
        rows = rows.alias(**{alias: _phone_digits(f"{prefix}{path}")})
        matches |= Q(**{f"{alias}__in": identities.phones})
    if not matches:
        return None
    rows = rows.filter(matches)
    if named_by.subject_scope is not None:
        rows = rows.filter(_prefixed(named_by.subject_scope, prefix))
    return rows


def _found_in(declaration: Declaration, identities: Identities) -> FoundRecords | None:
    rows = _matching(declaration, identities)
    if rows is None:
        return None
    owner = owner_of(declaration)
    assert owner is not None  # _matching found one
    prefix, named_by = owner
    elsewhere = None
    if named_by.answered_elsewhere is not None:
        condition = _prefixed(named_by.answered_elsewhere, prefix)
        elsewhere = rows.filter(condition)
        rows = rows.exclude(condition)
    return FoundRecords(declaration=declaration, rows=rows, answered_elsewhere=elsewhere)


def subject_records(
    *, identities: Identities, only: Callable[[Declaration], bool] | None = None
) -> list[FoundRecords]:
    """Per declaration that can name a subject (and that `only` keeps), the rows that name one
    of these identities (addresses compared as retention compares them, numbers as
    normalise_phone does)."""
    found = []
    for declaration in declarations():
        if only is not None and not only(declaration):
            continue
        records = _found_in(declaration, identities)
        if records is not None:
            found.append(records)
    return found


@dataclass(frozen=True)
class _Statement:
    declaration: Declaration  # the one it was compiled from (a declaration registered again is not)
    database: str
    sql: str
    params: tuple
    # Its converters (JSON, a field's from_db_value) for the rows read with real identities; they
    # only read the compiler, so threads may share it.
    compiler: SQLCompiler


# (declaration label, columns, number of addresses, number of phone numbers) -> its statement
_statements: dict[tuple[str, tuple[str, ...], int, int], _Statement | None] = {}


def _placeholders(emails: int, phones: int) -> Identities:
    # NUL cannot be in a stored text, nor in a query sent unreplaced (the database refuses it).
    return Identities(
        emails=tuple(f"\0email{n}" for n in range(emails)), phones=tuple(f"\0phone{n}" for n in range(phones))
    )


def _statement(
    declaration: Declaration, names: tuple[str, ...], emails: int, phones: int
) -> _Statement | None:
    """subject_records' query for one declaration's `names`, in key order, compiled by the ORM
    with placeholder identities that subject_rows swaps for real ones."""
    found = _found_in(declaration, _placeholders(emails, phones))
    if found is None:
        return None
    rows = found.rows.order_by("pk").values_list(*names)
    compiler = rows.query.get_compiler(rows.db)
    sql, params = compiler.as_sql()
    return _Statement(declaration, rows.db, sql, tuple(params), compiler)


def subject_rows(declaration: Declaration, identities: Identities, names: tuple[str, ...]) -> list[tuple]:
    """The values of `names` (field paths) of the rows subject_records finds for this
    declaration, in the order of their keys. The same query, compiled once per declaration,
    columns and number of identities: an access export reads some twenty registers, and
    compiling each query anew took more time than reading the rows."""
    key = (declaration.label, names, len(identities.emails), len(identities.phones))
    statement = _statements.get(key)
    if statement is None or statement.declaration is not declaration:
        statement = _statements[key] = _statement(declaration, *key[1:])
    if statement is None:
        return []
    placeholders = _placeholders(*key[2:])
    real = dict(
        zip(placeholders.emails + placeholders.phones, identities.emails + identities.phones, strict=True)
    )
    params = [real.get(param, param) if isinstance(param, str) else param for param in statement.params]
    with connections[statement.database].cursor() as cursor:
        cursor.execute(statement.sql, params)
        fetched = cursor.fetchall()
    return cast(list[tuple], list(statement.compiler.results_iter(results=[fetched], tuple_expected=True)))


def audit_entries_about(found: list[FoundRecords]) -> QuerySet:
    """The audit log's entries about the records found (not those another team answers for)."""
    entries = LogEntry.objects.none()
    for records in found:
        entries |= LogEntry.objects.get_for_objects(records.rows)
    return entries
