"""The current consent state per subject and purpose.

A stand-in until the consent ledger (the next issue) arrives: the ledger keeps this table up to
date in the transaction that appends each event, and rebuilds it from the events. Until then it
is set by staff in the admin and by imports. Retention reads it only through
`consent.selectors`, so that the ledger can replace what is behind them.
"""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registers.registry import Notice, personal_data


class Purpose(models.TextChoices):
    NEWSLETTER = "newsletter", _("Newsletter")
    MARKETING_EMAIL = "marketing_email", _("Marketing e-mail")
    EVENT_FOLLOWUP = "event_followup", _("Kept for future events")
    LEAD_REGISTRATION = "lead_registration", _("Kept as a prospect")
    RECRUITMENT_DATABASE = "recruitment_database", _("Recruitment database")
    COOKIES_FUNCTIONAL = "cookies_functional", _("Functional cookies")
    COOKIES_ANALYTICS = "cookies_analytics", _("Analytics cookies")
    COOKIES_MARKETING = "cookies_marketing", _("Marketing cookies")


@personal_data(
    personal_fields=("email",),
    notice=Notice(
        purpose=_("To know what each person has agreed to, and to prove it."),
        legal_basis=_("Legal obligation to demonstrate consent (art. 7(1))."),
        data_subjects=_("Everyone who gave or withdrew a consent."),
        source=_("The person, through the portal, a sign-up form or staff."),
        recipients=_("None."),
    ),
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
