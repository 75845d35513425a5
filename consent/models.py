"""Consent: the purposes and their wording, the ledger, and the current state per subject and
purpose.

`ConsentState` is a stand-in that retention reads through `consent.selectors`: set by staff in
the admin until the ledger keeps the current state itself (issue 12, points 2 and 5), in the
transaction that appends each event.
"""

import uuid
from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registers.registry import Notice, exempt, personal_data


class Purpose(models.TextChoices):
    NEWSLETTER = "newsletter", _("Newsletter")
    MARKETING_EMAIL = "marketing_email", _("Marketing e-mail")
    EVENT_FOLLOWUP = "event_followup", _("Kept for future events")
    LEAD_REGISTRATION = "lead_registration", _("Kept as a prospect")
    RECRUITMENT_DATABASE = "recruitment_database", _("Recruitment database")
    COOKIES_FUNCTIONAL = "cookies_functional", _("Functional cookies")
    COOKIES_ANALYTICS = "cookies_analytics", _("Analytics cookies")
    COOKIES_MARKETING = "cookies_marketing", _("Marketing cookies")


# What a data subject is told about every consent record (the state, the subjects, the events).
CONSENT_NOTICE = Notice(
    purpose=_("To know what each person has agreed to, and to prove it."),
    legal_basis=_("Legal obligation to demonstrate consent (art. 7(1))."),
    data_subjects=_("Everyone who gave or withdrew a consent."),
    source=_("The person, through the portal, a sign-up form or staff."),
    recipients=_("None."),
)


@personal_data(
    personal_fields=("email",),
    notice=CONSENT_NOTICE,
    kept_because=_("As long as the consent it records matters: the consent ledger's own rules decide."),
    subject_email=("email",),
    exported=("email", "purpose", "given_at", "withdrawn_at"),
)
class ConsentState(models.Model):
    email = models.EmailField(_("e-mail"))
    purpose = models.CharField(_("purpose"), max_length=40, choices=Purpose.choices)
    given_at = models.DateTimeField(_("given"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent state")
        verbose_name_plural = _("consent states")
        constraints = [
            models.UniqueConstraint(fields=["email", "purpose"], name="one_state_per_subject_and_purpose"),
            # Compared as retention finds a subject (registers.registry.normalise_email).
            models.CheckConstraint(condition=Q(email=Lower("email")), name="consent_state_email_lower_case"),
        ]
        indexes = [models.Index(fields=["purpose", "email"], name="consent_state_by_purpose")]

    def __str__(self) -> str:
        return f"{self.purpose}: {'withdrawn' if self.withdrawn_at else 'given'}"


STANDING = Q(withdrawn_at__isnull=True)


class ConsentPurpose(models.Model):
    """A purpose people are asked to consent to (DESIGN.md §1), with versioned wording. What a
    person agreed to is the wording of one version; a new version never changes an old one."""

    slug = models.CharField(_("purpose"), max_length=40, choices=Purpose.choices, unique=True)
    new_versions_need_fresh_consent = models.BooleanField(
        _("a new version needs fresh consent"),
        default=False,
        help_text=_(
            "If set, the earlier consent keeps covering what it agreed to until the person answers the new wording."
        ),
    )

    class Meta:
        verbose_name = _("consent purpose")
        verbose_name_plural = _("consent purposes")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.get_slug_display()


class PurposeVersion(models.Model):
    """One version of a purpose's wording, in the languages it was written in. Never changed
    once published: a change of wording is a new version."""

    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    published_at = models.DateTimeField(_("published"), default=timezone.now)

    class Meta:
        verbose_name = _("wording version")
        verbose_name_plural = _("wording versions")
        ordering = ["purpose", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "number"], name="one_version_number_per_purpose")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} v{self.number}"


class PurposeWording(models.Model):
    version = models.ForeignKey(PurposeVersion, on_delete=models.PROTECT, related_name="wordings")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("wording"))

    class Meta:
        verbose_name = _("wording")
        verbose_name_plural = _("wordings")
        ordering = ["version", "language"]
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="one_wording_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.language})"


exempt(
    "consent.PurposeWording", reason="What people are asked to agree to: the company's words, about no one."
)


# The ledger (issue 12, point 2): who a subject is lives in one table under a random identifier;
# the events, append-only and hash-chained (consent/chain.py), carry only that identifier.
@personal_data(
    personal_fields=("email",),
    notice=CONSENT_NOTICE,
    kept_because=_(
        "As long as a consent given or withdrawn must be proven; erasure removes the address and "
        "keeps the random identifier the events carry."
    ),
    subject_email=("email",),
    exported=("id", "email", "created_at"),
    erasure="anonymise",
    anonymise={"email": None},
    anonymised=Q(erased_at__isnull=False),
)
class ConsentSubject(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail"), null=True, blank=True, unique=True)  # noqa: DJ001 - erased: NULL
    created_at = models.DateTimeField(_("first seen"), default=timezone.now)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent subject")
        verbose_name_plural = _("consent subjects")
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="consent_subject_email_lower_case")
        ]

    def __str__(self) -> str:
        return str(self.id)


class ConsentAction(models.TextChoices):
    GIVE = "give", _("Given")
    WITHDRAW = "withdraw", _("Withdrawn")


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    STAFF = "staff", _("Staff")


@personal_data(
    personal_fields=(),
    notice=CONSENT_NOTICE,
    part_of="subject",
    exported=("purpose__slug", "version__number", "action", "channel", "occurred_at"),
)
class ConsentEvent(models.Model):
    """One give or withdrawal. Never changed or deleted (a database trigger refuses both on
    PostgreSQL); each carries the digest of the one before it."""

    subject = models.ForeignKey(ConsentSubject, on_delete=models.PROTECT, related_name="events")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(PurposeVersion, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=10, choices=ConsentAction.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    previous_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk}"

    def chain_fields(self) -> dict[str, str]:
        """What the digest covers: identifiers, never an address."""
        return {
            "subject": str(self.subject_id),
            "purpose": self.purpose.slug,
            "version": str(self.version.number),
            "action": self.action,
            "channel": self.channel,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": str(self.actor_id or ""),
        }
