"""Consent: purposes and their wording, and the ledger (issue 12). Each change is one function
with keyword-only arguments and one transaction."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import groupby

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from registers.registry import normalise_email

from . import chain, selectors, states
from .models import (
    ConsentAction,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
    ConsentSubject,
    PurposeVersion,
    PurposeWording,
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
    purpose: ConsentPurpose,
    action: str,
    channel: str,
    email: str | None = None,
    subject: ConsentSubject | None = None,
    actor=None,
    occurred_at: datetime | None = None,
) -> ConsentEvent:
    """Appends a give or a withdrawal to the ledger, under the purpose's current wording, and
    updates the subject's current state in the same transaction. The subject is the one the
    address names (made on first sight), or `subject` (a cookie choice's random identifier).
    `occurred_at` is for imports of earlier consents; it defaults to now.

    A withdrawal that leaves no standing consent purges, once committed, what that consent kept
    (retention.services.consent_withdrawn: a recruitment-database entry at once)."""
    if (email is None) == (subject is None):
        raise TypeError("record_consent needs an address or a subject, not both")
    address = None
    if email is not None:
        address = normalise_email(email)
        validate_email(address)
    with transaction.atomic():
        _lock_the_chain()
        version = selectors.current_version(purpose=purpose)
        if version is None:
            raise NoWording(purpose.slug)
        if subject is None:
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
        state = _update_state(event)
        standing = state.given_at is not None and state.withdrawn_at is None
        if address and action == ConsentAction.WITHDRAW and not standing:
            transaction.on_commit(
                partial(_consent_withdrawn, email=address, purpose=purpose.slug), robust=True
            )
    return event


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
        .select_related("last_event")
        .first()
    )
    current = _state_of(row) if row else None
    new: states.State | None
    if row is None or states.order(_as_event(event)) >= states.order(_as_event(row.last_event)):
        new = states.apply(current, _as_event(event))
    else:
        events = ConsentEvent.objects.filter(subject_id=event.subject_id, purpose_id=event.purpose_id)
        new = states.replay(_as_event(each) for each in events)
    assert new is not None  # the event itself is one of them
    ConsentState.objects.update_or_create(
        subject_id=event.subject_id, purpose_id=event.purpose_id, defaults=_columns(new)
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
        _lock_the_chain()  # no append between the replay and the repair
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


def erase_subject(*, subject: ConsentSubject) -> None:
    """Removes what identifies a subject; the events, which carry only the random identifier,
    stay as they are and the chain still holds."""
    ConsentSubject.objects.filter(pk=subject.pk).update(email=None, erased_at=timezone.now())
