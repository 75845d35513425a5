"""Fulfilling a data-subject request (issue 13): finding what is held on the requester through the
registry's declarations, across every register, the cases, the consent ledger and the outbox.

Each function takes the case as it came through the staff door and checks that door again
(`selectors.access_case`), so that a view, a task or a test cannot skip it. Nothing here knows a
register by name: what is found, and how, is the registry's (registers.selectors).
"""

import re
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from registers.registry import declarations, normalise_email, normalise_phone
from registers.selectors import Identities, audit_entries_about, subject_records

from . import selectors
from .models import (
    Case,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    CaseType,
    IdentityKind,
    ProvenIdentity,
    SubjectCollection,
)

# A number as normalise_phone leaves it: an optional "+" and 5 to 15 digits (E.164 has at most 15).
PHONE_NUMBER = re.compile(r"\+?\d{5,15}")


def check_fulfillable(*, case: Case) -> None:
    """Raises ValidationError unless the case is a data-subject request whose requester has
    confirmed their address and which is still open: nothing is collected for anyone else."""
    if case.case_type != CaseType.SUBJECT_REQUEST:
        refusal = _("Only a data-subject request is fulfilled from the registry.")
    elif case.is_anonymous or not case.reporter_email:
        refusal = _("The requester gave no address: nothing can be matched to them.")
    elif case.email_confirmed_at is None:
        refusal = _("The requester has not confirmed their address yet: nothing is collected before that.")
    elif case.status == CaseStatus.CLOSED:
        refusal = _("The case is closed: reopen it first.")
    else:
        return
    raise ValidationError({NON_FIELD_ERRORS: [refusal]})


def requester_identities(*, case: Case) -> Identities:
    """The confirmed address of the request and every identity staff have seen proven."""
    proven = list(case.proven_identities.values_list("kind", "value"))
    return Identities.of(
        emails=[case.reporter_email, *(value for kind, value in proven if kind == IdentityKind.EMAIL)],
        phones=[value for kind, value in proven if kind == IdentityKind.PHONE],
    )


def _normalised_identity(*, kind: str, value: str) -> str:
    if kind == IdentityKind.EMAIL:
        address = normalise_email(value)
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError({"value": [_("Enter a valid e-mail address.")]}) from None
        return address
    if kind == IdentityKind.PHONE:
        number = normalise_phone(value)
        if not PHONE_NUMBER.fullmatch(number):
            raise ValidationError(
                {"value": [_("Enter a phone number: digits, with + and the country code where it has one.")]}
            )
        return number
    raise ValidationError({"kind": [_("Choose an e-mail address or a phone number.")]})


def add_proven_identity(*, case: Case, actor, kind: str, value: str, how_proven: str) -> ProvenIdentity:
    """Records an address or phone number that the requester has proven to staff, and how; the
    registry looks for it from the next collection on. The case's history says that one was
    added, not which."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    normalised = _normalised_identity(kind=kind, value=value)
    if not how_proven.strip():
        raise ValidationError({"how_proven": [_("Say how the requester proved it.")]})
    if kind == IdentityKind.EMAIL and normalised == normalise_email(case.reporter_email):
        raise ValidationError({"value": [_("This is the address the request was confirmed from.")]})
    try:
        with transaction.atomic():
            identity = ProvenIdentity.objects.create(
                case=case, kind=kind, value=normalised, how_proven=how_proven.strip(), added_by=actor
            )
            CaseEvent.objects.create(
                case=case, actor=actor, kind=CaseEventKind.IDENTITY_ADDED, data={"kind": kind}
            )
    except IntegrityError:
        raise ValidationError({"value": [_("This identity is already on the case.")]}) from None
    return identity


@dataclass(frozen=True)
class FoundRegister:
    """A line of a collection as the case page shows it."""

    register: str  # the model's label
    name: str  # its name in the reader's language
    found: int
    answered_elsewhere: int
    answered_by: str


def collect_subject_data(*, case: Case, actor) -> SubjectCollection:
    """Looks for the requester in every register the registry declares, through their confirmed
    address and proven identities, and records how many records each holds (the records stay
    where they are; the export and the erasure read them again). Records another team answers
    for (whistleblowing reports) are counted apart and never shown. In the case's history."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    found = subject_records(identities=requester_identities(case=case))
    results = [
        {
            "register": records.declaration.label,
            "found": records.rows.count(),
            "answered_elsewhere": records.answered_elsewhere.count()
            if records.answered_elsewhere is not None
            else 0,
        }
        for records in found
    ]
    audit_entries = audit_entries_about(found).count()
    with transaction.atomic():
        collection = SubjectCollection.objects.create(
            case=case, collected_by=actor, results=results, audit_entries=audit_entries
        )
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.DATA_COLLECTED,
            data={"collection": collection.pk, "found": collection.total_found},
        )
    return collection


def collection_lines(*, collection: SubjectCollection) -> list[FoundRegister]:
    """A collection's registers by their names in the active language, those with records first."""
    by_label = {declaration.label: declaration for declaration in declarations()}
    lines = []
    for entry in collection.results:
        declaration = by_label.get(entry["register"])
        lines.append(
            FoundRegister(
                register=entry["register"],
                name=declaration.verbose_name_plural if declaration else entry["register"],
                found=entry["found"],
                answered_elsewhere=entry["answered_elsewhere"],
                answered_by=str(declaration.answered_elsewhere_by) if declaration else "",
            )
        )
    return sorted(lines, key=lambda line: (-(line.found + line.answered_elsewhere), line.name.lower()))
