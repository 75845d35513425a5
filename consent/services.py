"""Consent: purposes and their wording, and the ledger (issue 12). Each change is one function
with keyword-only arguments and one transaction."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from registers.registry import normalise_email

from . import chain, selectors
from .models import ConsentEvent, ConsentPurpose, ConsentSubject, PurposeVersion, PurposeWording


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


# The ledger. Appends take one lock, so that the chain never forks: two events appended at once
# would otherwise both link to the same predecessor.
LEDGER_LOCK = 7_301_512  # the advisory lock's number, the ledger's own


def _lock_the_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK])
    # SQLite: the project's IMMEDIATE transactions already write one at a time.


class NoWording(Exception):
    """The purpose has no published version to agree to."""


def record_consent(
    *,
    email: str,
    purpose: ConsentPurpose,
    action: str,
    channel: str,
    actor=None,
    occurred_at: datetime | None = None,
) -> ConsentEvent:
    """Appends a give or a withdrawal to the ledger, under the purpose's current wording, for the
    subject the address names (made on first sight). `occurred_at` is for imports of earlier
    consents; it defaults to now."""
    address = normalise_email(email)
    validate_email(address)
    with transaction.atomic():
        _lock_the_chain()
        version = selectors.current_version(purpose=purpose)
        if version is None:
            raise NoWording(purpose.slug)
        subject, _created = ConsentSubject.objects.get_or_create(email=address)
        previous = (
            ConsentEvent.objects.order_by("-id").values_list("digest", flat=True).first() or chain.GENESIS
        )
        event = ConsentEvent(
            subject=subject,
            purpose=purpose,
            version=version,
            action=action,
            channel=channel,
            actor=actor,
            occurred_at=occurred_at or timezone.now(),
            previous_digest=previous,
        )
        event.digest = chain.event_digest(previous=previous, fields=event.chain_fields())
        event.save()
    return event


def erase_subject(*, subject: ConsentSubject) -> None:
    """Removes what identifies a subject; the events, which carry only the random identifier,
    stay as they are and the chain still holds."""
    ConsentSubject.objects.filter(pk=subject.pk).update(email=None, erased_at=timezone.now())
