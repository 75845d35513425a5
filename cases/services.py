"""Case operations: one function a change, keyword-only arguments, one transaction each."""

import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from trustcenter.services import enqueue_email

from . import receipts
from .forms import Upload
from .models import (
    Attachment,
    Case,
    CaseMessage,
    CaseStatus,
    CaseType,
    EmailConfirmation,
    MessageAuthor,
    ReferenceCounter,
)
from .uploads import strip_image_metadata

CONFIRMATION_CODE_VALID = timedelta(minutes=10)
CONFIRMATION_LINK_VALID = timedelta(hours=24)
CONFIRMATION_MAX_TRIES = 3
PROOF_SALT = "trustcenter.cases.proof-of-submission"
CONFIRM_LINK_SALT = "trustcenter.cases.confirm-email"


@dataclass(frozen=True)
class SubmittedCase:
    case: Case
    receipt_code: str


def hash_code(code: str) -> str:
    return receipts.hash_receipt_code(
        code,
        salt=settings.RECEIPT_SALT,
        time_cost=settings.TRUSTCENTER_RECEIPT_HASH_TIME_COST,
        memory_kib=settings.TRUSTCENTER_RECEIPT_HASH_MEMORY_KIB,
    )


def next_reference(*, year: int) -> str:
    """TC-<year>-<number>, numbered without gaps under concurrent submissions.

    One UPDATE ... RETURNING both takes the row lock and reads the number (PostgreSQL, and
    SQLite since 3.35), so the lock is held for as short a time as the transaction allows.
    """
    number = _increment_counter(year)
    if number is None:
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last_number=1)
                number = 1
        except IntegrityError:  # another submission created the year's row first
            number = _increment_counter(year)
    return f"TC-{year}-{number:05d}"


def _increment_counter(year: int) -> int | None:
    table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number + 1 WHERE year = %s RETURNING last_number", [year]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def content_digest(
    *, case_type: str, subject_right: str, details: dict, message: str, uploads: list[Upload]
) -> str:
    """SHA-256 of what the reporter sent, so a proof of submission can name it without showing it."""
    canonical = json.dumps(
        {
            "case_type": case_type,
            "subject_right": subject_right,
            "details": details,
            "message": message,
            "attachments": [hashlib.sha256(upload.data).hexdigest() for upload in uploads],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _without_metadata(upload: Upload) -> bytes:
    if upload.data_without_metadata is not None:
        return upload.data_without_metadata  # made when the form was checked (AttachmentsField)
    return strip_image_metadata(upload.data, upload.kind)


def _as_stored(uploads: list[Upload], *, anonymous: bool) -> list[Upload]:
    """The files as they will be kept: an anonymous reporter's images without their metadata,
    and under a plain name, since a phone names a photo by the moment it was taken.

    Done before the transaction (re-encoding takes time), and everything after it (hashes,
    the proof's digest) sees only the stored bytes, so no fingerprint of the original remains.
    """
    if not anonymous:
        return uploads
    return [
        replace(
            upload,
            name=f"image-{number}.{upload.kind.extension}",
            data=_without_metadata(upload),
            data_without_metadata=None,
            metadata_removed=True,
        )
        if upload.kind.is_image
        else upload
        for number, upload in enumerate(uploads, start=1)
    ]


def _save_attachments(*, case: Case, message: CaseMessage, uploads: list[Upload]) -> None:
    for upload in uploads:
        attachment = Attachment(
            case=case,
            message=message,
            original_name=upload.name,
            content_type=upload.kind.content_type,
            extension=upload.kind.extension,
            size=len(upload.data),
            sha256=hashlib.sha256(upload.data).hexdigest(),
            metadata_removed=upload.metadata_removed,
        )
        attachment.file.save("upload", ContentFile(upload.data), save=False)
        attachment.save()


def _followup_url(language: str) -> str:
    with translation.override(language):
        return settings.TRUSTCENTER_SITE_URL + reverse("cases:followup")


def _enqueue_notice(*, case: Case, template: str) -> None:
    """An e-mail that says only that there is news, never what it is."""
    if not (case.wants_notices and case.reporter_email) or case.is_anonymous:
        return
    with translation.override(case.language):
        subject = render_to_string(f"cases/email/{template}_subject.txt").strip()
        body = render_to_string(
            f"cases/email/{template}_body.txt", {"followup_url": _followup_url(case.language)}
        )
    enqueue_email(recipient=case.reporter_email, subject=subject, body=body)


def _start_email_confirmation(*, case: Case) -> None:
    code = receipts.new_confirmation_code()
    nonce = secrets.token_hex(16)
    EmailConfirmation.objects.update_or_create(
        case=case,
        defaults={
            "code_hash": receipts.hash_short_code(code, secret=settings.SECRET_KEY),
            "link_nonce": nonce,
            "expires_at": timezone.now() + CONFIRMATION_CODE_VALID,
            "failed_attempts": 0,
        },
    )
    token = signing.dumps({"case": case.pk, "nonce": nonce}, salt=CONFIRM_LINK_SALT)
    with translation.override(case.language):
        # The token goes in the query string, which no access log keeps (gunicorn.conf.py).
        link = (
            f"{settings.TRUSTCENTER_SITE_URL}{reverse('cases:confirm_email_link')}?{urlencode({'t': token})}"
        )
        subject = render_to_string("cases/email/confirm_subject.txt").strip()
        body = render_to_string(
            "cases/email/confirm_body.txt",
            {"code": code, "link": link, "minutes": int(CONFIRMATION_CODE_VALID.total_seconds() // 60)},
        )
    enqueue_email(recipient=case.reporter_email, subject=subject, body=body)


def submit_case(
    *,
    case_type: str,
    language: str,
    is_anonymous: bool,
    details: dict,
    message: str,
    uploads: list[Upload],
    reporter_name: str = "",
    reporter_email: str = "",
    wants_notices: bool = False,
) -> SubmittedCase:
    """Saves a Trust message and returns it with its receipt code (shown once, stored as a hash)."""
    if is_anonymous and case_type == CaseType.SUBJECT_REQUEST:
        raise ValueError("a data-subject request cannot be anonymous")
    if is_anonymous:
        reporter_name, reporter_email, wants_notices = "", "", False
    subject_right = details.pop("subject_right", "") if case_type == CaseType.SUBJECT_REQUEST else ""
    uploads = _as_stored(uploads, anonymous=is_anonymous)
    code = receipts.new_receipt_code()
    code_hash = hash_code(code)  # slow on purpose: outside the transaction
    digest = content_digest(
        case_type=case_type, subject_right=subject_right, details=details, message=message, uploads=uploads
    )
    now = timezone.now()
    with transaction.atomic():
        case = Case.objects.create(
            reference=next_reference(year=timezone.localtime(now).year),
            case_type=case_type,
            received_at=now,
            language=language,
            is_anonymous=is_anonymous,
            receipt_hash=code_hash,
            subject_right=subject_right,
            details=details,
            reporter_name=reporter_name.strip(),
            reporter_email=reporter_email,
            wants_notices=wants_notices,
            content_digest=digest,
        )
        first_message = CaseMessage.objects.create(
            case=case, author=MessageAuthor.REPORTER, body=message, created_at=now
        )
        _save_attachments(case=case, message=first_message, uploads=uploads)
        if case_type == CaseType.SUBJECT_REQUEST:
            _start_email_confirmation(case=case)
        else:
            _enqueue_notice(case=case, template="received")
    return SubmittedCase(case=case, receipt_code=code)


def add_reporter_message(*, case: Case, message: str, uploads: list[Upload]) -> CaseMessage:
    uploads = _as_stored(uploads, anonymous=case.is_anonymous)
    with transaction.atomic():
        reply = CaseMessage.objects.create(case=case, author=MessageAuthor.REPORTER, body=message)
        _save_attachments(case=case, message=reply, uploads=uploads)
        if case.status == CaseStatus.WAITING_FOR_REPORTER:
            case.status = CaseStatus.IN_PROGRESS
            case.save(update_fields=["status"])
    return reply


def reply_as_staff(*, case: Case, staff_user, message: str) -> CaseMessage:
    with transaction.atomic():
        reply = CaseMessage.objects.create(
            case=case, author=MessageAuthor.STAFF, staff_user=staff_user, body=message
        )
        _enqueue_notice(case=case, template="news")
    return reply


def change_status(*, case: Case, status: str) -> None:
    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk).exclude(status=status).update(status=status)
        case.status = status
        if updated:
            _enqueue_notice(case=case, template="news")


class ConfirmationResult(Enum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY_TRIES = "too_many_tries"


def confirm_email_with_code(*, case: Case, code: str) -> ConfirmationResult:
    with transaction.atomic():
        confirmation = EmailConfirmation.objects.select_for_update().filter(case=case).first()
        if case.email_confirmed_at:
            return ConfirmationResult.CONFIRMED
        if confirmation is None:
            return ConfirmationResult.EXPIRED
        if confirmation.failed_attempts >= CONFIRMATION_MAX_TRIES:
            return ConfirmationResult.TOO_MANY_TRIES
        if timezone.now() > confirmation.expires_at:
            return ConfirmationResult.EXPIRED
        expected = receipts.hash_short_code(code.strip(), secret=settings.SECRET_KEY)
        if not secrets.compare_digest(expected, confirmation.code_hash):
            confirmation.failed_attempts += 1
            confirmation.save(update_fields=["failed_attempts"])
            if confirmation.failed_attempts >= CONFIRMATION_MAX_TRIES:
                return ConfirmationResult.TOO_MANY_TRIES
            return ConfirmationResult.WRONG
        _mark_confirmed(case=case, confirmation=confirmation)
        return ConfirmationResult.CONFIRMED


def confirm_email_with_link(*, token: str) -> Case | None:
    """The case whose e-mail the link confirms, or None if the link is broken, old or used up."""
    try:
        payload = signing.loads(token, salt=CONFIRM_LINK_SALT, max_age=CONFIRMATION_LINK_VALID)
    except signing.BadSignature:
        return None
    with transaction.atomic():
        confirmation = (
            EmailConfirmation.objects.select_for_update()
            .select_related("case")
            .filter(case_id=payload.get("case"), link_nonce=payload.get("nonce"))
            .first()
        )
        if confirmation is None:
            return None
        case = confirmation.case
        _mark_confirmed(case=case, confirmation=confirmation)
        return case


def _mark_confirmed(*, case: Case, confirmation: EmailConfirmation) -> None:
    case.email_confirmed_at = timezone.now()
    case.save(update_fields=["email_confirmed_at"])
    confirmation.delete()


def resend_email_confirmation(*, case: Case) -> None:
    if case.case_type != CaseType.SUBJECT_REQUEST or case.email_confirmed_at:
        return
    with transaction.atomic():
        _start_email_confirmation(case=case)


def proof_of_submission(*, case: Case) -> str:
    """A token signed by the site: reference, time, type and digest; never the receipt code."""
    return signing.dumps(
        {
            "reference": case.reference,
            "received_at": case.received_at.isoformat(),
            "case_type": case.case_type,
            "digest": case.content_digest,
        },
        salt=PROOF_SALT,
    )


def check_proof(*, proof: str) -> dict | None:
    try:
        return signing.loads("".join(proof.split()), salt=PROOF_SALT)
    except signing.BadSignature:
        return None
