from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken

from registers.registry import Notice, Retention, exempt, personal_data


@personal_data(
    personal_fields=("recipient", "body"),
    notice=Notice(
        purpose=_("To send the e-mails the portal promises: receipts, confirmations, notices of news."),
        legal_basis=_("As the case or consent the e-mail belongs to."),
        data_subjects=_("Reporters, requesters and staff who receive e-mail from the portal."),
        source=_("The portal."),
        recipients=_("The e-mail provider as processor."),
    ),
    retention=(
        # The body is blanked once sent; the recipient (and the body of a message given up)
        # goes after this period.
        Retention(
            category="outbox",
            clock=lambda: Coalesce(models.F("sent_at"), models.F("failed_at")),
            clock_label=_("sent or given up"),
            eligible=Q(sent_at__isnull=False) | Q(failed_at__isnull=False),
        ),
    ),
    subject_email=("recipient",),
    exported=("recipient", "subject", "created_at", "sent_at"),
    erasure="anonymise",
    anonymise={"recipient": "", "body": ""},
    anonymised=Q(recipient=""),
    # A message not yet sent (the answer to an erasure request itself) is delivered first; the
    # retention rule above takes it once sent.
    erasable=Q(sent_at__isnull=False) | Q(failed_at__isnull=False),
)
class OutboxMessage(models.Model):
    """An e-mail to send, saved in the same transaction as the change that caused it.

    A row is pending until it is sent (`sent_at`) or given up after too many attempts
    (`failed_at`). A worker claims it with a conditional update that sets `claimed_until`, sends
    it outside any transaction, then records the result; an expired claim (a worker that died)
    frees the row again.
    """

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    recipient = models.EmailField(_("recipient"))
    subject = models.CharField(_("subject"), max_length=200)
    # Blanked once sent: a sent notice or confirmation code has no reason to stay in the database.
    body = models.TextField(_("body"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, db_index=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    failed_at = models.DateTimeField(_("given up"), null=True, blank=True)
    # What the message is about (a case, or for an alert the message that could not be sent),
    # generic so that this site-wide app depends on no other app.
    concerns_type = models.ForeignKey(
        ContentType,
        verbose_name=_("concerns (type)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    concerns_id = models.PositiveBigIntegerField(_("concerns (id)"), null=True, blank=True)
    concerns = GenericForeignKey("concerns_type", "concerns_id")

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["concerns_type", "concerns_id"], name="outbox_concerns"),
            # The sweep's question: what is waiting and due, soonest first.
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_waiting_by_due",
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    def concerns_label(self) -> str:
        """What the message concerns, by kind and id ("case 12"), never by its own name: a case's
        reference is for those whose team handles it, and the outbox is no door to cases."""
        if self.concerns_type is None or self.concerns_id is None:
            return ""
        return f"{self.concerns_type.model} {self.concerns_id}"  # the model's name, in every language

    @property
    def state(self) -> str:
        if self.sent_at:
            return "sent"
        if self.failed_at:
            return "given up"
        return "pending"

    @property
    def is_alert(self) -> bool:
        """An alert about another outbox message; if it cannot be sent, nobody is alerted."""
        return self.concerns_type_id is not None and (
            self.concerns_type_id == ContentType.objects.get_for_model(OutboxMessage).pk
        )


exempt("trustcenter.Team", reason="A team's name, not a person's.")


class Team(models.Model):
    """A group of staff who handle the cases of the types routed to it (cases.CaseTypeRouting)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    members: "models.ManyToManyField[Any, TeamMembership]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    is_lead = models.BooleanField(_("team lead"), default=False)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


exempt(
    "trustcenter.ApiToken",
    reason="A staff member's name for their token and its hash; deleted with the token or the account.",
)


class ApiToken(AbstractAuthToken):
    """A staff member's personal token for the REST API (knox's token with a name, KNOX_TOKEN_MODEL).
    Only its hash (`digest`) is kept; the token itself is shown once, when it is made."""

    name: "models.CharField[str, str]" = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name
