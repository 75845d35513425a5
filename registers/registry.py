"""The personal-data registry (DESIGN.md §2): every model that holds personal data declares,
next to itself, what it holds, how long it is kept, how a person's records are found, what is
exported for access, how it is erased, and what a data subject must be told about it.

Retention, the admin's overview, the record of processing activities and (later) access and
erasure all read these declarations; nothing else keeps a list of models. `registers.checks`
fails start-up when a model holds personal data and declares nothing.

A declaration is made with `@personal_data(...)` on the model class (or `declare(model, ...)`
for a model of another package); a model that looks personal but is not, or is handled outside
the registry, is `exempt(...)`ed with a written reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.db.models import Expression, Model, Q
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

ModelT = TypeVar("ModelT", bound=type[Model])

Erasure = Literal["delete", "anonymise"]


@dataclass(frozen=True)
class Notice:
    """What a data subject is told about a register (art. 13–15) and what the record of
    processing activities says of it (art. 30(1)). Translatable texts."""

    purpose: str | Promise
    legal_basis: str | Promise
    data_subjects: str | Promise
    source: str | Promise
    recipients: str | Promise
    transfers: str | Promise = gettext_lazy("None outside the EEA.")


@dataclass(frozen=True)
class Retention:
    """How the records of a declaration are found to be past their retention.

    `category` names the retention category whose rule applies; `category_field` instead takes
    it per record from a field (`cases.<type>`, with `category_prefix`). `clock` is the field
    (or a function returning the expression) whose date the period runs from; rows where it is
    empty are never due. `eligible` narrows the rows the rule may take at all (an open case
    never); `country` is the path to the two-letter country whose period applies.
    `kept_by_consent` keeps a row while its subject's consent for that purpose stands;
    `clock_from_consent` runs the clock from the subject's consent for that purpose instead
    (renewals restart it), and makes the row due at once when that consent is withdrawn.
    """

    clock_label: str | Promise
    category: str = ""
    category_field: str = ""
    category_prefix: str = ""
    category_choices: tuple[str, ...] = ()
    clock: str | Callable[[], Expression] = ""
    eligible: Q | None = None
    country: str = ""
    kept_by_consent: str = ""
    clock_from_consent: str = ""

    def categories(self) -> tuple[str, ...]:
        if self.category:
            return (self.category,)
        return tuple(f"{self.category_prefix}{value}" for value in self.category_choices)


@dataclass(frozen=True)
class Declaration:
    model: type[Model]
    # The fields that hold personal data: what the system check compares against and what the
    # audit log masks.
    personal_fields: tuple[str, ...]
    notice: Notice
    retention: tuple[Retention, ...] = ()
    # A record kept as long as what it belongs to (a case's messages): the path to that record.
    part_of: str = ""
    # Why a declaration has neither retention nor part_of (kept while its owner needs it).
    kept_because: str | Promise = ""
    # Paths to e-mail addresses that find a data subject's records (compared normalised).
    subject_email: tuple[str, ...] = ()
    # Paths to phone numbers that find them, once staff have seen the person prove the number
    # (compared as normalise_phone compares them).
    subject_phone: tuple[str, ...] = ()
    # The rows that may be matched to a person at all (an anonymous report never is, whatever
    # it contains); None: every row.
    subject_scope: Q | None = None
    # Why the law requires keeping these records even when their subject asks for erasure
    # (art. 17(3)(b): accounting law); they are kept, restricted, until their retention ends.
    legal_duty: str | Promise = ""
    # The rows the legal duty covers (None: all of them).
    legal_duty_scope: Q | None = None
    # The rows an erasure may take now (None: all); the others are left to the retention rule.
    erasable: Q | None = None
    # Records kept for direct marketing (prospects): an objection to it (art. 21(2)-(3)) erases them.
    direct_marketing: bool = False
    # Rows that a subject's collection counts but never shows, because another team answers for
    # them (a whistleblowing report: the whistleblowing team), and who that is.
    answered_elsewhere: Q | None = None
    answered_elsewhere_by: str | Promise = ""
    exported: tuple[str, ...] = ()
    erasure: Erasure = "delete"
    # For "anonymise": field → the value it is set to. Files are always removed.
    anonymise: dict[str, Any] = field(default_factory=dict)
    # Rows already anonymised (never taken again); required with "anonymise".
    anonymised: Q | None = None
    file_fields: tuple[str, ...] = ()
    # Deletes the rows with these primary keys with everything that belongs to them (a case's
    # files); default: a queryset delete, and the files of `file_fields` after commit.
    delete: Callable[[list[Any]], int] | None = None

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def verbose_name_plural(self) -> str:
        return str(self.model._meta.verbose_name_plural)

    def named_fields(self) -> Iterable[tuple[str, str]]:
        """Every field path the declaration names, with what names it, for the system check."""
        for name in self.personal_fields:
            yield name, "personal_fields"
        for name in self.subject_email:
            yield name, "subject_email"
        for name in self.subject_phone:
            yield name, "subject_phone"
        for name in self.exported:
            yield name, "exported"
        for name in self.anonymise:
            yield name, "anonymise"
        for name in self.file_fields:
            yield name, "file_fields"
        if self.part_of:
            yield self.part_of, "part_of"
        for retention in self.retention:
            if isinstance(retention.clock, str) and retention.clock:
                yield retention.clock, "retention.clock"
            if retention.category_field:
                yield retention.category_field, "retention.category_field"
            if retention.country:
                yield retention.country, "retention.country"


@dataclass(frozen=True)
class Exemption:
    label: str
    reason: str


_declarations: dict[str, Declaration] = {}
_exemptions: dict[str, Exemption] = {}


def declare(model: type[Model], **kwargs: Any) -> Declaration:
    declaration = Declaration(model=model, **kwargs)
    if declaration.erasure == "anonymise" and declaration.anonymised is None:
        raise ValueError(f"{model._meta.label}: an anonymising declaration says which rows are done")
    _declarations[model._meta.label] = declaration
    return declaration


def personal_data(**kwargs: Any) -> Callable[[ModelT], ModelT]:
    """Class decorator: the model's declaration, next to it."""

    def decorate(model: ModelT) -> ModelT:
        declare(model, **kwargs)
        return model

    return decorate


def exempt(label: str, *, reason: str) -> None:
    """A model that the check would take for personal data, and why it needs no declaration."""
    if not reason.strip():
        raise ValueError("An exemption says why.")
    _exemptions[label] = Exemption(label=label, reason=reason)


def declarations() -> list[Declaration]:
    """Every declaration, in a stable order (by model label)."""
    return [_declarations[label] for label in sorted(_declarations)]


def declaration_for(model: type[Model]) -> Declaration | None:
    return _declarations.get(model._meta.label)


def exemptions() -> list[Exemption]:
    return [_exemptions[label] for label in sorted(_exemptions)]


def is_exempt(label: str) -> bool:
    return label in _exemptions


def categories() -> list[str]:
    """Every retention category some declaration's records fall in."""
    found: set[str] = set()
    for declaration in declarations():
        for retention in declaration.retention:
            found.update(retention.categories())
    return sorted(found)


def retentions_in(category: str) -> list[tuple[Declaration, Retention]]:
    """The declarations (and which of their retentions) whose records fall in a category."""
    return [
        (declaration, retention)
        for declaration in declarations()
        for retention in declaration.retention
        if category in retention.categories()
    ]


def normalise_email(address: str) -> str:
    """How addresses are compared when a subject's records are looked for: trimmed, lower case."""
    return address.strip().lower()


def identity_digest(identity: str, *, secret: str | None = None) -> str:
    """A keyed hash of a normalised address or number (HMAC-SHA256 under the site's secret key):
    what the erasure log and the suppression list keep, so that a person can be recognised
    again without being named."""
    return salted_hmac(
        "trustcenter.registers.identity", identity, secret=secret, algorithm="sha256"
    ).hexdigest()


def identity_digests(identity: str) -> list[str]:
    """The identity's hash under the secret key and under each earlier one still listed in
    DJANGO_SECRET_KEY_FALLBACKS: a hash made before a key rotation is still recognised."""
    return [
        identity_digest(identity),
        *(identity_digest(identity, secret=key) for key in settings.SECRET_KEY_FALLBACKS),
    ]


# What a phone number is written with besides its digits and a leading "+".
PHONE_PUNCTUATION = (" ", "-", "(", ")", ".", "/")


def normalise_phone(number: str) -> str:
    """How phone numbers are compared: without spaces and punctuation ("+47 912 34 567" and
    "+4791234567" are one number). A national and an international form of a number are not
    taken for each other: staff add each form the person proved."""
    for character in PHONE_PUNCTUATION:
        number = number.replace(character, "")
    return number.strip()
