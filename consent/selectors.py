"""Reads of consent: the current state per subject and purpose (what retention asks, through
the subject's address), the purposes' wording, and the chain's verification."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _lazy

from registers.registry import normalise_email

from . import chain, receipts
from .models import (
    COOKIE_PURPOSES,
    STANDING,
    Channel,
    ConsentEvent,
    ConsentPurpose,
    ConsentSeal,
    ConsentState,
    Purpose,
    PurposeVersion,
    PurposeWording,
)


@dataclass(frozen=True)
class CurrentConsent:
    purpose: str
    given_at: datetime | None
    withdrawn_at: datetime | None

    @property
    def standing(self) -> bool:
        return self.given_at is not None and self.withdrawn_at is None


def current_consent(*, email: str, purpose: str) -> CurrentConsent:
    """A subject's consent for a purpose as it stands now."""
    # One row at most (one state per subject and purpose): no ORDER BY, no model instance.
    found = ConsentState.objects.filter(
        subject__email=normalise_email(email), purpose__slug=purpose
    ).values_list("given_at", "withdrawn_at")[:1]
    given_at, withdrawn_at = found[0] if found else (None, None)
    return CurrentConsent(purpose=purpose, given_at=given_at, withdrawn_at=withdrawn_at)


def _states(purpose: str, email_path: str):
    return ConsentState.objects.filter(purpose__slug=purpose, subject__email=Lower(OuterRef(email_path)))


def consent_standing(*, purpose: str, email_path: str) -> Exists:
    """For a queryset of records: whether the subject at `email_path` has a standing consent."""
    return Exists(_states(purpose, email_path).filter(STANDING))


def consent_withdrawn(*, purpose: str, email_path: str) -> Exists:
    """For a queryset of records: whether the subject withdrew their consent for the purpose."""
    return Exists(_states(purpose, email_path).filter(withdrawn_at__isnull=False))


def consent_given_at(*, purpose: str, email_path: str) -> Subquery:
    """For a queryset of records: when the subject's standing consent was given (renewed), or NULL."""
    return Subquery(_states(purpose, email_path).filter(STANDING).values("given_at")[:1])


# What the purposes say now (the admin; later the self-service page, the banner, the API).
def current_version(*, purpose: ConsentPurpose) -> PurposeVersion | None:
    return purpose.versions.order_by("-number").first()


def offered_languages(*, purpose: ConsentPurpose) -> set[str]:
    """The languages a purpose can be offered in: those its current version is written in."""
    version = current_version(purpose=purpose)
    return set(version.wordings.values_list("language", flat=True)) if version else set()


def wording(*, purpose: ConsentPurpose, language: str) -> PurposeWording | None:
    """The current wording in a language, or None: a purpose is never offered in a language its
    current version lacks (not even in another language instead)."""
    version = current_version(purpose=purpose)
    return version.wordings.filter(language=language).first() if version else None


def first_broken_link() -> int | None:
    """Verifies the ledger's hash chain from its first seal: the id of the first event whose
    link does not hold, or None. Reads the seals and their events in chunks, in the chain's
    order. Events not yet sealed are not part of it (unsealed_events)."""
    seals = ConsentSeal.objects.select_related("event__purpose", "event__version").order_by("event")
    return chain.first_broken_link(
        chain.Link(seal.event_id, seal.previous_digest, seal.digest, seal.event.chain_fields())
        for seal in seals.iterator(chunk_size=2000)
    )


def unsealed_events() -> int:
    """How many events are in the ledger but not yet in its chain (services.seal_ledger)."""
    newest_sealed = ConsentSeal.objects.order_by("-event").values_list("event_id", flat=True).first() or 0
    return ConsentEvent.objects.filter(id__gt=newest_sealed).count()


# The consent API (issue 12, point 9): what the company's other systems read about an address.
# A purpose's answer as the API names it.
GIVEN, WITHDRAWN, NEVER_ANSWERED = "given", "withdrawn", "never_answered"


@dataclass(frozen=True)
class PurposeState:
    """An address's answer for one purpose as it stands, beside the purpose's current wording.
    `version` is the wording the consent agreed to (or, with none ever given, the one refused);
    None when the address never answered. `current_version` is None while nothing is published."""

    purpose: str
    given_at: datetime | None
    withdrawn_at: datetime | None
    version: int | None
    current_version: int | None
    needs_fresh_answer: bool

    @property
    def standing(self) -> bool:
        return self.given_at is not None and self.withdrawn_at is None

    @property
    def answer(self) -> str:
        if self.version is None:
            return NEVER_ANSWERED
        return GIVEN if self.standing else WITHDRAWN


def purpose_states(*, email: str) -> list[PurposeState]:
    """Every purpose with the address's consent for it: never answered where it has none, and for
    an address the ledger does not know (a read makes no subject). A consent given to an earlier
    wording of a purpose whose new versions need fresh consent still stands until the person
    answers the new one; `needs_fresh_answer` says that they should be asked. Two queries."""
    states = ConsentState.objects.filter(subject__email=normalise_email(email)).select_related("version")
    rows = {row.purpose_id: row for row in states}
    found = []
    for purpose in ConsentPurpose.objects.annotate(current=Max("versions__number")).order_by("slug"):
        row = rows.get(purpose.pk)
        if row is None:
            found.append(PurposeState(purpose.slug, None, None, None, purpose.current, False))
            continue
        fresh = (
            row.standing
            and purpose.new_versions_need_fresh_consent
            and purpose.current is not None
            and row.version.number < purpose.current
        )
        found.append(
            PurposeState(
                purpose.slug, row.given_at, row.withdrawn_at, row.version.number, purpose.current, fresh
            )
        )
    return found


def consent_history(*, email: str) -> QuerySet[ConsentEvent]:
    """Every event of the address's subject, in the order they happened (an import where it
    happened); none for an address the ledger does not know, or no longer knows (erased)."""
    return (
        ConsentEvent.objects.filter(subject__email=normalise_email(email))
        .select_related("purpose", "version", "seal")
        .order_by("occurred_at", "id")
    )


# Self-service and consent receipts (issue 12, points 1, 4 and 6): what the person's own page
# shows, and the receipt of each of their events.
def self_service_purposes() -> list[str]:
    """The purposes a person answers on the self-service page: all but the cookie categories,
    which the banner asks for."""
    cookies = set(COOKIE_PURPOSES.values())
    return [slug for slug in Purpose.values if slug not in cookies]


@dataclass(frozen=True)
class SelfServiceRow:
    """One purpose on the self-service page: the address's answer, the current wording in the
    page's language, and, where that wording asks for a fresh answer, the earlier wording the
    standing consent agreed to (None if that version lacks the language)."""

    state: PurposeState
    wording: PurposeWording
    agreed_wording: PurposeWording | None

    @property
    def purpose(self) -> str:
        return self.state.purpose


def self_service_rows(*, email: str, language: str) -> list[SelfServiceRow]:
    """Every purpose the self-service page offers in `language`, with the address's answer. A
    purpose whose current version lacks the language is left out (never offered in another
    language instead). Makes no subject for an address the ledger does not know. Three queries."""
    offered = self_service_purposes()
    states = {state.purpose: state for state in purpose_states(email=email) if state.purpose in offered}
    wordings: dict[tuple[str, int | None], PurposeWording] = {
        (each.version.purpose.slug, each.version.number): each
        for each in PurposeWording.objects.filter(
            language=language, version__purpose__slug__in=list(states)
        ).select_related("version__purpose")
    }
    rows = []
    for slug in offered:
        state = states.get(slug)
        wording = wordings.get((slug, state.current_version)) if state else None
        if state is None or wording is None:
            continue
        agreed = wordings.get((slug, state.version)) if state.needs_fresh_answer else None
        rows.append(SelfServiceRow(state=state, wording=wording, agreed_wording=agreed))
    return rows


def self_service_history(*, email: str) -> QuerySet[ConsentEvent]:
    """The address's events, the latest first, for its self-service page."""
    return consent_history(email=email).reverse()


def subject_event(*, email: str, event_id: int) -> ConsentEvent | None:
    """The one door to an event for a person on the self-service page: an event of the subject
    the address names, or None (another person's, or none at all)."""
    return (
        ConsentEvent.objects.filter(pk=event_id, subject__email=normalise_email(email))
        .select_related("purpose", "version")
        .first()
    )


def _receipt_wording(event: ConsentEvent, language: str) -> PurposeWording:
    """The wording the event agreed to, in `language` if its version has it, else in the site's
    default language, else in the first it has (the ledger does not record the language a person
    read)."""
    wordings = {wording.language: wording for wording in event.version.wordings.all()}
    return wordings.get(language) or wordings.get(settings.LANGUAGE_CODE) or next(iter(wordings.values()))


COLLECTION_METHODS: dict[str, Promise] = {
    Channel.WEB: _lazy("Given or withdrawn by the person on a web page of the controller."),
    Channel.API: _lazy("Recorded through the consent API by one of the controller's systems."),
    Channel.IMPORT: _lazy("Imported from an earlier record of the person's consent."),
    Channel.STAFF: _lazy("Recorded by the controller's staff at the person's request."),
}


def consent_receipt(*, event: ConsentEvent, seal: ConsentSeal, language: str) -> dict:
    """The Kantara consent receipt of one sealed event (consent/receipts.py; services.seal_of), in
    `language`. The wording is the version the event agreed to, never the current one."""
    wording = _receipt_wording(event, language)
    with translation.override(language):
        site = settings.TRUSTCENTER_SITE_URL
        self_service_url = site + reverse("consent:request_link")
        return receipts.consent_receipt(
            event=receipts.ReceiptEvent(
                event_id=event.pk,
                subject_id=str(event.subject_id),
                purpose=event.purpose.slug,
                service=str(event.purpose),
                action=event.action,
                channel=event.channel,
                occurred_at=event.occurred_at,
                digest=seal.digest,
                previous_digest=seal.previous_digest,
                chain_fields=event.chain_fields(),
                wording=receipts.Wording(
                    version=event.version.number,
                    language=wording.language,
                    title=wording.title,
                    text=wording.text,
                ),
            ),
            controller=receipts.Controller(
                name=settings.TRUSTCENTER_CONTROLLER_NAME,
                contact=str(_lazy("Privacy contact")),
                street_address=settings.TRUSTCENTER_POSTAL_ADDRESS,
                country=settings.TRUSTCENTER_CONTROLLER_COUNTRY,
                email=settings.TRUSTCENTER_PRIVACY_EMAIL,
                phone=settings.TRUSTCENTER_CONTROLLER_PHONE,
                url=site + reverse("home"),
            ),
            jurisdiction=settings.TRUSTCENTER_CONTROLLER_COUNTRY,
            policy_url=site + reverse("privacy_notice"),
            collection_method=str(COLLECTION_METHODS.get(event.channel, event.get_channel_display())),
            termination=str(
                _lazy("Valid until withdrawn. Withdraw at any time on %(url)s or by writing to %(email)s.")
                % {"url": self_service_url, "email": settings.TRUSTCENTER_PRIVACY_EMAIL}
            ),
        )
