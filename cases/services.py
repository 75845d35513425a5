"""Case operations: one function a change, keyword-only arguments, one transaction each."""

import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from retention import services as retention_services
from trustcenter import ratelimit
from trustcenter.files import remove_files_on_commit, written_files_removed_on_error
from trustcenter.models import Team, TeamMembership
from trustcenter.services import enqueue_email

from . import audit, deadlines, questions, receipts, selectors
from .models import (
    Attachment,
    Authority,
    Breach,
    BreachDecision,
    BreachNotification,
    Case,
    CaseClock,
    CaseEvent,
    CaseEventKind,
    CaseExclusion,
    CaseMessage,
    CaseOutcome,
    CaseStatus,
    CaseType,
    CaseTypeRouting,
    ClockKind,
    ClockPolicy,
    EmailConfirmation,
    MessageAuthor,
    MetAction,
    ReferenceCounter,
    Severity,
    SubjectsInformed,
)
from .uploads import Upload, decode_images, verify_uploads

CONFIRMATION_CODE_VALID = timedelta(minutes=10)
CONFIRMATION_LINK_VALID = timedelta(hours=24)
CONFIRMATION_MAX_TRIES = 3
NEW_CONFIRMATION_CODES_PER_WINDOW = 3
NEW_CONFIRMATION_CODES_WINDOW_SECONDS = 3600
PROOF_SALT = "trustcenter.cases.proof-of-submission"
CONFIRM_LINK_SALT = "trustcenter.cases.confirm-email"


# DESIGN.md §1: the teams that exist by default and who handles each type (admins change both;
# migration 0004 made them once).
DEFAULT_TEAMS = {
    "privacy": "Privacy",
    "security": "Security",
    "whistleblowing": "Whistleblowing",
    "hse": "Health, safety and environment",
}
DEFAULT_ROUTING = {
    CaseType.SUBJECT_REQUEST: "privacy",
    CaseType.PRIVACY_DEVIATION: "privacy",
    CaseType.SECURITY_INCIDENT: "security",
    CaseType.WHISTLEBLOWING: "whistleblowing",
    CaseType.HSE: "hse",
    CaseType.COMPLAINT: "privacy",
    CaseType.GENERAL_INQUIRY: "privacy",
}


@dataclass(frozen=True)
class SubmittedCase:
    case: Case
    receipt_code: str


class LimitReached(Exception):
    """Refused for now; `seconds_left` says for how long."""

    def __init__(self, seconds_left: int):
        super().__init__(seconds_left)
        self.seconds_left = seconds_left


class TooManyMessages(LimitReached):
    pass


class TooManyWrongCodes(LimitReached):
    pass


class TooManyConfirmationCodes(LimitReached):
    pass


class AlreadySubmitted(Exception):
    """This form was sent before (a reload, a double click): its message is already saved."""


class StaleCase(Exception):
    """The case changed since the staff member read it: their change was not made."""


def _seconds_refused(*, scope: str, client_key, window_seconds: int, limit: int) -> int | None:
    seconds = ratelimit.seconds_until_allowed(
        scope=scope, client_key=client_key, window_seconds=window_seconds, limit=limit
    )
    return seconds or None


def _take_attempt(*, scope: str, client_key, window_seconds: int, limit: int, refusal) -> ratelimit.Attempt:
    """Counts the attempt first (atomically), then refuses it if it went past the limit: however
    many arrive at once, at most `limit` get through."""
    attempt = ratelimit.take_attempt(
        scope=scope, client_key=client_key, window_seconds=window_seconds, limit=limit
    )
    if not attempt.allowed:
        raise refusal(
            ratelimit.seconds_until_allowed(
                scope=scope, client_key=client_key, window_seconds=window_seconds, limit=limit
            )
        )
    return attempt


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


def _as_stored(uploads: list[Upload], *, anonymous: bool) -> list[Upload]:
    """The files as they will be kept: an anonymous reporter's images without their metadata,
    and under a plain name, since a phone names a photo by the moment it was taken.

    Done before the transaction (re-encoding takes time), and everything after it (hashes,
    the proof's digest) sees only the stored bytes, so no fingerprint of the original remains.
    """
    if not anonymous:
        return uploads
    undecoded = [
        upload for upload in uploads if upload.kind.is_image and upload.data_without_metadata is None
    ]
    decoded = dict(zip(map(id, undecoded), decode_images(undecoded), strict=True)) if undecoded else {}
    stored = []
    for number, upload in enumerate(uploads, start=1):
        if upload.kind.is_image:
            upload = decoded.get(id(upload), upload)
            stripped = upload.data_without_metadata
            assert stripped is not None, "decode_images makes the copy without metadata"
            upload = replace(
                upload,
                name=f"image-{number}.{upload.kind.extension}",
                data=stripped,
                data_without_metadata=None,
                metadata_removed=True,
            )
        stored.append(upload)
    return stored


def _save_attachments(*, case: Case, message: CaseMessage, uploads: list[Upload], written: list[str]) -> None:
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
        written.append(attachment.file.name)
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
    enqueue_email(recipient=case.reporter_email, subject=subject, body=body, concerns=case)


def _start_email_confirmation(*, case: Case, template: str = "confirm") -> None:
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
        subject = render_to_string(f"cases/email/{template}_subject.txt").strip()
        body = render_to_string(
            f"cases/email/{template}_body.txt",
            {"code": code, "link": link, "minutes": int(CONFIRMATION_CODE_VALID.total_seconds() // 60)},
        )
    enqueue_email(recipient=case.reporter_email, subject=subject, body=body, concerns=case)


def _token_hash(submission_token: str) -> str | None:
    return hashlib.sha256(submission_token.encode()).hexdigest() if submission_token else None


def _refuse_if_already_submitted(token_hash: str | None) -> None:
    if token_hash and CaseMessage.objects.filter(submission_token_hash=token_hash).exists():
        raise AlreadySubmitted


def _check_message(message: str, errors: dict[str, list[str]]) -> None:
    if not message.strip():
        errors.setdefault("message", []).append(_("Please write your message."))
    elif len(message) > settings.TRUSTCENTER_MAX_MESSAGE_CHARS:
        errors.setdefault("message", []).append(
            _("Use at most %(limit)s characters.") % {"limit": settings.TRUSTCENTER_MAX_MESSAGE_CHARS}
        )


def _check_report(
    *,
    case_type: str,
    language: str,
    is_anonymous: bool,
    subject_right: str,
    details: dict,
    message: str,
    reporter_name: str,
    reporter_email: str,
) -> None:
    """Raises ValidationError (by field) unless the report may be stored as given."""
    errors: dict[str, list[str]] = {}
    if case_type not in CaseType.values:
        raise ValidationError({"case_type": _("Choose one of the subjects in the list.")})
    if language not in dict(settings.LANGUAGES):
        errors["language"] = [_("This language is not offered.")]
    if is_anonymous and case_type == CaseType.SUBJECT_REQUEST:
        errors["is_anonymous"] = [_("A data-subject request cannot be anonymous.")]
    for name, messages in questions.answer_errors(
        case_type=case_type, details=details, subject_right=subject_right, today=timezone.localdate()
    ).items():
        errors.setdefault(name, []).extend(messages)
    _check_message(message, errors)
    if not is_anonymous:
        if not reporter_name.strip() or len(reporter_name) > 200:
            errors["reporter_name"] = [_("Please give your name (at most 200 characters).")]
        try:
            validate_email(reporter_email)
            if len(reporter_email) > 254:
                raise ValidationError("too long")
        except ValidationError:
            errors["reporter_email"] = [_("Enter a valid e-mail address.")]
    if errors:
        raise ValidationError(errors)


def _take_message_allowance(client_key) -> None:
    """Counts one message against the client's hourly limit, before anything else is done with
    it; refuses it past the limit (a message refused by the limit is not counted, so waiting is
    all it takes). Messages refused as invalid count too (`count_refused_message`)."""
    _take_attempt(
        scope="submit",
        client_key=client_key,
        window_seconds=settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS,
        limit=settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR,
        refusal=TooManyMessages,
    )


def message_limit_reached(*, client_key) -> int | None:
    """Seconds until the client may send again, if its messages are refused now; else None.
    Reads without counting: the form is not even looked at past the limit."""
    return _seconds_refused(
        scope="submit",
        client_key=client_key,
        window_seconds=settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS,
        limit=settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR,
    )


def count_refused_message(*, client_key) -> None:
    """A message the form refused still counts against the client's limit: checking one costs
    the server work too."""
    ratelimit.count_hit(
        scope="submit", client_key=client_key, window_seconds=settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS
    )


def submit_case(
    *,
    client_key,
    case_type: str,
    language: str,
    is_anonymous: bool,
    details: dict,
    message: str,
    uploads: list[Upload],
    subject_right: str = "",
    reporter_name: str = "",
    reporter_email: str = "",
    wants_notices: bool = False,
    submission_token: str = "",
    excluded_handler_ids: tuple[int, ...] = (),
) -> SubmittedCase:
    """Saves a Trust message and returns it with its receipt code (shown once, stored as a hash).

    Raises AlreadySubmitted for a form sent twice, TooManyMessages past the client's limit,
    ValidationError (by field) for what cannot be stored.
    """
    token_hash = _token_hash(submission_token)
    # A form sent again counts like any message: its token is found by the unique index when
    # the row is saved (no read before), and the work it caused stays within the limit.
    _take_message_allowance(client_key)
    if is_anonymous:
        reporter_name, reporter_email, wants_notices = "", "", False
    _check_report(
        case_type=case_type,
        language=language,
        is_anonymous=is_anonymous,
        subject_right=subject_right,
        details=details,
        message=message,
        reporter_name=reporter_name,
        reporter_email=reporter_email,
    )
    excluded_handlers = _handlers_to_exclude(case_type=case_type, handler_ids=excluded_handler_ids)
    verify_uploads(uploads)
    uploads = _as_stored(uploads, anonymous=is_anonymous)
    code = receipts.new_receipt_code()
    code_hash = selectors.receipt_hash(code)  # slow on purpose: outside the transaction
    digest = content_digest(
        case_type=case_type, subject_right=subject_right, details=details, message=message, uploads=uploads
    )
    now = timezone.now()
    try:
        with written_files_removed_on_error() as written, transaction.atomic(durable=True):
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
                search_document=_report_text(details=details, message=message),
            )
            first_message = CaseMessage.objects.create(
                case=case,
                author=MessageAuthor.REPORTER,
                body=message,
                created_at=now,
                submission_token_hash=token_hash,
            )
            _save_attachments(case=case, message=first_message, uploads=uploads, written=written)
            for handler in excluded_handlers:
                CaseExclusion.objects.create(case=case, user=handler, reason=NAMED_BY_THE_REPORTER)
                CaseEvent.objects.create(
                    case=case,
                    kind=CaseEventKind.HANDLER_EXCLUDED,
                    data={"handler": handler.pk},
                    created_at=now,
                )
            _start_clocks(case=case, now=now)
            if case_type == CaseType.SUBJECT_REQUEST:
                _start_email_confirmation(case=case)
            else:
                _enqueue_notice(case=case, template="received")
    except IntegrityError:
        _refuse_if_already_submitted(token_hash)  # the same form, sent before or at the same moment
        raise
    return SubmittedCase(case=case, receipt_code=code)


def _report_text(*, details: dict, message: str) -> str:
    """What staff search a report by: its written answers and its message."""
    answers = [value for value in details.values() if isinstance(value, str) and value]
    return "\n".join([*answers, message])


# Kept as the reason of an exclusion the reporter asked for (staff read it; it is not shown to them).
NAMED_BY_THE_REPORTER = "Named by the reporter as someone who must not see the report."


def _handlers_to_exclude(*, case_type: str, handler_ids) -> list:
    """The handlers a whistleblower named as not to see the report: only from the list the form
    offers, the handlers of the whistleblowing team (Directive 2019/1937 art. 9(1)(c))."""
    if not handler_ids:
        return []
    if case_type != CaseType.WHISTLEBLOWING:
        raise ValidationError(
            {"excluded_handlers": [_("Only a whistleblowing report names handlers to leave out.")]}
        )
    handlers = list(selectors.handlers_of_type(case_type=case_type).filter(pk__in=handler_ids))
    if len(handlers) != len(set(handler_ids)):
        raise ValidationError({"excluded_handlers": [_("Choose from the people in the list.")]})
    return handlers


def add_reporter_message(
    *, case: Case, client_key, message: str, uploads: list[Upload], submission_token: str = ""
) -> CaseMessage:
    """A reporter's message on their case (opened by the receipt code), under the same limit
    as reports. A case waiting for the reporter goes back to staff; any other status stays."""
    token_hash = _token_hash(submission_token)
    # A form sent again counts like any message: its token is found by the unique index when
    # the row is saved (no read before), and the work it caused stays within the limit.
    _take_message_allowance(client_key)
    errors: dict[str, list[str]] = {}
    _check_message(message, errors)
    if errors:
        raise ValidationError(errors)
    verify_uploads(uploads)
    uploads = _as_stored(uploads, anonymous=case.is_anonymous)
    try:
        with written_files_removed_on_error() as written, transaction.atomic(durable=True):
            reply = CaseMessage.objects.create(
                case=case, author=MessageAuthor.REPORTER, body=message, submission_token_hash=token_hash
            )
            _save_attachments(case=case, message=reply, uploads=uploads, written=written)
            _append_search_text(case=case, text=message)
            # Conditional on the status in the database, not the one read with the case: staff
            # may have closed it since the reporter's page was loaded.
            Case.objects.filter(pk=case.pk, status=CaseStatus.WAITING_FOR_REPORTER).update(
                status=CaseStatus.IN_PROGRESS
            )
            # A message on a closed case reopens it and puts it back in the queue: reports have
            # been lost in tools where such a message waited unseen on a closed case.
            if Case.objects.filter(pk=case.pk, status=CaseStatus.CLOSED).update(
                status=CaseStatus.RECEIVED, closed_at=None, outcome=""
            ):
                reopened = Case.objects.get(pk=case.pk)
                audit.record_update(instance=reopened, previous={"status": CaseStatus.CLOSED})
                CaseEvent.objects.create(
                    case=case,
                    kind=CaseEventKind.REOPENED_BY_REPORTER,
                    data={"from": CaseStatus.CLOSED, "to": CaseStatus.RECEIVED, "message": reply.pk},
                )
    except IntegrityError:
        _refuse_if_already_submitted(token_hash)
        raise
    case.refresh_from_db(fields=["status", "closed_at", "outcome"])
    return reply


def update_case(
    *,
    case: Case,
    actor,
    expected_status: str | None = None,
    status: str | None = None,
    reply: str = "",
) -> list[CaseEvent]:
    """A staff member's change to a case: a new status, a reply to the reporter, or both.

    One transaction, one "there is news" notice however much changed, and an event in the
    case's history for each change, naming the actor. The status changes only if it is still
    the one the staff member saw (`expected_status`, by default the one read with `case`);
    otherwise StaleCase. Closing sets `closed_at`; reopening clears it.
    """
    expected_status = expected_status if expected_status is not None else case.status
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    reply = reply.strip()
    errors: dict[str, list[str]] = {}
    if status is not None and status not in CaseStatus.values:
        errors["status"] = [_("Choose one of the statuses in the list.")]
    if len(reply) > settings.TRUSTCENTER_MAX_MESSAGE_CHARS:
        errors["reply"] = [
            _("Use at most %(limit)s characters.") % {"limit": settings.TRUSTCENTER_MAX_MESSAGE_CHARS}
        ]
    if errors:
        raise ValidationError(errors)
    events: list[CaseEvent] = []
    now = timezone.now()
    with transaction.atomic():
        if status is not None and status != expected_status:
            events.append(
                _set_status(case=case, actor=actor, expected_status=expected_status, status=status, now=now)
            )
        if reply:
            message = CaseMessage.objects.create(
                case=case, author=MessageAuthor.STAFF, staff_user=actor, body=reply, created_at=now
            )
            _append_search_text(case=case, text=reply)
            events.append(
                CaseEvent.objects.create(
                    case=case,
                    actor=actor,
                    kind=CaseEventKind.REPLIED,
                    data={"message": message.pk},
                    created_at=now,
                )
            )
            _meet_clocks(
                case=case, kinds=[ClockKind.ACKNOWLEDGEMENT], actor=actor, action=MetAction.REPLY, at=now
            )
        if events:
            _enqueue_notice(case=case, template="news")
    return events


def delete_cases(*, case_ids) -> int:
    """Deletes cases with everything that belongs to them, their stored files included (once
    the deletion commits). Retention and erasure delete cases through here. Returns how many."""
    with transaction.atomic():
        names = list(
            Attachment.objects.filter(case_id__in=case_ids).exclude(file="").values_list("file", flat=True)
        )
        # The breach register keeps a breach as long as its case (PROTECT stops anything else).
        Breach.objects.filter(case_id__in=case_ids).delete()
        deleted = Case.objects.filter(pk__in=case_ids).delete()[1].get(Case._meta.label, 0)
        remove_files_on_commit(names=names)
    return deleted


def ensure_default_teams() -> dict[str, Team]:
    """The default teams and routing, made where missing (a fresh database, or one emptied by a
    test); what admins changed is left as it is. Returns the default teams by short name."""
    with transaction.atomic():
        teams = {
            slug: Team.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for slug, name in DEFAULT_TEAMS.items()
        }
        for case_type, slug in DEFAULT_ROUTING.items():
            CaseTypeRouting.objects.get_or_create(case_type=case_type, defaults={"team": teams[slug]})
    return teams


def add_to_teams(*, user, team_slugs, is_lead: bool = False) -> None:
    """Makes a staff member a member (or lead) of the named teams."""
    with transaction.atomic():
        for team in Team.objects.filter(slug__in=team_slugs):
            TeamMembership.objects.update_or_create(team=team, user=user, defaults={"is_lead": is_lead})


def postpone_deletion(*, case: Case, actor, until, reason: str) -> None:
    """Keeps one case past its retention until a day, with a reason, no later than the case
    type's rule allows; in the case's history and the audit trail."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    with transaction.atomic():
        retention_services.postpone(record=case, until=until, reason=reason, actor=actor)
        CaseEvent.objects.create(
            case=case, actor=actor, kind=CaseEventKind.DELETION_POSTPONED, data={"until": until.isoformat()}
        )


class NotTeamLead(Exception):
    """Only a lead of the team that handles the case may exclude a handler from it."""


def exclude_handler(*, case: Case, actor, handler, reason: str) -> CaseExclusion:
    """A team lead excludes a handler with a conflict of interest from a case of the team
    (Directive 2019/1937 art. 9(1)(c)); the handler sees nothing of it from then on. Recorded in
    the case's history with who and when; the reason stays with the exclusion."""
    selectors.access_case(user=actor, case_id=case.pk)  # raises PermissionDenied
    handling_team = CaseTypeRouting.objects.filter(case_type=case.case_type).values("team_id")
    if not TeamMembership.objects.filter(team_id__in=handling_team, user=actor, is_lead=True).exists():
        raise NotTeamLead
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the handler must not see this case.")]})
    if handler == actor:
        raise ValidationError({"handler": [_("A team lead cannot exclude themselves; ask another lead.")]})
    with transaction.atomic():
        exclusion, _created = CaseExclusion.objects.get_or_create(
            case=case, user=handler, defaults={"excluded_by": actor, "reason": reason.strip()}
        )
        CaseEvent.objects.create(
            case=case, actor=actor, kind=CaseEventKind.HANDLER_EXCLUDED, data={"handler": handler.pk}
        )
    return exclusion


def open_case_with_code(*, typed_code: str, client_key) -> Case | None:
    """The case a receipt code opens, or None. Every attempt counts against the client before
    the code is checked (so parallel guesses cannot pass the limit); a right code gives its
    attempt back. Past the limit raises TooManyWrongCodes, whatever the code is this time."""
    attempt = _take_attempt(
        scope="receipt-code",
        client_key=client_key,
        window_seconds=settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS,
        limit=settings.TRUSTCENTER_FOLLOWUP_FAILURES,
        refusal=TooManyWrongCodes,
    )
    case = selectors.case_for_receipt_code(typed_code=typed_code)
    if case is not None:
        ratelimit.give_back(attempt)
    return case


class ConfirmationResult(Enum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY_TRIES = "too_many_tries"


def confirm_email_with_code(*, case: Case, code: str) -> ConfirmationResult:
    with transaction.atomic():
        # The case row, locked and read again: the link may have confirmed it since `case` was read.
        if Case.objects.select_for_update().filter(pk=case.pk, email_confirmed_at__isnull=False).exists():
            case.refresh_from_db(fields=["email_confirmed_at"])
            return ConfirmationResult.CONFIRMED
        confirmation = EmailConfirmation.objects.select_for_update().filter(case=case).first()
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
    now = timezone.now()
    # Conditional: a confirmation that came first keeps its time.
    with transaction.atomic():
        Case.objects.filter(pk=case.pk, email_confirmed_at__isnull=True).update(email_confirmed_at=now)
        case.refresh_from_db(fields=["email_confirmed_at"])
        confirmation.delete()
        if settings.TRUSTCENTER_SUBJECT_REQUEST_CLOCK_FROM == "confirmation":
            _start_clocks(case=case, now=now)


def resend_email_confirmation(*, case: Case) -> None:
    """A new confirmation code and link for the requester. Each new code brings three more
    tries: without a cap, tries could be renewed until a guess confirmed an address the
    requester does not control. Past the cap raises TooManyConfirmationCodes."""
    if case.case_type != CaseType.SUBJECT_REQUEST or case.email_confirmed_at:
        return
    _take_attempt(
        scope="new-confirmation-code",
        client_key=f"case-{case.pk}",
        window_seconds=NEW_CONFIRMATION_CODES_WINDOW_SECONDS,
        limit=NEW_CONFIRMATION_CODES_PER_WINDOW,
        refusal=TooManyConfirmationCodes,
    )
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


# --- Reminders ------------------------------------------------------------------------------------

AT_RISK = "at_risk"
BREACHED = "breached"
# A requester who has not confirmed the address a day after the request is reminded once.
CONFIRMATION_REMINDER_AFTER = timedelta(hours=24)


def send_clock_reminders(*, now: datetime | None = None) -> int:
    """Tells the case's team once when a running clock becomes at risk and once when it is
    breached: an e-mail to each member through the outbox, and a line in the case's history.
    Returns how many reminders this call sent.

    Each reminder is claimed by a conditional UPDATE of the clock in the transaction that saves
    its e-mails: of two runs at once, the second's UPDATE waits for the first's row lock and then
    finds the clock claimed, so it sends nothing. Each claim commits on its own, so a run that
    dies leaves the clocks it had not reached to the next run.
    """
    now = now or timezone.now()
    # A closed case is out of the queue: its team is not called back to it.
    running = CaseClock.objects.filter(met_at__isnull=True, dropped_at__isnull=True).exclude(
        case__status=CaseStatus.CLOSED
    )
    breached = running.filter(due_at__lte=now, breached_reminded_at__isnull=True)
    at_risk = running.filter(at_risk_at__lte=now, due_at__gt=now, at_risk_reminded_at__isnull=True)
    sent = 0
    for clock in breached.select_related("case"):
        sent += _remind_team(clock=clock, state=BREACHED, now=now)
    for clock in at_risk.select_related("case"):
        sent += _remind_team(clock=clock, state=AT_RISK, now=now)
    return sent


def _claim_reminder(*, clock_id: int, state: str, now: datetime) -> bool:
    # The conditions are read again in the UPDATE itself: the clock may have been met, or
    # claimed by another run, since it was listed.
    running = CaseClock.objects.filter(pk=clock_id, met_at__isnull=True, dropped_at__isnull=True)
    if state == AT_RISK:
        at_risk = running.filter(at_risk_at__lte=now, due_at__gt=now, at_risk_reminded_at__isnull=True)
        return at_risk.update(at_risk_reminded_at=now) == 1
    breached = running.filter(due_at__lte=now, breached_reminded_at__isnull=True)
    if breached.update(breached_reminded_at=now) == 0:
        return False
    # A clock first seen breached is past being at risk: marked so that it never gets that one.
    running.filter(at_risk_reminded_at__isnull=True).update(at_risk_reminded_at=now)
    return True


def _remind_team(*, clock: CaseClock, state: str, now: datetime) -> int:
    with transaction.atomic():
        if not _claim_reminder(clock_id=clock.pk, state=state, now=now):
            return 0
        case = clock.case
        CaseEvent.objects.create(
            case=case,
            kind=CaseEventKind.REMINDER_SENT,
            data={"clock": clock.kind, "state": state},
            created_at=now,
        )
        subject, body = _clock_reminder_email(clock=clock, state=state)
        for address in _team_addresses(case=case):
            enqueue_email(recipient=address, subject=subject, body=body, concerns=case)
    return 1


def _team_addresses(*, case: Case) -> list[str]:
    """The addresses of the handlers who can see the case: not those excluded from it, nor team
    members without the right to read cases; even its reference is not for them."""
    team = selectors.handlers_of_case(case=case).exclude(email="")
    return list(dict.fromkeys(team.values_list("email", flat=True)))


def _clock_reminder_email(*, clock: CaseClock, state: str) -> tuple[str, str]:
    """Subject and body: the reference, the clock, when it is due and a link; nothing of the
    report, which staff read behind the workspace's login. Staff have no language of their own
    yet, so the site's."""
    case = clock.case
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "breached": state == BREACHED,
            "reference": case.reference,
            "clock": clock.get_kind_display(),
            "due": timezone.localtime(clock.due_at, ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M"),
            "time_zone": settings.TIME_ZONE,
            "case_url": settings.TRUSTCENTER_SITE_URL + reverse("staff:case", args=[case.pk]),
        }
        subject = render_to_string("cases/email/clock_reminder_subject.txt", context).strip()
        body = render_to_string("cases/email/clock_reminder_body.txt", context)
    return subject, body


def remind_unconfirmed_requesters(*, now: datetime | None = None) -> int:
    """Sends a requester who has not confirmed their e-mail address a day after the request one
    reminder, with a new code and link. Returns how many were reminded.

    Claimed by a conditional UPDATE of `reminded_at` in the transaction that saves the e-mail,
    so two runs at once remind once; a confirmation deletes the row, so a requester who
    confirmed meanwhile is not reminded.
    """
    now = now or timezone.now()
    waiting = (
        EmailConfirmation.objects.filter(
            reminded_at__isnull=True,
            case__case_type=CaseType.SUBJECT_REQUEST,
            case__email_confirmed_at__isnull=True,
            case__closed_at__isnull=True,
            case__received_at__lte=now - CONFIRMATION_REMINDER_AFTER,
        )
        .exclude(case__reporter_email="")
        .select_related("case")
    )
    reminded = 0
    for confirmation in waiting:
        with transaction.atomic():
            claimed = EmailConfirmation.objects.filter(pk=confirmation.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if claimed:
                _start_email_confirmation(case=confirmation.case, template="confirm_reminder")
                reminded += 1
    return reminded


# --- Legal clocks (DESIGN.md §1) ----------------------------------------------------------------

# DESIGN.md §1's defaults, as migration 0006 made them once; admins change them in the admin.
DEFAULT_CLOCK_POLICIES = [
    # case type, clock, length, unit, legal limit, extension
    (CaseType.SUBJECT_REQUEST, ClockKind.ANSWER, 30, "days", (1, "months"), (2, "months")),
    (CaseType.PRIVACY_DEVIATION, ClockKind.BREACH_NOTIFICATION, 72, "hours", None, None),
    (CaseType.SECURITY_INCIDENT, ClockKind.TRIAGE, 72, "hours", None, None),
    (CaseType.WHISTLEBLOWING, ClockKind.ACKNOWLEDGEMENT, 7, "days", None, None),
    (CaseType.WHISTLEBLOWING, ClockKind.FEEDBACK, 3, "months", None, None),
    (CaseType.HSE, ClockKind.ACKNOWLEDGEMENT, 7, "days", None, None),
    (CaseType.COMPLAINT, ClockKind.ANSWER, 30, "days", None, None),
    (CaseType.GENERAL_INQUIRY, ClockKind.ANSWER, 30, "days", None, None),
]
# Where a whistleblowing report came with no acknowledgement policy, the Directive's 7 days.
DEFAULT_ACKNOWLEDGEMENT = deadlines.Period(7, deadlines.Unit.DAYS)


def ensure_default_clock_policies() -> None:
    """Makes the default policies that are missing (for the demo data and the tests, whose
    transactional runs empty the tables that migration 0006 filled)."""
    for case_type, kind, length, unit, limit, extension in DEFAULT_CLOCK_POLICIES:
        ClockPolicy.objects.get_or_create(
            case_type=case_type,
            kind=kind,
            defaults={
                "length": length,
                "unit": unit,
                "limit_length": limit[0] if limit else None,
                "limit_unit": limit[1] if limit else "",
                "extension_length": extension[0] if extension else None,
                "extension_unit": extension[1] if extension else "",
            },
        )


def _period(length: int, unit: str) -> deadlines.Period:
    return deadlines.Period(length, deadlines.Unit(unit))


def _counting() -> dict:
    return {"country": settings.TRUSTCENTER_CONTROLLER_COUNTRY, "zone": ZoneInfo(settings.TIME_ZONE)}


def _policy_for(*, case: Case, kind: str) -> ClockPolicy | None:
    """The case type's policy for a clock; for a clock added to a case of another type (the
    breach clock on a whistleblowing report), the policy of the type that owns that clock."""
    policies = ClockPolicy.objects.filter(kind=kind, is_active=True)
    return policies.filter(case_type=case.case_type).first() or policies.order_by("pk").first()


def _feedback_due(*, case: Case, policy: ClockPolicy, acknowledged_at) -> datetime:
    acknowledgement = ClockPolicy.objects.filter(
        case_type=case.case_type, kind=ClockKind.ACKNOWLEDGEMENT, is_active=True
    ).first()
    return deadlines.whistleblowing_feedback_due(
        case.received_at,
        acknowledged=acknowledged_at,
        acknowledge_within=(
            _period(acknowledgement.length, acknowledgement.unit)
            if acknowledgement
            else DEFAULT_ACKNOWLEDGEMENT
        ),
        feedback_within=_period(policy.length, policy.unit),
        **_counting(),
    )


def _due(*, policy: ClockPolicy, starts_at) -> datetime:
    promise = _period(policy.length, policy.unit)
    if policy.limit_length and policy.limit_unit:
        return deadlines.subject_request_due(
            starts_at, promise=promise, limit=_period(policy.limit_length, policy.limit_unit), **_counting()
        )
    return deadlines.period_end(starts_at, promise, **_counting())


def _new_clock(*, case: Case, policy: ClockPolicy, starts_at, added_by=None) -> CaseClock:
    if policy.kind == ClockKind.FEEDBACK:
        due = _feedback_due(case=case, policy=policy, acknowledged_at=None)
    else:
        due = _due(policy=policy, starts_at=starts_at)
    return CaseClock(
        case=case,
        kind=policy.kind,
        starts_at=starts_at,
        due_at=due,
        at_risk_at=deadlines.at_risk_from(
            starts_at, due, share_percent=policy.at_risk_percent, max_hours=policy.at_risk_max_hours
        ),
        added_by=added_by,
    )


def _refresh_next_due(*, case: Case) -> None:
    nearest = (
        CaseClock.objects.filter(case=case, met_at__isnull=True, dropped_at__isnull=True)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    Case.objects.filter(pk=case.pk).update(next_due_at=nearest)
    case.next_due_at = nearest


def _start_clocks(*, case: Case, actor=None, now) -> list[CaseClock]:
    """The clocks of the case's type that it does not run yet, from receipt (the breach clock
    from awareness, which is receipt until staff record otherwise)."""
    running = set(case.clocks.filter(dropped_at__isnull=True).values_list("kind", flat=True))
    started = []
    for policy in ClockPolicy.objects.filter(case_type=case.case_type, is_active=True):
        if policy.kind in running:
            continue
        starts_at = case.received_at
        if case.case_type == CaseType.SUBJECT_REQUEST and policy.kind == ClockKind.ANSWER:
            if settings.TRUSTCENTER_SUBJECT_REQUEST_CLOCK_FROM == "confirmation":
                if case.email_confirmed_at is None:
                    continue
                starts_at = case.email_confirmed_at
        if policy.kind == ClockKind.BREACH_NOTIFICATION:
            breach, _created = Breach.objects.get_or_create(
                case=case, defaults={"aware_at": case.received_at}
            )
            starts_at = breach.aware_at
        clock = _new_clock(case=case, policy=policy, starts_at=starts_at)
        clock.save()
        started.append(clock)
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.CLOCK_STARTED,
            data={"clock": policy.kind},
            created_at=now,
        )
    if started:
        _refresh_next_due(case=case)
    return started


def _meet_clocks(
    *, case: Case, kinds, actor, action: MetAction, at, late_reasons: str = ""
) -> list[CaseClock]:
    """Meets the case's running clocks of these kinds, each with a line in the history."""
    met = list(
        case.clocks.select_for_update().filter(kind__in=kinds, met_at__isnull=True, dropped_at__isnull=True)
    )
    for clock in met:
        clock.met_at, clock.met_by, clock.met_action, clock.late_reasons = at, actor, action, late_reasons
        clock.save(update_fields=["met_at", "met_by", "met_action", "late_reasons"])
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.CLOCK_MET,
            data={"clock": clock.kind, "by": action, "late": at > clock.due_at},
            created_at=timezone.now(),
        )
        if clock.kind == ClockKind.ACKNOWLEDGEMENT:
            _reschedule_feedback(case=case, acknowledged_at=at)
    if met:
        _refresh_next_due(case=case)
    return met


def _reschedule_feedback(*, case: Case, acknowledged_at) -> None:
    # Feedback is due 3 months from the acknowledgement, or from the end of the 7 days if none
    # was sent: the earlier of the two once it is known (deadlines.whistleblowing_feedback_due).
    for clock in case.clocks.filter(kind=ClockKind.FEEDBACK, met_at__isnull=True, dropped_at__isnull=True):
        policy = _policy_for(case=case, kind=ClockKind.FEEDBACK)
        if policy is None:
            continue
        clock.due_at = _feedback_due(case=case, policy=policy, acknowledged_at=acknowledged_at)
        clock.at_risk_at = deadlines.at_risk_from(
            clock.starts_at,
            clock.due_at,
            share_percent=policy.at_risk_percent,
            max_hours=policy.at_risk_max_hours,
        )
        clock.save(update_fields=["due_at", "at_risk_at"])


def add_clock(*, case: Case, actor, kind: str, starts_at) -> CaseClock:
    """A clock of another type on this case, without moving it to another team: a whistleblowing
    report that reveals a personal-data breach gets the 72-hour clock from the recorded moment
    of awareness."""
    selectors.access_case(user=actor, case_id=case.pk)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    policy = _policy_for(case=case, kind=kind) if kind in ClockKind.values else None
    if policy is None:
        errors["kind"] = [_("Choose one of the clocks in the list.")]
    if starts_at is None or starts_at > now:
        errors["starts_at"] = [_("Give a moment that has passed.")]
    elif starts_at < case.received_at - timedelta(days=365 * 5):
        errors["starts_at"] = [_("Give the moment the team became aware of it.")]
    if not errors and case.clocks.filter(kind=kind, dropped_at__isnull=True).exists():
        errors["kind"] = [_("The case already runs this clock.")]
    if errors:
        raise ValidationError(errors)
    assert policy is not None
    with transaction.atomic():
        if kind == ClockKind.BREACH_NOTIFICATION:
            Breach.objects.update_or_create(case=case, defaults={"aware_at": starts_at})
        clock = _new_clock(case=case, policy=policy, starts_at=starts_at, added_by=actor)
        clock.save()
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.CLOCK_STARTED,
            data={"clock": kind, "added": True},
            created_at=now,
        )
        _refresh_next_due(case=case)
    return clock


class ExtensionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def extend_deadline(*, case: Case, actor, reason: str) -> CaseClock:
    """Extends a data-subject request's answer once (art. 12(3)), with a reason, while its first
    period runs; the requester is told by e-mail, and sees the reason at follow-up."""
    selectors.access_case(user=actor, case_id=case.pk)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for the extension: the requester is told it.")]})
    now = timezone.now()
    with transaction.atomic():
        clock = (
            case.clocks.select_for_update()
            .filter(kind=ClockKind.ANSWER, met_at__isnull=True, dropped_at__isnull=True)
            .first()
        )
        policy = _policy_for(case=case, kind=ClockKind.ANSWER)
        if clock is None or policy is None or not (policy.extension_length and policy.limit_length):
            raise ExtensionRefused(_("This case has no answer deadline that can be extended."))
        if clock.extended_at is not None:
            raise ExtensionRefused(_("The deadline was extended already; it can be extended only once."))
        if now >= clock.due_at:
            raise ExtensionRefused(
                _(
                    "The first deadline has passed: an extension must be told to the requester before it runs out."
                )
            )
        clock.first_due_at = clock.due_at
        clock.due_at = deadlines.extended_subject_request_due(
            clock.starts_at,
            limit=_period(policy.limit_length, policy.limit_unit),
            extension=_period(policy.extension_length, policy.extension_unit),
            **_counting(),
        )
        clock.at_risk_at = deadlines.at_risk_from(
            clock.starts_at,
            clock.due_at,
            share_percent=policy.at_risk_percent,
            max_hours=policy.at_risk_max_hours,
        )
        clock.extended_at, clock.extension_reason = now, reason
        # At risk again, later: the team is told again when the new deadline comes near.
        clock.at_risk_reminded_at = None
        clock.save()
        _refresh_next_due(case=case)
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.CLOCK_EXTENDED,
            data={
                "clock": clock.kind,
                "from": clock.first_due_at.isoformat(),
                "to": clock.due_at.isoformat(),
            },
            created_at=now,
        )
        if case.reporter_email and not case.is_anonymous:
            with translation.override(case.language):
                context = {
                    "due": clock.last_day,
                    "followup_url": _followup_url(case.language),
                    "reference": case.reference,
                }
                subject = render_to_string("cases/email/extended_subject.txt", context).strip()
                body = render_to_string("cases/email/extended_body.txt", context)
            enqueue_email(recipient=case.reporter_email, subject=subject, body=body, concerns=case)
    return clock


# --- The staff workspace's actions ----------------------------------------------------------------


def _append_search_text(*, case: Case, text: str) -> None:
    Case.objects.filter(pk=case.pk).update(search_document=Concat(F("search_document"), Value("\n" + text)))


def _check_staff_text(text: str, *, field: str, required: bool = True) -> str:
    text = text.strip()
    if required and not text:
        raise ValidationError({field: [_("Write the message.")]})
    if len(text) > settings.TRUSTCENTER_MAX_MESSAGE_CHARS:
        raise ValidationError(
            {
                field: [
                    _("Use at most %(limit)s characters.") % {"limit": settings.TRUSTCENTER_MAX_MESSAGE_CHARS}
                ]
            }
        )
    return text


def _staff_message(
    *, case: Case, actor, body: str, uploads, is_internal: bool, is_answer=False, is_feedback=False
):
    verify_uploads(list(uploads))
    now = timezone.now()
    with written_files_removed_on_error() as written, transaction.atomic():
        message = CaseMessage.objects.create(
            case=case,
            author=MessageAuthor.STAFF,
            staff_user=actor,
            body=body,
            created_at=now,
            is_internal=is_internal,
            is_answer=is_answer,
            is_feedback=is_feedback,
        )
        _save_attachments(case=case, message=message, uploads=list(uploads), written=written)
        _append_search_text(case=case, text=body)
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.NOTE_ADDED if is_internal else CaseEventKind.REPLIED,
            data={"message": message.pk},
            created_at=now,
        )
        if not is_internal:
            kinds = [ClockKind.ACKNOWLEDGEMENT]
            if is_answer:
                kinds.append(ClockKind.ANSWER)
            if is_feedback:
                kinds.append(ClockKind.FEEDBACK)
            action = MetAction.ANSWER if is_answer else MetAction.FEEDBACK if is_feedback else MetAction.REPLY
            _meet_clocks(case=case, kinds=kinds, actor=actor, action=action, at=now)
            if case.status == CaseStatus.RECEIVED:
                _set_status(
                    case=case, actor=actor, expected_status=CaseStatus.RECEIVED, status=CaseStatus.IN_PROGRESS
                )
            _enqueue_notice(case=case, template="news")
    return message


def reply_to_reporter(
    *, case: Case, actor, body: str, uploads=(), is_answer: bool = False, is_feedback: bool = False
) -> CaseMessage:
    """A reply the reporter reads at follow-up, with the "there is news" notice. The first reply
    acknowledges; one marked as the answer meets the answer clock, one marked as feedback the
    whistleblowing feedback clock."""
    selectors.access_case(user=actor, case_id=case.pk)
    body = _check_staff_text(body, field="body")
    return _staff_message(
        case=case,
        actor=actor,
        body=body,
        uploads=uploads,
        is_internal=False,
        is_answer=is_answer,
        is_feedback=is_feedback,
    )


def add_internal_note(*, case: Case, actor, body: str, uploads=()) -> CaseMessage:
    """A note for the team: the reporter never sees it, and it sends nothing."""
    selectors.access_case(user=actor, case_id=case.pk)
    body = _check_staff_text(body, field="body")
    return _staff_message(case=case, actor=actor, body=body, uploads=uploads, is_internal=True)


def assign_case(*, case: Case, actor, assignee) -> None:
    """Gives the case to a handler who can see it (or to no one)."""
    selectors.access_case(user=actor, case_id=case.pk)
    if assignee is not None and not selectors.visible_cases(user=assignee).filter(pk=case.pk).exists():
        raise ValidationError({"assignee": [_("Choose a handler of the team that handles this case.")]})
    previous = case.assignee_id
    new = assignee.pk if assignee is not None else None
    if previous == new:
        return
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(assignee=assignee)
        case.assignee = assignee
        audit.record_update(instance=case, previous={"assignee_id": previous}, actor=actor)
        CaseEvent.objects.create(
            case=case, actor=actor, kind=CaseEventKind.ASSIGNED, data={"from": previous, "to": new}
        )


def _set_status(
    *, case: Case, actor, expected_status: str, status: str, outcome: str = "", now: datetime | None = None
) -> CaseEvent:
    now = now or timezone.now()
    closing = status == CaseStatus.CLOSED
    changed = Case.objects.filter(pk=case.pk, status=expected_status).update(
        status=status, closed_at=now if closing else None, outcome=outcome if closing else ""
    )
    if not changed:
        raise StaleCase
    previous = {"status": expected_status, "closed_at": case.closed_at, "outcome": case.outcome}
    case.status, case.closed_at, case.outcome = status, now if closing else None, outcome if closing else ""
    audit.record_update(instance=case, previous=previous, actor=actor)
    data = {"from": expected_status, "to": status}
    if closing:
        data["outcome"] = outcome
    return CaseEvent.objects.create(
        case=case, actor=actor, kind=CaseEventKind.STATUS_CHANGED, data=data, created_at=now
    )


def change_status(
    *, case: Case, actor, status: str, expected_status: str | None = None, outcome: str = ""
) -> None:
    """A new status, if it is still the one the staff member saw (else StaleCase). Closing needs
    an outcome; closing as answered meets the answer clock. Reopening clears the outcome."""
    selectors.access_case(user=actor, case_id=case.pk)
    expected_status = expected_status if expected_status is not None else case.status
    if status not in CaseStatus.values:
        raise ValidationError({"status": [_("Choose one of the statuses in the list.")]})
    if status == CaseStatus.CLOSED and outcome not in CaseOutcome.values:
        raise ValidationError({"outcome": [_("Choose the outcome the case is closed with.")]})
    if status == expected_status:
        return
    with transaction.atomic():
        _set_status(case=case, actor=actor, expected_status=expected_status, status=status, outcome=outcome)
        if status == CaseStatus.CLOSED and outcome == CaseOutcome.ANSWERED:
            _meet_clocks(
                case=case,
                kinds=[ClockKind.ANSWER],
                actor=actor,
                action=MetAction.CLOSED_ANSWERED,
                at=timezone.now(),
            )
        _enqueue_notice(case=case, template="news")


def reclassify_case(*, case: Case, actor, case_type: str) -> None:
    """Moves the case to another type (and so, perhaps, to another team). It gets the clocks of
    its new type, counted from receipt; the clocks of its former type that were not met, and
    were not added by hand, are dropped, and stay in its history."""
    selectors.access_case(user=actor, case_id=case.pk)
    if case_type not in CaseType.values:
        raise ValidationError({"case_type": [_("Choose one of the types in the list.")]})
    if case_type == case.case_type:
        return
    now = timezone.now()
    new_kinds = set(
        ClockPolicy.objects.filter(case_type=case_type, is_active=True).values_list("kind", flat=True)
    )
    with transaction.atomic():
        previous = case.case_type
        Case.objects.filter(pk=case.pk).update(case_type=case_type)
        case.case_type = case_type
        audit.record_update(instance=case, previous={"case_type": previous}, actor=actor)
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.RECLASSIFIED,
            data={"from": previous, "to": case_type},
            created_at=now,
        )
        for clock in case.clocks.filter(met_at__isnull=True, dropped_at__isnull=True, added_by__isnull=True):
            if clock.kind not in new_kinds:
                clock.dropped_at = now
                clock.save(update_fields=["dropped_at"])
                CaseEvent.objects.create(
                    case=case,
                    actor=actor,
                    kind=CaseEventKind.CLOCK_DROPPED,
                    data={"clock": clock.kind},
                    created_at=now,
                )
        _start_clocks(case=case, actor=actor, now=now)
        _refresh_next_due(case=case)


def record_triage(*, case: Case, actor, severity: str, note: str) -> None:
    """The security team's triage: a severity and what was found, which meets the triage clock."""
    selectors.access_case(user=actor, case_id=case.pk)
    if severity not in Severity.values:
        raise ValidationError({"severity": [_("Choose one of the severities in the list.")]})
    note = _check_staff_text(note, field="note")
    now = timezone.now()
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(severity=severity)
        previous_severity, case.severity = case.severity, severity
        audit.record_update(instance=case, previous={"severity": previous_severity}, actor=actor)
        message = CaseMessage.objects.create(
            case=case,
            author=MessageAuthor.STAFF,
            staff_user=actor,
            body=note,
            created_at=now,
            is_internal=True,
        )
        _append_search_text(case=case, text=note)
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.TRIAGE_RECORDED,
            data={"severity": severity, "message": message.pk},
            created_at=now,
        )
        _meet_clocks(case=case, kinds=[ClockKind.TRIAGE], actor=actor, action=MetAction.TRIAGE, at=now)


# --- Breaches (art. 33, 34) ---------------------------------------------------------------------

# The largest number PostgreSQL's integer column (Breach.subjects_affected) holds.
MAX_SUBJECTS_AFFECTED = 2_147_483_647


def _locked_breach(*, case: Case) -> Breach:
    """The case's breach record, locked so that two handlers' changes do not cross. Only a case
    that got the breach clock has one (services start it: _start_clocks, add_clock)."""
    breach = Breach.objects.select_for_update().filter(case=case).first()
    if breach is None:
        raise ValidationError(
            {NON_FIELD_ERRORS: [_("This case has no breach record: give it the breach clock first.")]}
        )
    return breach


def _checked_breach_text(text: str, *, field: str, errors: dict, required_message: str = "") -> str:
    """A text of the breach record, stripped and within the limit; the refusal goes into `errors`
    so that a form shows every field's at once."""
    try:
        text = _check_staff_text(text or "", field=field, required=False)
    except ValidationError as error:
        errors.update(error.message_dict)
        return ""
    if required_message and not text:
        errors[field] = [required_message]
    return text


def update_breach_facts(
    *,
    case: Case,
    actor,
    nature: str,
    data_categories: str,
    subjects_affected,
    effects: str,
    remedial_action: str,
) -> Breach:
    """The facts of the breach as they become known: what happened, whose data, the likely
    consequences and the measures taken, which the register must document (art. 33(5))."""
    selectors.access_case(user=actor, case_id=case.pk)
    errors: dict[str, list[str]] = {}
    facts = {
        "nature": _checked_breach_text(nature, field="nature", errors=errors),
        "data_categories": _checked_breach_text(data_categories, field="data_categories", errors=errors),
        "subjects_affected": subjects_affected,
        "effects": _checked_breach_text(effects, field="effects", errors=errors),
        "remedial_action": _checked_breach_text(remedial_action, field="remedial_action", errors=errors),
    }
    if subjects_affected is not None and (
        not isinstance(subjects_affected, int) or not 0 <= subjects_affected <= MAX_SUBJECTS_AFFECTED
    ):
        errors["subjects_affected"] = [_("Give a number of people, or leave it empty if it is not known.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        breach = _locked_breach(case=case)
        changed = [name for name, value in facts.items() if getattr(breach, name) != value]
        if not changed:
            return breach
        for name in changed:
            setattr(breach, name, facts[name])
        breach.save(update_fields=[*changed, "updated_at"])
        # The names of the facts that changed, never their text: it may name people.
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.BREACH_DECISION,
            data={"facts": changed},
            created_at=timezone.now(),
        )
    return breach


def decide_breach(*, case: Case, actor, decision: str, reasons_not_to_notify: str = "") -> Breach:
    """Whether to notify the supervisory authority. Not notifying needs the reasons the breach is
    unlikely to result in a risk, and recording them meets the 72-hour clock (art. 33(1), 33(5));
    a decision to notify is met by the notification itself (record_breach_notification)."""
    selectors.access_case(user=actor, case_id=case.pk)
    errors: dict[str, list[str]] = {}
    if decision not in (BreachDecision.NOTIFY, BreachDecision.NOT_NOTIFY):
        errors["decision"] = [_("Choose whether to notify the supervisory authority.")]
    reasons = _checked_breach_text(
        reasons_not_to_notify,
        field="reasons_not_to_notify",
        errors=errors,
        required_message=(
            _("Give the reasons the breach is unlikely to result in a risk to people's rights and freedoms.")
            if decision == BreachDecision.NOT_NOTIFY
            else ""
        ),
    )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        breach = _locked_breach(case=case)
        if decision == BreachDecision.NOT_NOTIFY and breach.notifications.exists():
            raise ValidationError({"decision": [_("The supervisory authority has been notified already.")]})
        breach.decision, breach.decided_at = decision, now
        # A decision to notify keeps the reasons of an earlier one not to: the register documents
        # what was thought at the time (art. 33(5)).
        if decision == BreachDecision.NOT_NOTIFY:
            breach.reasons_not_to_notify = reasons
        breach.save(update_fields=["decision", "decided_at", "reasons_not_to_notify", "updated_at"])
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.BREACH_DECISION,
            data={"decision": decision},
            created_at=now,
        )
        if decision == BreachDecision.NOT_NOTIFY:
            _meet_clocks(
                case=case,
                kinds=[ClockKind.BREACH_NOTIFICATION],
                actor=actor,
                action=MetAction.DECIDED_NOT_TO_NOTIFY,
                at=now,
            )
    return breach


def record_breach_notification(
    *,
    case: Case,
    actor,
    authority: str,
    notified_at,
    authority_reference: str = "",
    summary: str = "",
    delay_reasons: str = "",
) -> BreachNotification:
    """A notification to a supervisory authority, or a further phase of one as the facts become
    known (art. 33(4)). The first meets the 72-hour clock at the moment it was made, and, made
    after the clock's end, must give the reasons for the delay (art. 33(1)). Later phases come
    after the first by nature, so they need none."""
    selectors.access_case(user=actor, case_id=case.pk)
    errors: dict[str, list[str]] = {}
    if authority not in Authority.values:
        errors["authority"] = [_("Choose one of the authorities in the list.")]
    authority_reference = _checked_breach_text(
        authority_reference, field="authority_reference", errors=errors
    )
    reference_limit = BreachNotification._meta.get_field("authority_reference").max_length or 0
    if len(authority_reference) > reference_limit:
        errors["authority_reference"] = [_("Use at most %(limit)s characters.") % {"limit": reference_limit}]
    summary = _checked_breach_text(summary, field="summary", errors=errors)
    now = timezone.now()
    with transaction.atomic():
        breach = _locked_breach(case=case)
        clock = case.clocks.filter(kind=ClockKind.BREACH_NOTIFICATION, dropped_at__isnull=True).first()
        phase = breach.notifications.count() + 1
        if notified_at is None or notified_at > now:
            errors["notified_at"] = [_("Give a moment that has passed.")]
        elif notified_at < breach.aware_at:
            errors["notified_at"] = [_("Give a moment after the team became aware of the breach.")]
        late = phase == 1 and clock is not None and notified_at is not None and notified_at > clock.due_at
        delay_reasons = _checked_breach_text(
            delay_reasons,
            field="delay_reasons",
            errors=errors,
            required_message=(
                _("The notification came more than 72 hours after awareness: give the reasons for the delay.")
                if late
                else ""
            ),
        )
        if errors:
            raise ValidationError(errors)
        notification = BreachNotification.objects.create(
            breach=breach,
            authority=authority,
            notified_at=notified_at,
            authority_reference=authority_reference,
            summary=summary,
            delay_reasons=delay_reasons,
            recorded_by=actor,
        )
        # A notification made is a decision to notify, whatever was recorded before it.
        if breach.decision != BreachDecision.NOTIFY:
            breach.decision, breach.decided_at = BreachDecision.NOTIFY, notified_at
            breach.save(update_fields=["decision", "decided_at", "updated_at"])
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.BREACH_NOTIFIED,
            data={"authority": authority, "phase": phase, "late": late},
            created_at=now,
        )
        if phase == 1:
            _meet_clocks(
                case=case,
                kinds=[ClockKind.BREACH_NOTIFICATION],
                actor=actor,
                action=MetAction.NOTIFIED_AUTHORITY,
                at=notified_at,
                late_reasons=delay_reasons,
            )
    return notification


def record_subjects_informed(*, case: Case, actor, informed: bool, reason: str = "") -> Breach:
    """Whether the data subjects were told of the breach (art. 34(1)), or why not: the risk to
    them is not high, or one of art. 34(3)'s exceptions applies."""
    selectors.access_case(user=actor, case_id=case.pk)
    errors: dict[str, list[str]] = {}
    reason = _checked_breach_text(
        reason,
        field="reason",
        errors=errors,
        required_message="" if informed else _("Give the reason the data subjects were not told."),
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        breach = _locked_breach(case=case)
        breach.subjects_informed = SubjectsInformed.INFORMED if informed else SubjectsInformed.NOT_INFORMED
        breach.subjects_not_informed_reason = "" if informed else reason
        breach.save(update_fields=["subjects_informed", "subjects_not_informed_reason", "updated_at"])
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            kind=CaseEventKind.SUBJECTS_INFORMED,
            data={"informed": bool(informed)},
            created_at=timezone.now(),
        )
    return breach
