"""Fulfilling a data-subject request (issue 13): finding what is held on the requester through the
registry's declarations, across every register, the cases, the consent ledger and the outbox.

Each function takes the case as it came through the staff door and checks that door again
(`selectors.access_case`), so that a view, a task or a test cannot skip it. Nothing here knows a
register by name: what is found, and how, is the registry's (registers.selectors).
"""

import json
import logging
import re
import time
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db import models as dj_models
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent import selectors as consent_selectors
from consent.models import Channel, ConsentAction, ConsentPurpose
from consent.services import record_consent
from registers import erasure_log, external
from registers.models import ErasedIdentity, ExternalRegister, RegisterRecipient, SuppressedAddress
from registers.registry import (
    declarations,
    identity_digest,
    identity_digests,
    normalise_email,
    normalise_phone,
)
from registers.selectors import FoundRecords, Identities, audit_entries_about, subject_records
from retention import services as retention_services
from retention.models import RunStatus
from retention.selectors import controller
from trustcenter.authorities import SUPERVISORY_AUTHORITIES
from trustcenter.services import enqueue_email
from trustcenter.tokens import new_token, token_digest

from . import access_export, selectors, services
from .models import (
    AccessExport,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    CaseType,
    ExportStatus,
    IdentityKind,
    ProvenIdentity,
    SubjectCollection,
    SubjectErasure,
    WithheldItem,
    access_export_path,
)

logger = logging.getLogger(__name__)

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
    unreachable: bool = False  # a register in another database that did not answer


def collect_subject_data(*, case: Case, actor) -> SubjectCollection:
    """Looks for the requester in every register the registry declares, through their confirmed
    address and proven identities, and records how many records each holds (the records stay
    where they are; the export and the erasure read them again). Records another team answers
    for (whistleblowing reports) are counted apart and never shown. In the case's history."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    identities = requester_identities(case=case)
    found = subject_records(identities=identities)
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
    results += [_collect_external(register, identities.emails) for register in external_registers()]
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


def external_registers():
    """The registers kept in other databases that requests reach (registers.ExternalRegister)."""
    return ExternalRegister.objects.filter(enabled=True).order_by("name")


def _collect_external(register: ExternalRegister, emails: tuple[str, ...]) -> dict:
    entry = {"register": register.label, "name": register.name, "found": 0, "answered_elsewhere": 0}
    try:
        entry["found"] = external.count_for(register, emails)
    except external.Unavailable:
        entry["unreachable"] = True  # collect again later: never taken for "nothing found"
    return entry


def register_names() -> dict[str, str]:
    """Every register's name by its label, in the active language: the registry's and the
    external ones."""
    names = {declaration.label: declaration.verbose_name_plural for declaration in declarations()}
    names.update({register.label: register.name for register in ExternalRegister.objects.all()})
    return names


def collection_lines(*, collection: SubjectCollection) -> list[FoundRegister]:
    """A collection's registers by their names in the active language, those with records first."""
    by_label = {declaration.label: declaration for declaration in declarations()}
    names = register_names()
    lines = []
    for entry in collection.results:
        declaration = by_label.get(entry["register"])
        lines.append(
            FoundRegister(
                register=entry["register"],
                name=names.get(entry["register"], entry.get("name", entry["register"])),
                found=entry["found"],
                answered_elsewhere=entry["answered_elsewhere"],
                answered_by=str(declaration.answered_elsewhere_by) if declaration else "",
                unreachable=entry.get("unreachable", False),
            )
        )
    return sorted(lines, key=lambda line: (-(line.found + line.answered_elsewhere), line.name.lower()))


# --- Access and portability (point 2 and 3) -------------------------------------------------------

# How long the link to a released export works (issue 13: 7 days), and how long a worker's claim
# on a build lasts before another worker may take it over (a worker that died mid-build).
LINK_VALID = timedelta(days=7)
BUILD_CLAIM = timedelta(minutes=10)


class ExportRefused(Exception):
    """The download link is unknown, spent or expired, or the export is not released."""


def request_access_export(*, case: Case, actor) -> AccessExport:
    """Asks a worker to build the requester's access export; the case page shows its progress.
    One at a time per case. If the broker is down, the sweep (every few minutes) asks again."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()  # one request at a time per case
        if case.access_exports.filter(status__in=(ExportStatus.QUEUED, ExportStatus.BUILDING)).exists():
            raise ValidationError({NON_FIELD_ERRORS: [_("An export of this case is being built already.")]})
        export = AccessExport.objects.create(case=case, requested_by=actor)
        CaseEvent.objects.create(
            case=case, actor=actor, kind=CaseEventKind.EXPORT_REQUESTED, data={"export": export.pk}
        )
        transaction.on_commit(partial(publish_build, export_id=export.pk))
    return export


def publish_build(*, export_id: int) -> None:
    from .tasks import build_access_export

    try:
        build_access_export.delay(export_id)
    except Exception:  # the broker is unreachable; the sweep asks again
        logger.warning("Access export %s not queued (broker unavailable); the sweep will queue it", export_id)


def _claim_build(*, export_id: int, now, registers: int) -> bool:
    """Takes the build for this worker: a queued export, or one whose builder's claim ran out."""
    return bool(
        AccessExport.objects.filter(pk=export_id)
        .filter(
            Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.BUILDING, claimed_until__lt=now),
        )
        .update(
            status=ExportStatus.BUILDING,
            claimed_until=now + BUILD_CLAIM,
            registers_done=0,
            registers_total=registers,
        )
    )


def build_access_export(*, export_id: int) -> AccessExport | None:
    """Builds the export's zip (cases.access_export) from what the registry finds now, without
    the items withheld, and leaves it for review. Idempotent: a build that is not this worker's
    to take (done, or claimed by a live worker) returns None; a build whose worker died starts
    again once its claim runs out."""
    now = timezone.now()
    # Only the registers that export something are read (how a case was handled is not).
    registers = [declaration for declaration in declarations() if declaration.exported]
    if not _claim_build(export_id=export_id, now=now, registers=len(registers)):
        return None
    export = AccessExport.objects.select_related("case").get(pk=export_id)
    case = export.case

    last_told = [time.monotonic()]

    def progress(done: int) -> None:
        # The case page's progress, and the claim renewed: at most twice a second (a write each).
        if time.monotonic() - last_told[0] < 0.5:
            return
        last_told[0] = time.monotonic()
        AccessExport.objects.filter(pk=export_id, status=ExportStatus.BUILDING).update(
            registers_done=done, claimed_until=timezone.now() + BUILD_CLAIM
        )

    withheld = [
        access_export.Withheld(register=item.register, record_key=item.record_key, reason=item.reason)
        for item in export.withheld_items.all()
    ]
    identities = requester_identities(case=case)
    external_parts = []
    for register in external_registers():
        try:
            rows = external.rows_for(register, identities.emails)
        except external.Unavailable:
            # Tried again by the sweep; the case page says which register it waits for.
            AccessExport.objects.filter(pk=export_id, status=ExportStatus.BUILDING).update(
                status=ExportStatus.QUEUED,
                claimed_until=None,
                waiting_for=register.name[:200],
                registers_done=0,
            )
            return None
        external_parts.append(
            access_export.ExternalPart(register.label, register.name, list(register.exported_columns), rows)
        )
    package, records = access_export.write_package(
        case=case,
        registers=registers,
        identities=identities,
        withheld=withheld,
        generated_at=now,
        external_parts=external_parts,
        on_register=progress,
    )
    with package:
        name = default_storage.save(access_export_path(export, "export.zip"), File(package))
    with transaction.atomic():
        previous = export.file.name
        built = AccessExport.objects.filter(pk=export_id, status=ExportStatus.BUILDING).update(
            status=ExportStatus.REVIEW,
            file=name,
            records=records,
            built_at=timezone.now(),
            claimed_until=None,
            waiting_for="",
        )
        if not built:  # no longer ours (withdrawn meanwhile): the new file is not kept
            transaction.on_commit(partial(default_storage.delete, name))
            return None
        CaseEvent.objects.create(
            case=case, kind=CaseEventKind.EXPORT_BUILT, data={"export": export_id, "records": records}
        )
        if previous and previous != name:
            transaction.on_commit(partial(default_storage.delete, previous))
    export.refresh_from_db()
    return export


def export_contents(*, export: AccessExport) -> dict:
    """The built export's data.json, for staff to review before it is released."""
    with export.file.open("rb") as stored, zipfile.ZipFile(stored) as archive:
        return json.loads(archive.read("data.json"))


def withhold_item(
    *, export: AccessExport, actor, register: str, record_key: str, reason: str
) -> WithheldItem:
    """Keeps a record out of the export, with the reason the requester is told (art. 15(4),
    12(4)); the export is built again without it."""
    case = export.case
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the requester may not have it: they are told.")]})
    with transaction.atomic():
        claimed = AccessExport.objects.filter(pk=export.pk, status=ExportStatus.REVIEW).update(
            status=ExportStatus.QUEUED, registers_done=0
        )
        if not claimed:
            raise ValidationError({NON_FIELD_ERRORS: [_("Only an export under review can be changed.")]})
        item, created = WithheldItem.objects.get_or_create(
            export=export,
            register=register,
            record_key=record_key,
            defaults={"reason": reason.strip(), "withheld_by": actor},
        )
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.ITEM_WITHHELD,
            data={"export": export.pk, "register": register},
        )
        transaction.on_commit(partial(publish_build, export_id=export.pk))
    return item


def release_access_export(*, export: AccessExport, actor) -> str:
    """Sends the requester, through the outbox and in their language, a link to the reviewed
    export that works once, for LINK_VALID; the page behind it asks for the case's receipt code.
    Returns the link (shown to no one; the tests follow it)."""
    case = export.case
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    token = new_token()
    now = timezone.now()
    with transaction.atomic():
        released = AccessExport.objects.filter(pk=export.pk, status=ExportStatus.REVIEW).update(
            status=ExportStatus.RELEASED,
            released_by=actor,
            released_at=now,
            link_digest=token_digest(token),
            link_expires_at=now + LINK_VALID,
        )
        if not released:
            raise ValidationError({NON_FIELD_ERRORS: [_("Only a built export under review can be sent.")]})
        with translation.override(case.language):
            # In the query string, which no access log keeps (gunicorn.conf.py).
            link = (
                f"{settings.TRUSTCENTER_SITE_URL}{reverse('cases:export_download')}?{urlencode({'t': token})}"
            )
            subject = render_to_string("cases/email/export_ready_subject.txt").strip()
            body = render_to_string(
                "cases/email/export_ready_body.txt",
                {"link": link, "expires": timezone.localtime(now + LINK_VALID)},
            )
        enqueue_email(recipient=case.reporter_email, subject=subject, body=body, concerns=case)
        CaseEvent.objects.create(
            case=case, actor=actor, kind=CaseEventKind.EXPORT_RELEASED, data={"export": export.pk}
        )
    export.refresh_from_db()
    return link


def export_for_link(*, token: str) -> AccessExport | None:
    """The released export a link names, if it can still be downloaded (its file is there: an
    erasure since removes the exports made for the requester)."""
    return (
        AccessExport.objects.select_related("case")
        .filter(
            link_digest=token_digest(token), status=ExportStatus.RELEASED, link_expires_at__gt=timezone.now()
        )
        .exclude(file="")
        .first()
    )


def spend_download(*, token: str, typed_code: str, client_key) -> AccessExport:
    """The POST behind the link: the case's receipt code (the second factor) opens the export
    once. Wrong codes count against the client as at follow-up (services.TooManyWrongCodes).
    Raises ExportRefused for a link that is unknown, spent or expired, or a code of another case."""
    export = export_for_link(token=token)
    if export is None:
        raise ExportRefused
    case = services.open_case_with_code(typed_code=typed_code, client_key=client_key)
    if case is None or case.pk != export.case_id:
        raise WrongCode
    with transaction.atomic():
        spent = AccessExport.objects.filter(pk=export.pk, status=ExportStatus.RELEASED).update(
            status=ExportStatus.DOWNLOADED, downloaded_at=timezone.now()
        )
        if not spent:  # another request spent it a moment ago
            raise ExportRefused
        CaseEvent.objects.create(
            case=export.case, kind=CaseEventKind.EXPORT_DOWNLOADED, data={"export": export.pk}
        )
    export.refresh_from_db()
    return export


class WrongCode(Exception):
    """The receipt code typed on the download page is not this case's."""


def delete_export_file(*, export_id: int) -> None:
    """Removes a downloaded or expired export's file (the record stays, for the case's history)."""
    export = AccessExport.objects.filter(pk=export_id).exclude(file="").first()
    if export is None:
        return
    name = export.file.name
    AccessExport.objects.filter(pk=export_id, file=name).update(file="", file_deleted_at=timezone.now())
    default_storage.delete(name)


def sweep_access_exports() -> dict[str, int]:
    """Beat: expires links past their time and deletes their files, deletes the files of
    downloaded exports that are still there (the download's own deletion failed), and queues
    again builds that were never taken (the broker was down) or whose worker died."""
    now = timezone.now()
    counts = {"expired": 0, "files_deleted": 0, "requeued": 0}
    for export in AccessExport.objects.filter(status=ExportStatus.RELEASED, link_expires_at__lte=now):
        with transaction.atomic():
            if AccessExport.objects.filter(pk=export.pk, status=ExportStatus.RELEASED).update(
                status=ExportStatus.EXPIRED
            ):
                CaseEvent.objects.create(
                    case_id=export.case_id, kind=CaseEventKind.EXPORT_EXPIRED, data={"export": export.pk}
                )
                counts["expired"] += 1
    for export_id in (
        AccessExport.objects.filter(status__in=(ExportStatus.DOWNLOADED, ExportStatus.EXPIRED))
        .exclude(file="")
        .values_list("pk", flat=True)
    ):
        delete_export_file(export_id=export_id)
        counts["files_deleted"] += 1
    stale = Q(status=ExportStatus.QUEUED, requested_at__lte=now - timedelta(minutes=1)) | Q(
        status=ExportStatus.BUILDING, claimed_until__lt=now
    )
    for export_id in AccessExport.objects.filter(stale).values_list("pk", flat=True):
        publish_build(export_id=export_id)
        counts["requeued"] += 1
    return counts


# --- Erasure (point 4) -----------------------------------------------------------------------------


def _without_the_request(found: list[FoundRecords], *, reference: str) -> list[FoundRecords]:
    """What an erasure may take: never the request being answered (with what belongs to it),
    which is the proof that it was answered (kept as its case type's rule says)."""
    return [
        replace(records, rows=records.rows.exclude(reference=reference))
        if records.declaration.model is Case
        else records
        for records in found
    ]


def erase_requester_data(*, case: Case, actor) -> SubjectErasure:
    """Erases what is held on the requester, register by register as the registry declares,
    except what the law requires keeping or a legal hold covers (kept, restricted, and said why);
    removes the access exports made for them; logs a keyed hash of each identity so that the
    erasure can be applied again after a backup is restored (`reapply_erasures`). In the case's
    history; the retention run log (trigger "erasure") holds the counts."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    identities = requester_identities(case=case)
    found = _without_the_request(subject_records(identities=identities), reference=case.reference)
    run, outcomes = retention_services.erase_subject_records(
        found=found, emails=identities.emails, requested_by=actor
    )
    for export_id in case.access_exports.exclude(file="").values_list("pk", flat=True):
        delete_export_file(export_id=export_id)
    with transaction.atomic():
        digests = [identity_digest(identity) for identity in (*identities.emails, *identities.phones)]
        for digest in digests:
            ErasedIdentity.objects.get_or_create(digest=digest, defaults={"case_reference": case.reference})
        erasure_log.record(kind=erasure_log.ERASED, digests=digests, case_reference=case.reference)
        _suppress(identities=identities, why=SuppressedAddress.Why.ERASURE)
        _tell_recipients(
            case=case,
            registers={outcome.register for outcome in outcomes if outcome.erased},
            what=ERASED,
        )
        erasure = SubjectErasure.objects.create(
            case=case,
            performed_by=actor,
            run=run,
            complete=run.status == RunStatus.FINISHED,
            results=[asdict(outcome) for outcome in outcomes],
        )
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.SUBJECT_ERASED,
            data={
                "run": run.pk,
                "erased": sum(outcome.erased for outcome in outcomes),
                "kept": sum(outcome.kept for outcome in outcomes),
                "complete": erasure.complete,
            },
        )
    return erasure


def retry_incomplete_erasures() -> int:
    """Beat: erases again, in the registers in other databases that did not answer, what
    incomplete erasures left there; an erasure is complete once none is left. Returns how many
    erasures were completed."""
    completed = 0
    for erasure in SubjectErasure.objects.filter(complete=False).select_related("case"):
        failed = {entry["register"] for entry in erasure.results if entry.get("failed")}
        registers = [register for register in external_registers() if register.label in failed]
        if not registers:
            continue
        emails = requester_identities(case=erasure.case).emails
        run, outcomes = retention_services.erase_subject_records(
            found=[], emails=emails, external_registers=registers
        )
        again = {outcome.register: asdict(outcome) for outcome in outcomes}
        # What the earlier tries erased before the register went away counts too.
        results = [
            {**again[entry["register"]], "erased": entry["erased"] + again[entry["register"]]["erased"]}
            if entry["register"] in again
            else entry
            for entry in erasure.results
        ]
        complete = not any(entry.get("failed") for entry in results)
        with transaction.atomic():
            SubjectErasure.objects.filter(pk=erasure.pk).update(results=results, complete=complete)
            CaseEvent.objects.create(
                case=erasure.case,
                kind=CaseEventKind.SUBJECT_ERASED,
                data={
                    "run": run.pk,
                    "erased": sum(o.erased for o in outcomes),
                    "kept": 0,
                    "complete": complete,
                },
            )
        completed += complete
    return completed


@dataclass(frozen=True)
class ErasureLine:
    name: str
    failed: bool
    action: str
    erased: int
    kept: int
    kept_because: list[str]


def erasure_lines(*, erasure: SubjectErasure) -> list[ErasureLine]:
    """An erasure's registers with something erased or kept, by name and reasons in the active
    language."""
    by_label = {declaration.label: declaration for declaration in declarations()}
    names = register_names()
    lines = []
    for entry in erasure.results:
        if not (entry["erased"] or entry["kept"] or entry.get("failed")):
            continue
        declaration = by_label.get(entry["register"])
        lines.append(
            ErasureLine(
                name=names.get(entry["register"], entry["register"]),
                failed=entry.get("failed", False),
                action=entry["action"],
                erased=entry["erased"],
                kept=entry["kept"],
                kept_because=[
                    retention_services.kept_because_text(declaration=declaration, reason=reason)
                    for reason in entry["kept_because"]
                ],
            )
        )
    return lines


def reapply_erasures() -> int:
    """After a backup from before some erasures is restored: finds every address and number
    in the registers whose keyed hash is in the erasure log and erases their records again (the
    requests themselves excepted). The log is first made whole again from its copy outside the
    database (registers.erasure_log), which the restore did not roll back. Hashes made under a
    secret key that has since been rotated (DJANGO_SECRET_KEY_FALLBACKS) are recognised too.
    Returns how many identities were found again."""
    erasure_log.restore()
    logged = dict(ErasedIdentity.objects.values_list("digest", "case_reference"))
    if not logged:
        return 0
    found_again: dict[str, Identities] = {}
    for declaration in declarations():
        for paths, normalise, kind in (
            (declaration.subject_email, normalise_email, "emails"),
            (declaration.subject_phone, normalise_phone, "phones"),
        ):
            for path in paths:
                values = declaration.model._default_manager.exclude(**{path: ""}).exclude(
                    **{f"{path}__isnull": True}
                )
                for value in values.values_list(path, flat=True).distinct().iterator():
                    identity = normalise(value)
                    reference = next(
                        (logged[digest] for digest in identity_digests(identity) if digest in logged), None
                    )
                    if reference is not None:
                        earlier = found_again.get(reference, Identities())
                        found_again[reference] = Identities.of(
                            emails=(*earlier.emails, *([identity] if kind == "emails" else [])),
                            phones=(*earlier.phones, *([identity] if kind == "phones" else [])),
                        )
    for reference, identities in found_again.items():
        found = _without_the_request(subject_records(identities=identities), reference=reference)
        retention_services.erase_subject_records(found=found, emails=identities.emails)
    return sum(len(identities.emails) + len(identities.phones) for identities in found_again.values())


# --- Rectification, restriction, objection (point 5) -----------------------------------------------

# What a recipient is told was done (in the site's language, when the notice is written).
RECTIFIED, ERASED = gettext_lazy("rectified"), gettext_lazy("erased")

# The consent purposes an objection to direct marketing withdraws (art. 21(3)); cookie choices
# are made under a random identifier, not an address, and are changed on the banner.
MARKETING_PURPOSES = ("newsletter", "marketing_email", "lead_registration")


def _suppress(*, identities: Identities, why: str) -> None:
    digests = [identity_digest(address) for address in identities.emails]
    for digest in digests:
        SuppressedAddress.objects.get_or_create(digest=digest, defaults={"why": why})
    erasure_log.record(kind=erasure_log.SUPPRESSED, digests=digests, why=why)


def _found_record(*, case: Case, register: str, record_key: str):
    """A record the registry finds for the requester, by register and key; ValidationError else
    (staff act only on what is found for this requester)."""
    identities = requester_identities(case=case)
    for records in subject_records(
        identities=identities, only=lambda declaration: declaration.label == register
    ):
        try:
            record = records.rows.filter(pk=record_key).first()
        except (ValueError, ValidationError):  # not a key of this register at all
            record = None
        if record is not None:
            return records.declaration, record
    raise ValidationError({NON_FIELD_ERRORS: [_("This record is not among those found for the requester.")]})


def rectifiable_fields(declaration) -> list[str]:
    """The fields of a register staff may correct: its own editable text fields that hold personal
    data (not a derived one, such as a case's search document)."""
    fields = []
    for name in declaration.personal_fields:
        if "__" in name:
            continue
        field = declaration.model._meta.get_field(name)
        if field.editable and isinstance(field, dj_models.CharField | dj_models.TextField):
            fields.append(name)
    return fields


def rectify_record(*, case: Case, actor, register: str, record_key: str, field: str, value: str) -> None:
    """Corrects one field of a record found for the requester (art. 16), validated as the model
    validates it; in the case's history (which field, not the values) and in the audit log (its
    values masked as for every personal field); recipients of the register are told (art. 19)."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    declaration, record = _found_record(case=case, register=register, record_key=record_key)
    if field not in rectifiable_fields(declaration):
        raise ValidationError({"field": [_("This field cannot be corrected here.")]})
    model_field = declaration.model._meta.get_field(field)
    try:
        cleaned = model_field.clean(value.strip(), record)
    except ValidationError as error:
        raise ValidationError({"value": error.messages}) from None
    with transaction.atomic():
        setattr(record, field, cleaned)
        record.save(update_fields=[field])
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.RECORD_RECTIFIED,
            data={"register": register, "field": field},
        )
        _tell_recipients(case=case, registers={register}, what=RECTIFIED)


def restrict_record(*, case: Case, actor, register: str, record_key: str) -> None:
    """Restricts a record found for the requester at their request (art. 18(1)): the registers'
    lists and exports leave it out; only the privacy team sees it."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    declaration, record = _found_record(case=case, register=register, record_key=record_key)
    with transaction.atomic():
        with translation.override(settings.LANGUAGE_CODE):
            reason = str(_("Restricted at the data subject's request (art. 18(1))."))
        retention_services.restrict(model=declaration.model, ids=[record.pk], reason=reason)
        CaseEvent.objects.create(
            case=case, actor=actor, kind=CaseEventKind.RECORD_RESTRICTED, data={"register": register}
        )


def object_to_direct_marketing(*, case: Case, actor) -> int:
    """The requester objects to direct marketing (art. 21(2)-(3)): their marketing consents are
    withdrawn through the ledger (channel staff), their records kept for direct marketing
    (prospects) are erased, and their address goes on the suppression list so that imports and
    sign-ups do not add them again. Returns how many records were erased."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    check_fulfillable(case=case)
    identities = requester_identities(case=case)
    for address in identities.emails:
        for purpose in ConsentPurpose.objects.filter(slug__in=MARKETING_PURPOSES):
            if consent_selectors.current_consent(email=address, purpose=purpose.slug).standing:
                record_consent(
                    email=address,
                    purpose=purpose,
                    action=ConsentAction.WITHDRAW,
                    channel=Channel.STAFF,
                    actor=actor,
                )
    marketing = [
        records for records in subject_records(identities=identities) if records.declaration.direct_marketing
    ]
    _run, outcomes = retention_services.erase_subject_records(found=marketing, requested_by=actor)
    erased = sum(outcome.erased for outcome in outcomes)
    with transaction.atomic():
        _suppress(identities=identities, why=SuppressedAddress.Why.OBJECTION)
        CaseEvent.objects.create(
            case=case, actor=actor, kind=CaseEventKind.OBJECTION_RECORDED, data={"erased": erased}
        )
        _tell_recipients(
            case=case,
            registers={outcome.register for outcome in outcomes if outcome.erased},
            what=ERASED,
        )
    return erased


def _tell_recipients(*, case: Case, registers: set[str], what) -> int:
    """Tells, through the outbox, each recipient the registry names for these registers that the
    requester's records in it were erased or rectified, so that they do the same (art. 19)."""
    told = 0
    identities = requester_identities(case=case)
    with translation.override(settings.LANGUAGE_CODE):
        names = register_names()
    for recipient in RegisterRecipient.objects.filter(register__in=registers):
        with translation.override(settings.LANGUAGE_CODE):
            name = names.get(recipient.register, recipient.register)
            subject = render_to_string(
                "cases/email/recipient_notice_subject.txt", {"reference": case.reference}
            ).strip()
            body = render_to_string(
                "cases/email/recipient_notice_body.txt",
                {
                    "recipient": recipient,
                    "register": name,
                    "what": what,
                    "identities": [*identities.emails, *identities.phones],
                    "reference": case.reference,
                    "privacy_email": settings.TRUSTCENTER_PRIVACY_EMAIL,
                },
            )
        enqueue_email(recipient=recipient.email, subject=subject, body=body, concerns=case)
        told += 1
    return told


# --- The answer (point 6) --------------------------------------------------------------------------


def draft_answer(*, case: Case) -> str:
    """The answer to the requester drafted from what was done on the case, in their language, for
    staff to edit and send as the reply that meets the answer clock: the export released (and
    what was withheld, from which register, why, and how to complain), per register what was
    erased, what was kept and why, and what is not erased yet (a register in another database
    that did not answer), an objection, corrections and restrictions."""
    # Only an export released to the requester is one the answer can say was sent.
    export = case.access_exports.filter(released_at__isnull=False).order_by("-released_at").first()
    erasure = case.erasures.first()
    kinds = set(case.events.values_list("kind", flat=True))
    with translation.override(case.language):
        names = register_names()
        withheld = Counter(
            (names.get(item.register, item.register), item.reason)
            for item in (export.withheld_items.all() if export else ())
        )
        return render_to_string(
            "cases/answer_draft.txt",
            {
                "case": case,
                "export": export,
                "withheld": [
                    {"register": register, "count": count, "reason": reason}
                    for (register, reason), count in withheld.items()
                ],
                "erasure": erasure,
                "erasure_lines": erasure_lines(erasure=erasure) if erasure else [],
                "objection": CaseEventKind.OBJECTION_RECORDED in kinds,
                "rectified": CaseEventKind.RECORD_RECTIFIED in kinds,
                "restricted": CaseEventKind.RECORD_RESTRICTED in kinds,
                "authorities": SUPERVISORY_AUTHORITIES,
                "controller": controller(),
            },
        ).strip()
