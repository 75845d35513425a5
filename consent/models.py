"""Consent: the purposes and their wording, the ledger, the current state per subject and
purpose (kept in the transaction that appends each event), and what the ways in need: links to
the self-service page, sign-ups waiting for their confirmation, the cookie inventory, and the
tokens of the systems that use the consent API.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registers.registry import Notice, Retention, exempt, personal_data
from trustcenter.files import random_file_name

from . import chain


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
    anonymise={"email": None, "erased_at": Now()},
    anonymised=Q(erased_at__isnull=False),
)
class ConsentSubject(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail"), null=True, blank=True, unique=True)  # noqa: DJ001 - erased: NULL
    created_at = models.DateTimeField(_("first seen"), default=timezone.now)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)
    # The language the person last used with the portal: what they are written to in.
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)

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
    PostgreSQL). Its link in the hash chain is its ConsentSeal, written after it commits."""

    subject = models.ForeignKey(ConsentSubject, on_delete=models.PROTECT, related_name="events")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(PurposeVersion, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=10, choices=ConsentAction.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk}"

    def chain_fields(self) -> dict[str, str]:
        """What the digest covers: identifiers, never an address."""
        return chain.chained_fields(
            subject=self.subject_id,
            purpose=self.purpose.slug,
            version=self.version.number,
            action=self.action,
            channel=self.channel,
            occurred_at=self.occurred_at,
            actor=self.actor_id,
        )


class ConsentSeal(models.Model):
    """An event's link in the ledger's hash chain (consent/chain.py): the digest of the event's
    fields and of the seal before it. Appends write no seal, so that they never wait for one
    another; `services.seal_ledger` seals what has committed, one batch at a time, in the order
    of the events' ids (the chain's order). Never changed or deleted (a trigger refuses both)."""

    # The event's id is the seal's, and the chain's order: one index, the primary key.
    event = models.OneToOneField(
        ConsentEvent, on_delete=models.PROTECT, related_name="seal", primary_key=True
    )
    previous_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(_("sealed"), default=timezone.now)

    class Meta:
        verbose_name = _("seal")
        verbose_name_plural = _("seals")
        ordering = ["event"]

    def __str__(self) -> str:
        return f"#{self.event_id}: {self.digest[:12]}"


exempt(
    "consent.ConsentSeal",
    reason="The hash chain's links: digests over an event's random identifiers, nothing that identifies a person.",
)


STANDING = Q(given_at__isnull=False, withdrawn_at__isnull=True)


@personal_data(
    personal_fields=(),
    notice=CONSENT_NOTICE,
    part_of="subject",
    exported=("purpose__slug", "version__number", "given_at", "withdrawn_at"),
)
class ConsentState(models.Model):
    """A subject's consent for a purpose as it stands: derived from the ledger, updated in the
    transaction that appends each event (services.record_consent), rebuilt from the ledger by
    `manage.py rebuild_consent_state`. `version` is the wording the standing consent agreed to
    (or, with none ever given, the wording that was refused)."""

    # Every append rewrites a row here, so it has no index it does not need: the unique (subject,
    # purpose) and the (purpose, subject) index serve every lookup by subject or purpose; versions
    # and events are never deleted, so their foreign keys need none.
    subject = models.ForeignKey(
        ConsentSubject, on_delete=models.PROTECT, related_name="states", db_index=False
    )
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="+", db_index=False)
    version = models.ForeignKey(PurposeVersion, on_delete=models.PROTECT, related_name="+", db_index=False)
    given_at = models.DateTimeField(_("given"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    last_event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("consent state")
        verbose_name_plural = _("consent states")
        constraints = [
            models.UniqueConstraint(fields=["subject", "purpose"], name="one_state_per_subject_and_purpose")
        ]
        indexes = [models.Index(fields=["purpose", "subject"], name="consent_state_by_purpose")]

    def __str__(self) -> str:
        return f"{self.purpose}: {'given' if self.given_at and not self.withdrawn_at else 'withdrawn'}"

    @property
    def standing(self) -> bool:
        return self.given_at is not None and self.withdrawn_at is None


@personal_data(
    personal_fields=(),
    notice=CONSENT_NOTICE,
    part_of="subject",
    exported=("purpose__slug", "for_given_at", "asked_at"),
)
class RenewalRequest(models.Model):
    """That a subject was asked to renew the consent given at `for_given_at` (once per consent:
    a renewal is a new give, and its own request comes in its own time)."""

    subject = models.ForeignKey(ConsentSubject, on_delete=models.PROTECT, related_name="+")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="+")
    for_given_at = models.DateTimeField(_("consent given"))
    asked_at = models.DateTimeField(_("asked"), default=timezone.now)

    class Meta:
        verbose_name = _("renewal request")
        verbose_name_plural = _("renewal requests")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "purpose", "for_given_at"], name="one_renewal_request_per_consent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.for_given_at:%Y-%m-%d}"


# What the ways in keep while they wait for a person: a self-service link until it is used,
# a sign-up until its address is confirmed. Neither outlives the "consent.pending" rule.
PENDING_RETENTION = (Retention(category="consent.pending", clock="created_at", clock_label=_("sent")),)
PENDING_NOTICE = Notice(
    purpose=_("To make sure that the person who asks is the one who reads the address's mail."),
    legal_basis=_("Legal obligation to demonstrate consent (art. 7(1)); the person's request."),
    data_subjects=_("People who asked for a link to their consents or signed up."),
    source=_("The person."),
    recipients=_("None."),
)


@personal_data(
    personal_fields=("email",),
    notice=PENDING_NOTICE,
    retention=PENDING_RETENTION,
    subject_email=("email",),
    exported=("email", "created_at", "expires_at", "spent_at"),
    erasure="delete",
)
class SelfServiceLink(models.Model):
    """A link to the self-service page, sent by e-mail: only the digest of its token is kept, so
    that the table does not hold a way in. Spent by the POST from the page it opens."""

    email = models.EmailField(_("e-mail"))
    token_digest = models.CharField(max_length=64, unique=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"))
    spent_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("self-service link")
        verbose_name_plural = _("self-service links")
        constraints = [
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="self_service_link_email_lower_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class SignUpKind(models.TextChoices):
    NEWSLETTER = "newsletter", _("Newsletter")
    RECRUITMENT = "recruitment", _("Open application")


def sign_up_file_path(instance: models.Model, filename: str) -> str:
    """A random name: no applicant's name in a path or a log line."""
    return random_file_name(folder="consent/sign-ups", filename=filename)


@personal_data(
    personal_fields=("email", "full_name", "phone", "skills", "cv"),
    notice=PENDING_NOTICE,
    retention=PENDING_RETENTION,
    subject_email=("email",),
    subject_phone=("phone",),
    exported=("kind", "email", "full_name", "phone", "skills", "created_at"),
    file_fields=("cv",),
    erasure="delete",
)
class SignUp(models.Model):
    """A sign-up waiting for its address to be confirmed (double opt-in). Confirming records the
    consent in the ledger (and, for an open application, makes the recruitment-database entry)
    and deletes the sign-up."""

    kind = models.CharField(_("sign-up"), max_length=20, choices=SignUpKind.choices)
    email = models.EmailField(_("e-mail"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    full_name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    skills = models.TextField(_("skills and wishes"), blank=True)
    cv = models.FileField(_("CV"), upload_to=sign_up_file_path, blank=True)
    version = models.ForeignKey(PurposeVersion, on_delete=models.PROTECT, related_name="+")
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed up"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("sign-up waiting for confirmation")
        verbose_name_plural = _("sign-ups waiting for confirmation")
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="sign_up_email_lower_case")
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


# Cookie consent (issue 12, point 8): what each site sets, so that its banner offers only the
# categories it really uses.
class CookieCategory(models.TextChoices):
    NECESSARY = "necessary", _("Necessary")
    FUNCTIONAL = "functional", _("Functional")
    ANALYTICS = "analytics", _("Analytics")
    MARKETING = "marketing", _("Marketing")


# The purpose each category's consent is recorded under (necessary cookies need none).
COOKIE_PURPOSES = {
    CookieCategory.FUNCTIONAL: Purpose.COOKIES_FUNCTIONAL,
    CookieCategory.ANALYTICS: Purpose.COOKIES_ANALYTICS,
    CookieCategory.MARKETING: Purpose.COOKIES_MARKETING,
}


class CookieSite(models.Model):
    """A web site of the group whose banner the portal serves (the portal itself is one)."""

    name = models.CharField(_("name"), max_length=200)
    origin = models.CharField(
        _("origin"),
        max_length=200,
        unique=True,
        help_text=_(
            "Scheme, host and port, e.g. https://www.example.no: the banner records choices only from here."
        ),
    )
    is_portal = models.BooleanField(_("this portal"), default=False)

    class Meta:
        verbose_name = _("web site")
        verbose_name_plural = _("web sites")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_portal"], condition=Q(is_portal=True), name="one_portal_site")
        ]

    def __str__(self) -> str:
        return self.name


exempt("consent.CookieSite", reason="The group's own web sites, about no one.")


class Cookie(models.Model):
    site = models.ForeignKey(CookieSite, on_delete=models.CASCADE, related_name="cookies")
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=CookieCategory.choices)
    purpose = models.TextField(_("purpose"))
    duration = models.CharField(
        _("duration"), max_length=100, help_text=_('For example "1 year" or "session".')
    )

    class Meta:
        verbose_name = _("cookie")
        verbose_name_plural = _("cookie inventory")
        ordering = ["site", "category", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="one_cookie_name_per_site")]

    def __str__(self) -> str:
        return self.name


exempt("consent.Cookie", reason="What a site's cookies are for, about no one.")


class ConsentApiClient(models.Model):
    """One of the company's other systems, with its own token for the consent API: only the
    token's digest is kept, the token is shown once when it is made."""

    name = models.CharField(_("system"), max_length=200, unique=True)
    token_prefix = models.CharField(_("token begins"), max_length=8, editable=False)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    can_read = models.BooleanField(_("may read state and history"), default=True)
    can_record = models.BooleanField(_("may record gives and withdrawals"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("consent API client")
        verbose_name_plural = _("consent API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


exempt("consent.ConsentApiClient", reason="A system's name and its token's digest, about no one.")
