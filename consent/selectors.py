"""Reads of consent: the current state per subject and purpose (what retention asks, through
the subject's address), the purposes' wording, and the chain's verification."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Lower

from registers.registry import normalise_email

from . import chain
from .models import STANDING, ConsentEvent, ConsentPurpose, ConsentState, PurposeVersion, PurposeWording


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
    state = ConsentState.objects.filter(subject__email=normalise_email(email), purpose__slug=purpose).first()
    if state is None:
        return CurrentConsent(purpose=purpose, given_at=None, withdrawn_at=None)
    return CurrentConsent(purpose=purpose, given_at=state.given_at, withdrawn_at=state.withdrawn_at)


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
    """Verifies the ledger's hash chain from its first event: the id of the first event whose
    link does not hold, or None. Reads the events in chunks, in the order they were appended."""
    events = (
        ConsentEvent.objects.select_related("purpose", "version").order_by("id").iterator(chunk_size=2000)
    )
    return chain.first_broken_link(
        chain.Link(event.pk, event.previous_digest, event.digest, event.chain_fields()) for event in events
    )
