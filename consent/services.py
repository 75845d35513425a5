"""Consent: purposes and their wording, and the ledger (issue 12). Each change is one function
with keyword-only arguments and one transaction."""

import logging
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.uploads import Upload, verify_uploads
from registers.marks import is_suppressed
from registers.models import RecruitmentEntry
from registers.registry import identity_digests, normalise_email
from trustcenter import ratelimit
from trustcenter.files import remove_files_on_commit, written_files_removed_on_error
from trustcenter.services import enqueue_email
from trustcenter.tokens import new_token, token_digest

from . import chain, selectors, states
from .models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentPurpose,
    ConsentSeal,
    ConsentState,
    ConsentSubject,
    Purpose,
    PurposeVersion,
    PurposeWording,
    RenewalRequest,
    SelfServiceLink,
    SignUp,
    SignUpKind,
)

logger = logging.getLogger(__name__)


def next_version_number(*, purpose: ConsentPurpose) -> int:
    """The next version's number, with the purpose locked until the caller's transaction ends:
    two publishers at once get consecutive numbers, never the same one."""
    ConsentPurpose.objects.select_for_update().get(pk=purpose.pk)
    return (purpose.versions.aggregate(last=Max("number"))["last"] or 0) + 1


def publish_version(*, purpose: ConsentPurpose, wordings: dict[str, tuple[str, str]]) -> PurposeVersion:
    """Publishes the next version of a purpose's wording: `wordings` maps a language to its
    (title, text). Earlier versions stay as they were, so what an earlier consent agreed to
    never changes."""
    known = {code for code, _name in settings.LANGUAGES}
    if not wordings:
        raise ValidationError(_("A version needs its wording in at least one language."))
    for language, (title, text) in wordings.items():
        if language not in known:
            raise ValidationError(_("%(language)s is not a language of this site.") % {"language": language})
        if not title.strip() or not text.strip():
            raise ValidationError(_("Each language needs a title and a text."))
    with transaction.atomic():
        version = PurposeVersion.objects.create(purpose=purpose, number=next_version_number(purpose=purpose))
        PurposeWording.objects.bulk_create(
            PurposeWording(version=version, language=language, title=title.strip(), text=text.strip())
            for language, (title, text) in wordings.items()
        )
    return version


# The ledger. An append as one statement (PostgreSQL, an event that happens now) writes its event
# and the subject's state and waits for no other such append: it holds the ledger's lock shared.
# What reads a state to write it (the Python path: imports, replays), a rebuild of the states and
# the sealer's glance at what has committed take the lock whole. The hash chain is written after
# the events commit, by seal_ledger.
LEDGER_LOCK = 7_301_512  # the advisory locks' number, the ledger's own


def _advisory_lock(sql: str, *arguments) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, arguments)
    # SQLite: the project's IMMEDIATE transactions already write one at a time.


def _hold_the_ledger() -> None:
    """Until the commit, no append is under way and none starts."""
    _advisory_lock("SELECT pg_advisory_xact_lock(%s)", LEDGER_LOCK)


def _newest_committed_event() -> int | None:
    """The id of the newest event, read while no append is under way: every event with a smaller
    id has committed (or was rolled back), none is still to come. The ledger's lock is held only
    for that read, even inside a longer transaction."""
    newest = ConsentEvent.objects.order_by("-id").values_list("id", flat=True)
    if connection.vendor != "postgresql":
        return newest.first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LEDGER_LOCK])
        try:
            return newest.first()  # a statement of its own: it sees what committed while waiting
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LEDGER_LOCK])


class NoWording(Exception):
    """The purpose has no published version to agree to."""


class Suppressed(Exception):
    """The address is on the suppression list (erased, or objected to direct marketing): a
    consent from another system, an import or staff does not add it again (art. 21(3))."""


def record_consent(
    *,
    purpose: ConsentPurpose,
    action: str,
    channel: str,
    email: str | None = None,
    subject: ConsentSubject | None = None,
    actor=None,
    occurred_at: datetime | None = None,
    language: str = "",
) -> ConsentEvent:
    """Appends a give or a withdrawal to the ledger, under the purpose's current wording, and
    updates the subject's current state in the same transaction. The subject is the one the
    address names (made on first sight), or `subject` (a cookie choice's random identifier).
    `occurred_at` is for imports of earlier consents; it defaults to now. `language`, where the
    person chose one (the page they used), is what they are written to in from then on. A give
    for a suppressed address that does not come from the person on the portal raises Suppressed.

    A withdrawal that leaves no standing consent purges, once committed, what that consent kept
    (retention.services.consent_withdrawn: a recruitment-database entry at once)."""
    if (email is None) == (subject is None):
        raise TypeError("record_consent needs an address or a subject, not both")
    address = None
    if email is not None:
        address = normalise_email(email)
        validate_email(address)
    # Only the person themselves (on the portal's pages) may give it again once suppressed: a
    # give from elsewhere is refused if one of the address's keyed hashes is on the list.
    refused = None
    if address is not None and action == ConsentAction.GIVE and channel != Channel.WEB:
        refused = identity_digests(address)
    event = None
    if occurred_at is None and connection.vendor == "postgresql":
        event = _append_in_one_statement(
            purpose=purpose,
            action=action,
            channel=channel,
            address=address,
            subject=subject,
            actor=actor,
            language=language,
            refused=refused,
        )
        standing = action == ConsentAction.GIVE  # the newest event decides the state
    if event is None:
        if refused and address is not None and is_suppressed(address):
            raise Suppressed
        event, standing = _append_in_python(
            purpose=purpose,
            action=action,
            channel=channel,
            address=address,
            subject=subject,
            actor=actor,
            occurred_at=occurred_at,
            language=language,
        )
    if address and action == ConsentAction.WITHDRAW and not standing:
        transaction.on_commit(partial(_consent_withdrawn, email=address, purpose=purpose.slug), robust=True)
    return event


def _append_in_python(
    *, purpose, action, channel, address, subject, actor, occurred_at, language
) -> tuple[ConsentEvent, bool]:
    """The append through the ORM (SQLite, imports of earlier events, a state ahead of the
    database's clock): the event, and whether the purpose's consent stands after it."""
    with transaction.atomic():
        # What needs no lock is read first: the lock is held until the commit.
        version = selectors.current_version(purpose=purpose)
        if version is None:
            raise NoWording(purpose.slug)
        if subject is None:
            subject, _created = ConsentSubject.objects.get_or_create(email=address)
        if language and subject.language != language:
            ConsentSubject.objects.filter(pk=subject.pk).update(language=language)
        _hold_the_ledger()
        event = ConsentEvent.objects.create(
            subject=subject,
            purpose=purpose,
            version=version,
            action=action,
            channel=channel,
            actor=actor,
            occurred_at=occurred_at or timezone.now(),
        )
        state = _update_state(event)
    return event, state.given_at is not None and state.withdrawn_at is None


# SQLSTATEs of consent_append (migration 0014).
NO_WORDING, STATE_AHEAD, SUPPRESSED = "TCN01", "TCN02", "TCN03"


def _append_in_one_statement(
    *, purpose, action, channel, address, subject, actor, language, refused
) -> ConsentEvent | None:
    """The append as one statement on PostgreSQL (the function `consent_append`: the locks, the
    event and the state), for an event that happens now. None where the state's last event is later than the database's clock (an
    import's): the caller takes the Python path, which replays."""
    arguments = [
        address,
        subject.pk if subject is not None else None,
        purpose.pk,
        action,
        channel,
        actor.pk if actor is not None else None,
        language,
        refused,
    ]
    try:
        # A savepoint only inside the caller's transaction, so that a refusal leaves it usable;
        # in autocommit the statement is its own transaction: one round trip.
        with (
            transaction.atomic() if connection.in_atomic_block else nullcontext(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT * FROM consent_append(%s, %s, %s, %s, %s, %s, %s, %s::text[])", arguments)
            row = cursor.fetchone()
    except DatabaseError as error:
        code = getattr(getattr(error, "__cause__", None), "pgcode", None)
        if code == NO_WORDING:
            raise NoWording(purpose.slug) from error
        if code == STATE_AHEAD:
            return None
        if code == SUPPRESSED:
            raise Suppressed from error
        raise
    event_id, subject_id, version_id, occurred = row
    event = ConsentEvent(
        id=event_id,
        subject_id=subject_id,
        purpose=purpose,
        version_id=version_id,
        action=action,
        channel=channel,
        actor=actor,
        occurred_at=occurred,
    )
    event._state.adding = False
    return event


# Sealing: each committed event gets its link in the chain (a ConsentSeal), in the order of the
# events' ids, so that the chain's order is the ledger's. Every event up to the newest sealed one
# is sealed; the sealer looks only above it, and only up to the newest event that had committed
# when it held the ledger's lock for a moment (no append under way, so no smaller id still to
# come). Between its append and its seal an event is in the ledger but not yet under the chain's
# protection: a minute at most (the beat task), none for an event whose digest is shown.
SEAL_BATCH = 5_000


def seal_ledger(*, batch: int = SEAL_BATCH) -> int:
    """Seals every event that had committed when it started, `batch` events a transaction;
    returns how many it sealed. On PostgreSQL each batch is one statement (the function
    `consent_seal`, migration 0015, in chain.py's canonical form, which verifies it)."""
    newest = _newest_committed_event()
    if newest is None:
        return 0
    sealed = 0
    while True:
        if connection.vendor == "postgresql":
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT consent_seal(%s, %s)", [newest, batch])
                count = cursor.fetchone()[0]
        else:
            count = _seal_in_python(newest=newest, batch=batch)
        sealed += count
        if count < batch:
            return sealed


def _seal_in_python(*, newest: int, batch: int) -> int:
    with transaction.atomic():
        last = ConsentSeal.objects.order_by("-event").values_list("event_id", "digest").first()
        after, previous = last or (0, chain.GENESIS)
        rows = (
            ConsentEvent.objects.filter(id__gt=after, id__lte=newest)
            .order_by("id")
            .values_list(
                "id",
                "subject_id",
                "purpose__slug",
                "version__number",
                "action",
                "channel",
                "occurred_at",
                "actor_id",
            )
        )
        now = timezone.now()
        seals = []
        for event_id, subject, purpose, version, action, channel, occurred_at, actor in rows[:batch]:
            fields = chain.chained_fields(
                subject=subject,
                purpose=purpose,
                version=version,
                action=action,
                channel=channel,
                occurred_at=occurred_at,
                actor=actor,
            )
            digest = chain.event_digest(previous=previous, fields=fields)
            seals.append(
                ConsentSeal(event_id=event_id, previous_digest=previous, digest=digest, sealed_at=now)
            )
            previous = digest
        ConsentSeal.objects.bulk_create(seals)
    return len(seals)


def seal_of(event: ConsentEvent) -> ConsentSeal:
    """The event's link in the chain, sealing what has committed first if it has none yet."""
    seal = ConsentSeal.objects.filter(event=event).first()
    if seal is None:
        seal_ledger()
        seal = ConsentSeal.objects.get(event=event)
    return seal


def _consent_withdrawn(*, email: str, purpose: str) -> None:
    from retention import services as retention_services  # retention reads consent's selectors

    retention_services.consent_withdrawn(email=email, purpose=purpose)


def _as_event(event: ConsentEvent) -> states.Event:
    return states.Event(event.pk, event.action, event.version_id, event.occurred_at)


def _update_state(event: ConsentEvent) -> states.State:
    """The subject's state for the event's purpose, after it (called under the ledger's lock).
    The latest event applies to the state as it is; an import of an earlier one replays the
    subject's events for the purpose in the order they happened."""
    row = (
        ConsentState.objects.filter(subject_id=event.subject_id, purpose_id=event.purpose_id)
        .values_list("version_id", "given_at", "withdrawn_at", "last_event_id", "last_event__occurred_at")
        .first()
    )
    new: states.State | None
    if row is None or states.order(_as_event(event)) >= (row[4], row[3]):
        new = states.apply(states.State(*row[:4]) if row else None, _as_event(event))
    else:
        events = ConsentEvent.objects.filter(subject_id=event.subject_id, purpose_id=event.purpose_id)
        new = states.replay(_as_event(each) for each in events)
    assert new is not None  # the event itself is one of them
    # One statement, no savepoint: INSERT ... ON CONFLICT (subject, purpose) DO UPDATE.
    ConsentState.objects.bulk_create(
        [ConsentState(subject_id=event.subject_id, purpose_id=event.purpose_id, **_columns(new))],
        update_conflicts=True,
        unique_fields=["subject", "purpose"],
        update_fields=["version", "given_at", "withdrawn_at", "last_event"],
    )
    return new


def _state_of(row: ConsentState) -> states.State:
    return states.State(row.version_id, row.given_at, row.withdrawn_at, row.last_event_id)


def _columns(state: states.State) -> dict:
    return {
        "version_id": state.version_id,
        "given_at": state.given_at,
        "withdrawn_at": state.withdrawn_at,
        "last_event_id": state.last_event_id,
    }


@dataclass
class StateDifferences:
    """What the state table held that the ledger does not say: keyed by (subject id, purpose slug)."""

    missing: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    different: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.different)


def _ledger_states() -> Iterator[tuple[tuple, states.State]]:
    rows = (
        ConsentEvent.objects.order_by("subject_id", "purpose_id", "occurred_at", "id")
        .values_list("subject_id", "purpose_id", "id", "action", "version_id", "occurred_at")
        .iterator(chunk_size=5000)
    )
    for key, group in groupby(rows, key=lambda row: (row[0], row[1])):
        state = states.replay(states.Event(r[2], r[3], r[4], r[5]) for r in group)
        assert state is not None
        yield key, state


def rebuild_consent_state(*, dry_run: bool = False) -> StateDifferences:
    """Replays the whole ledger and compares each subject's state per purpose with the table;
    puts right whatever differs (unless `dry_run`), and says what did."""
    slugs = dict(ConsentPurpose.objects.values_list("pk", "slug"))
    differences = StateDifferences()
    with transaction.atomic():
        _hold_the_ledger()  # no append between the replay and the repair
        table = {
            (row.subject_id, row.purpose_id): (row.pk, _state_of(row)) for row in ConsentState.objects.all()
        }
        for key, state in _ledger_states():
            named = (str(key[0]), slugs[key[1]])
            found = table.pop(key, None)
            if found is None:
                differences.missing.append(named)
                if not dry_run:
                    ConsentState.objects.create(subject_id=key[0], purpose_id=key[1], **_columns(state))
            elif found[1] != state:
                differences.different.append(named)
                if not dry_run:
                    ConsentState.objects.filter(pk=found[0]).update(**_columns(state))
        for key, (pk, _state) in table.items():
            differences.extra.append((str(key[0]), slugs[key[1]]))
            if not dry_run:
                ConsentState.objects.filter(pk=pk).delete()
    return differences


# Renewal (issue 12, point 10): a consent whose records' period runs from it is asked to be
# renewed some days before that period ends, once per consent given.
RENEWAL_PURPOSES = ("recruitment_database",)


def ask_for_renewals(*, days_before: int = 30) -> int:
    """Writes, through the outbox and in the person's language, to everyone whose records' period
    (run from their consent) ends within `days_before` days: the period ends on that day unless
    they renew through the self-service page. Once per consent given: a renewal is a new give,
    asked about again in its own time. Returns how many were asked."""
    from retention import queries as retention_queries  # retention reads consent's selectors

    today = retention_queries.local_today()
    asked = 0
    for slug in RENEWAL_PURPOSES:
        purpose = ConsentPurpose.objects.get(slug=slug)
        ending = retention_queries.consents_ending_soon(purpose=slug, within_days=days_before, today=today)
        for address, given_at in sorted(ending):
            with transaction.atomic():
                subject = ConsentSubject.objects.filter(email=address).first()
                if subject is None:
                    continue
                _request, created = RenewalRequest.objects.get_or_create(
                    subject=subject, purpose=purpose, for_given_at=given_at
                )
                if not created:
                    continue
                _mail_renewal(subject=subject, purpose=purpose, given_at=given_at, days_before=days_before)
                asked += 1
    return asked


def _mail_renewal(
    *, subject: ConsentSubject, purpose: ConsentPurpose, given_at: datetime, days_before: int
) -> None:
    assert subject.email  # found by its address
    language = subject.language or settings.LANGUAGE_CODE
    with translation.override(language):
        wording = selectors.wording(purpose=purpose, language=language)
        context = {
            "purpose": wording.title if wording else purpose.get_slug_display(),
            "given_on": timezone.localtime(given_at).date(),
            "days": days_before,
            # The page where they ask for their link: a link that opens their consents would
            # sit in a mailbox for weeks.
            "url": settings.TRUSTCENTER_SITE_URL + reverse("consent:request_link"),
        }
        mail_subject = render_to_string("consent/email/renewal_subject.txt", context).strip()
        body = render_to_string("consent/email/renewal_body.txt", context)
    enqueue_email(recipient=subject.email, subject=mail_subject, body=body)


def erase_subject(*, subject: ConsentSubject) -> None:
    """Removes what identifies a subject; the events, which carry only the random identifier,
    stay as they are and the chain still holds."""
    ConsentSubject.objects.filter(pk=subject.pk).update(email=None, erased_at=timezone.now())


# --- Sign-ups with double opt-in (issue 12, point 7) --------------------------------------------
# A sign-up (the newsletter; an open application to the recruitment database, with a CV) waits as
# a SignUp until its address is confirmed from the e-mail: only then is the consent recorded and,
# for an application, the register entry made. The link carries a random token, signed; the table
# keeps only its digest. What is never confirmed goes with the "consent.pending" retention rule.

SIGN_UP_PURPOSES = {
    SignUpKind.NEWSLETTER: Purpose.NEWSLETTER,
    SignUpKind.RECRUITMENT: Purpose.RECRUITMENT_DATABASE,
}
SIGN_UP_LINK_SALT = "consent.sign-up.link"
# A signed token is about 90 characters; anything much longer is not one, and is not unsigned.
SIGN_UP_LINK_MAX_CHARS = 300
# What a CV may be, of the documents cases.uploads accepts (judged by content, not by name).
CV_CONTENT_TYPES = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
}
MAX_NAME_CHARS = 200
MAX_PHONE_CHARS = 40
MAX_SKILLS_CHARS = 5000
# Links one address may be sent in an hour, whoever asks: a stranger cannot fill a mailbox. Past
# it nothing is sent, and the answer is the same as when a link is (it says nothing of the address).
SIGN_UP_LINKS_PER_ADDRESS = 3
SIGN_UP_ADDRESS_WINDOW_SECONDS = 3600


class TooManyRequests(Exception):
    """A client asked for more sign-up or self-service links than its limit allows."""

    def __init__(self, seconds_left: int):
        super().__init__(seconds_left)
        self.seconds_left = seconds_left


class SignUpNotOffered(Exception):
    """The purpose of this sign-up is not offered in this language (its current version has no
    wording in it), or has no wording at all."""


class LinkProblem:
    FORGED = "forged"
    EXPIRED = "expired"
    USED = "used"
    NOT_OFFERED = "not_offered"


class SignUpLinkRefused(Exception):
    """A confirmation link that confirms nothing: `problem` is one of LinkProblem; `kind` is the
    sign-up's where it is known (to offer the right form again)."""

    def __init__(self, problem: str, kind: str = ""):
        super().__init__(problem)
        self.problem = problem
        self.kind = kind


class WordingChanged(Exception):
    """A newer wording was published after the confirmation page was shown: nothing was recorded,
    and the person is shown the new one."""


@dataclass(frozen=True)
class SignUpOffer:
    """What a sign-up asks a person to agree to, in one language."""

    purpose: ConsentPurpose
    version: PurposeVersion
    wording: PurposeWording


@dataclass(frozen=True)
class PendingSignUp:
    """A sign-up as its confirmation page shows it: what it will agree to, and whether that wording
    is newer than the one shown when the person signed up."""

    kind: str
    offer: SignUpOffer
    wording_is_newer: bool


@dataclass(frozen=True)
class ConfirmedSignUp:
    kind: str
    event: ConsentEvent
    entry: RecruitmentEntry | None


def sign_up_offer(*, kind: str, language: str) -> SignUpOffer | None:
    """The purpose, current version and wording a sign-up of this kind asks for in this language;
    None where it is not offered in it: a purpose is never offered in a language its current
    version lacks (not even in another language instead)."""
    purpose = ConsentPurpose.objects.filter(slug=SIGN_UP_PURPOSES[SignUpKind(kind)]).first()
    version = selectors.current_version(purpose=purpose) if purpose is not None else None
    if purpose is None or version is None:
        return None
    wording = version.wordings.filter(language=language).first()
    return SignUpOffer(purpose, version, wording) if wording is not None else None


def sign_up_languages(*, kind: str) -> list[str]:
    """The languages a sign-up of this kind is offered in (its current version's)."""
    purpose = ConsentPurpose.objects.filter(slug=SIGN_UP_PURPOSES[SignUpKind(kind)]).first()
    offered = selectors.offered_languages(purpose=purpose) if purpose is not None else set()
    return [code for code, _name in settings.LANGUAGES if code in offered]


def recruitment_database_term() -> str:
    """How long an open application is kept from the consent, as the retention rule says now
    ("360 days", in the current language)."""
    from retention.defaults import DEFAULT_RULES  # retention reads consent's selectors
    from retention.models import RetentionRule, period_text

    category = "recruitment_database"
    rule = RetentionRule.objects.filter(category=category).first()
    if rule is not None:
        return period_text(rule.period_amount, rule.period_unit)
    amount, unit = DEFAULT_RULES[category]["period"]
    return period_text(amount, unit)


def cv_types_text() -> str:
    return _("PDF, Word (DOCX), OpenDocument text (ODT)")


def cv_refusal(upload: Upload) -> ValidationError | None:
    """Why an upload cases.uploads accepted cannot be a CV (a picture, a spreadsheet), or None."""
    if upload.kind.content_type in CV_CONTENT_TYPES:
        return None
    message = _("This kind of file is not accepted. Accepted: %(types)s.") % {"types": cv_types_text()}
    return ValidationError(f"{upload.name}: {message}", code="file_type")


def _seconds_until_sign_up_allowed(client_key) -> int:
    return ratelimit.seconds_until_allowed(
        scope="sign-up",
        client_key=client_key,
        window_seconds=settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS,
        limit=settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR,
    )


def sign_up_limit_reached(*, client_key) -> int | None:
    """Seconds until the connection may sign up again, if its sign-ups are refused now; else
    None. Reads without counting: past the limit a form (and its file) is not even looked at.
    The limit is the one for messages (TRUSTCENTER_SUBMISSIONS_PER_HOUR), counted apart."""
    return _seconds_until_sign_up_allowed(client_key) or None


def count_refused_sign_up(*, client_key) -> None:
    """A sign-up the form refused counts against the connection's limit too."""
    ratelimit.count_hit(
        scope="sign-up", client_key=client_key, window_seconds=settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS
    )


def _take_sign_up_allowance(client_key) -> None:
    attempt = ratelimit.take_attempt(
        scope="sign-up",
        client_key=client_key,
        window_seconds=settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS,
        limit=settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR,
    )
    if not attempt.allowed:
        raise TooManyRequests(_seconds_until_sign_up_allowed(client_key))


def _check_application(*, full_name: str, phone: str, skills: str, cv: Upload | None) -> dict[str, list]:
    errors: dict[str, list] = {}
    if not full_name.strip() or len(full_name) > MAX_NAME_CHARS:
        errors["full_name"] = [_("Please give your name (at most 200 characters).")]
    if len(phone) > MAX_PHONE_CHARS:
        errors["phone"] = [_("A phone number has at most 40 characters.")]
    if not skills.strip() or len(skills) > MAX_SKILLS_CHARS:
        errors["skills"] = [_("Please tell us about your skills and wishes (at most 5000 characters).")]
    if cv is None:
        errors["cv"] = [_("Please choose your CV.")]
    else:
        try:
            verify_uploads([cv])  # a caller's kind is not trusted: the bytes are identified again
        except ValidationError as error:
            errors["cv"] = error.messages
        else:
            refusal = cv_refusal(cv)
            if refusal is not None:
                errors["cv"] = refusal.messages
    return errors


def _mail_sign_up_link(*, sign_up: SignUp, token: str) -> None:
    signed = signing.dumps(token, salt=SIGN_UP_LINK_SALT)
    with translation.override(sign_up.language):
        # The token goes in the query string, which no access log keeps (gunicorn.conf.py).
        link = f"{settings.TRUSTCENTER_SITE_URL}{reverse('signup:confirm')}?{urlencode({'t': signed})}"
        subject = render_to_string(f"consent/email/signup_{sign_up.kind}_subject.txt").strip()
        body = render_to_string(
            f"consent/email/signup_{sign_up.kind}_body.txt",
            {"link": link, "hours": settings.TRUSTCENTER_SIGN_UP_HOURS},
        )
    enqueue_email(recipient=sign_up.email, subject=subject, body=body, concerns=sign_up)


def sign_up(
    *,
    kind: str,
    email: str,
    language: str,
    client_key,
    full_name: str = "",
    phone: str = "",
    skills: str = "",
    cv: Upload | None = None,
) -> SignUp | None:
    """Keeps a sign-up until its address is confirmed, and mails the confirmation link (through
    the outbox, in the person's language). Nothing is recorded in the ledger yet.

    Returns None, having kept and sent nothing, when the address was sent as many links this hour
    as it may be, or is on the suppression list (registers.SuppressedAddress): the caller answers as if it was sent, so that the answer tells nothing about an
    address (whether it signed up before, or is subscribed). Raises TooManyRequests past the
    connection's limit, SignUpNotOffered where the purpose is not offered in the language, and
    ValidationError (by field) for what cannot be kept.
    """
    kind = SignUpKind(kind)
    _take_sign_up_allowance(client_key)
    address = normalise_email(email)
    errors: dict[str, list] = {}
    try:
        validate_email(address)
        if len(address) > 254:
            raise ValidationError("too long")
    except ValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if kind == SignUpKind.RECRUITMENT:
        errors.update(_check_application(full_name=full_name, phone=phone, skills=skills, cv=cv))
    else:
        full_name, phone, skills, cv = "", "", "", None
    if errors:
        raise ValidationError(errors)
    offer = sign_up_offer(kind=kind, language=language)
    if offer is None:
        raise SignUpNotOffered(kind)
    if not ratelimit.take_attempt(
        scope="sign-up-address",
        client_key=f"address:{address}",
        window_seconds=SIGN_UP_ADDRESS_WINDOW_SECONDS,
        limit=SIGN_UP_LINKS_PER_ADDRESS,
    ).allowed:
        return None
    if is_suppressed(address):  # erased, or objected to direct marketing (art. 21(3)): not again
        return None
    token = new_token()
    with written_files_removed_on_error() as written, transaction.atomic(durable=True):
        pending = SignUp(
            kind=kind,
            email=address,
            language=language,
            full_name=full_name.strip(),
            phone=phone.strip(),
            skills=skills.strip(),
            version=offer.version,
            token_digest=token_digest(token),
        )
        if cv is not None:
            pending.cv.save(f"cv.{cv.kind.extension}", ContentFile(cv.data), save=False)
            written.append(pending.cv.name)
        pending.save()
        _mail_sign_up_link(sign_up=pending, token=token)
    return pending


def _digest_of_link(token: str) -> str:
    """The digest of the token a confirmation link carries; SignUpLinkRefused if the link was not
    made here or is older than TRUSTCENTER_SIGN_UP_HOURS."""
    if not token or len(token) > SIGN_UP_LINK_MAX_CHARS:
        raise SignUpLinkRefused(LinkProblem.FORGED)
    try:
        raw = signing.loads(
            token, salt=SIGN_UP_LINK_SALT, max_age=timedelta(hours=settings.TRUSTCENTER_SIGN_UP_HOURS)
        )
    except signing.SignatureExpired:
        raise SignUpLinkRefused(LinkProblem.EXPIRED) from None
    except signing.BadSignature:
        raise SignUpLinkRefused(LinkProblem.FORGED) from None
    if not isinstance(raw, str) or not raw:
        raise SignUpLinkRefused(LinkProblem.FORGED)
    return token_digest(raw)


def _pending(sign_up: SignUp | None, *, now: datetime) -> tuple[SignUp, SignUpOffer]:
    if sign_up is None:  # confirmed already, or deleted by retention
        raise SignUpLinkRefused(LinkProblem.USED)
    if sign_up.created_at < now - timedelta(hours=settings.TRUSTCENTER_SIGN_UP_HOURS):
        raise SignUpLinkRefused(LinkProblem.EXPIRED, sign_up.kind)
    offer = sign_up_offer(kind=sign_up.kind, language=sign_up.language)
    if offer is None:
        raise SignUpLinkRefused(LinkProblem.NOT_OFFERED, sign_up.kind)
    return sign_up, offer


def pending_sign_up(*, token: str) -> PendingSignUp:
    """What a confirmation link would confirm, for the page it opens; spends nothing (mail
    scanners open links). Raises SignUpLinkRefused for a link that confirms nothing."""
    digest = _digest_of_link(token)
    sign_up, offer = _pending(SignUp.objects.filter(token_digest=digest).first(), now=timezone.now())
    return PendingSignUp(sign_up.kind, offer, wording_is_newer=offer.version.pk != sign_up.version_id)


def confirm_sign_up(*, token: str, version: int) -> ConfirmedSignUp:
    """Confirms a sign-up from the POST of its confirmation page, once: records the consent in
    the ledger (channel web) under the wording the page showed, whose number is `version`; for an
    open application makes the recruitment-database entry, its CV moved to the register under a
    new random name; and deletes the sign-up. One transaction; the sign-up's file is removed once
    it commits.

    The sign-up's row is locked, so of two confirmations at once one records and the other finds
    it gone (SignUpLinkRefused, "used"). Raises WordingChanged, recording nothing, if the current
    version is not the one shown (published meanwhile): the person must see what they agree to.
    """
    digest = _digest_of_link(token)
    with written_files_removed_on_error() as written, transaction.atomic(durable=True):
        locked = SignUp.objects.select_for_update().filter(token_digest=digest).first()
        pending, offer = _pending(locked, now=timezone.now())
        if offer.version.number != version:
            raise WordingChanged(pending.kind)
        event = record_consent(
            email=pending.email,
            purpose=offer.purpose,
            action=ConsentAction.GIVE,
            channel=Channel.WEB,
            language=pending.language,
        )
        if event.version_id != offer.version.pk:  # published between the read and the append
            raise WordingChanged(pending.kind)
        entry = None
        if pending.kind == SignUpKind.RECRUITMENT:
            entry = RecruitmentEntry(
                full_name=pending.full_name,
                email=pending.email,
                phone=pending.phone,
                skills=pending.skills,
                created_at=event.occurred_at,
            )
            if pending.cv:
                with pending.cv.open("rb") as stored:
                    data = stored.read()
                entry.cv.save(pending.cv.name.rsplit("/", 1)[-1], ContentFile(data), save=False)
                written.append(entry.cv.name)
            entry.save()
        remove_files_on_commit(names=[pending.cv.name])
        pending.delete()
    return ConfirmedSignUp(pending.kind, event, entry)


# Self-service (issue 12, points 1 and 6): a person asks for a link by e-mail; the link's page
# spends it by a POST and opens their page for a while; the page gives or withdraws under the
# wording it showed.
SELF_SERVICE_LINK_SALT = "consent.self-service-link"
LINK_REQUEST_WINDOW_SECONDS = 60 * 60
LINK_REQUESTS_PER_ADDRESS = 5
LINK_REQUESTS_PER_CLIENT = 20


class LinkState(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    SPENT = "spent"
    BROKEN = "broken"


@dataclass(frozen=True)
class SpentLink:
    """What spending a link did: VALID with the address it opens, or why it opened nothing."""

    state: LinkState
    email: str | None = None


class SelfServiceWordingChanged(Exception):
    """The purpose has a newer wording than the self-service page showed: nothing was recorded."""


class NotOffered(Exception):
    """The self-service page does not offer this purpose in this language."""


def request_self_service_link(*, email: str, language: str, client_key) -> None:
    """The self-service form's request, sent as send_self_service_link sends it, within two
    limits. Past the client's, raises TooManyRequests. Past the address's (whoever asks, so
    that a stranger cannot fill a mailbox), sends nothing and says nothing: the form answers as
    if a link were sent, so that its answer tells nothing of the address. Known or not to the
    ledger, an address is counted and sent to the same way."""
    address = normalise_email(email)
    validate_email(address)
    client_limit = {
        "scope": "self-service-link-client",
        "client_key": client_key,
        "window_seconds": LINK_REQUEST_WINDOW_SECONDS,
        "limit": LINK_REQUESTS_PER_CLIENT,
    }
    if not ratelimit.take_attempt(**client_limit).allowed:
        raise TooManyRequests(ratelimit.seconds_until_allowed(**client_limit))
    if not ratelimit.take_attempt(
        scope="self-service-link-address",
        client_key=address,
        window_seconds=LINK_REQUEST_WINDOW_SECONDS,
        limit=LINK_REQUESTS_PER_ADDRESS,
    ).allowed:
        return
    send_self_service_link(email=address, language=language)


def send_self_service_link(*, email: str, language: str) -> None:
    """Mails the address a new single-use link to its self-service page, in `language`: the same
    row and the same mail whether or not the ledger knows the address, so that nothing tells the
    two apart. Only the digest of the link's random token is kept; the link carries the token
    signed with a timestamp (checked against TRUSTCENTER_SELF_SERVICE_LINK_SECONDS)."""
    address = normalise_email(email)
    validate_email(address)
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    raw_token = new_token()
    now = timezone.now()
    with transaction.atomic():
        link = SelfServiceLink.objects.create(
            email=address,
            token_digest=token_digest(raw_token),
            language=language,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.TRUSTCENTER_SELF_SERVICE_LINK_SECONDS),
        )
        token = signing.TimestampSigner(salt=SELF_SERVICE_LINK_SALT).sign(raw_token)
        with translation.override(language):
            # The token goes in the query string, which no access log keeps (gunicorn.conf.py).
            url = f"{settings.TRUSTCENTER_SITE_URL}{reverse('consent:link')}?{urlencode({'t': token})}"
            subject = render_to_string("consent/email/self_service_link_subject.txt").strip()
            body = render_to_string(
                "consent/email/self_service_link_body.txt",
                {"link": url, "expires_at": link.expires_at, "time_zone": settings.TIME_ZONE},
            )
        enqueue_email(recipient=address, subject=subject, body=body, concerns=link)


def _link_digest_or_refusal(token: str) -> tuple[str | None, LinkState | None]:
    try:
        raw_token = signing.TimestampSigner(salt=SELF_SERVICE_LINK_SALT).unsign(
            token, max_age=settings.TRUSTCENTER_SELF_SERVICE_LINK_SECONDS
        )
    except signing.SignatureExpired:
        return None, LinkState.EXPIRED
    except signing.BadSignature:
        return None, LinkState.BROKEN
    return token_digest(raw_token), None


def _refusal(row: Mapping[str, Any] | None, now: datetime) -> LinkState:
    if row is None:
        return LinkState.BROKEN
    if row["spent_at"] is not None:
        return LinkState.SPENT
    return LinkState.EXPIRED if row["expires_at"] <= now else LinkState.VALID


def self_service_link_state(*, token: str) -> LinkState:
    """What a link would do if spent now. Spends nothing: the link's GET, which mail scanners
    that follow links also make."""
    digest, refusal = _link_digest_or_refusal(token)
    if digest is None:
        assert refusal is not None
        return refusal
    row = SelfServiceLink.objects.filter(token_digest=digest).values("spent_at", "expires_at").first()
    return _refusal(row, timezone.now())


def spend_self_service_link(*, token: str) -> SpentLink:
    """Spends a link, once: of any number of POSTs at once, one conditional UPDATE wins and the
    others find it spent."""
    digest, refusal = _link_digest_or_refusal(token)
    if digest is None:
        assert refusal is not None
        return SpentLink(refusal)
    now = timezone.now()
    with transaction.atomic():
        won = SelfServiceLink.objects.filter(
            token_digest=digest, spent_at__isnull=True, expires_at__gt=now
        ).update(spent_at=now)
        row = (
            SelfServiceLink.objects.filter(token_digest=digest)
            .values("email", "spent_at", "expires_at")
            .first()
        )
    if won == 1 and row is not None:
        return SpentLink(LinkState.VALID, row["email"])
    return SpentLink(_refusal(row, now))


def answer_on_self_service(
    *, email: str, purpose: str, action: str, version: int, language: str
) -> ConsentEvent | None:
    """A give or a withdrawal from the person's self-service page (channel web, no actor).

    A give agrees to the version the page showed: if the purpose has a newer one, raises
    SelfServiceWordingChanged and records nothing (the purpose stays locked against a new version until
    the give is recorded). A withdrawal records nothing (None) where no consent stands, so that
    an address the ledger does not know gets no subject from it. Raises NotOffered for a purpose
    the page does not offer in `language`."""
    if purpose not in selectors.self_service_purposes() or action not in ConsentAction.values:
        raise NotOffered(purpose)
    with transaction.atomic():
        locked = ConsentPurpose.objects.select_for_update().filter(slug=purpose).first()
        current = selectors.current_version(purpose=locked) if locked is not None else None
        if locked is None or current is None or not current.wordings.filter(language=language).exists():
            raise NotOffered(purpose)
        if action == ConsentAction.GIVE and current.number != version:
            raise SelfServiceWordingChanged(purpose)
        standing = selectors.current_consent(email=email, purpose=purpose).standing
        if action == ConsentAction.WITHDRAW and not standing:
            return None
        return record_consent(
            purpose=locked, action=action, channel=Channel.WEB, email=email, language=language
        )
