import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CaseType(models.TextChoices):
    SUBJECT_REQUEST = "subject_request", _("Data-subject request")
    PRIVACY_DEVIATION = "privacy_deviation", _("Personal-data breach or privacy deviation")
    SECURITY_INCIDENT = "security_incident", _("Information-security incident")
    WHISTLEBLOWING = "whistleblowing", _("Whistleblowing: censurable conditions")
    HSE = "hse", _("Health, safety and environment")
    COMPLAINT = "complaint", _("Complaint about how personal data is processed")
    GENERAL_INQUIRY = "general_inquiry", _("General question")


class SubjectRight(models.TextChoices):
    ACCESS = "access", _("Access to my data (GDPR art. 15)")
    RECTIFICATION = "rectification", _("Correction of my data (art. 16)")
    ERASURE = "erasure", _("Erasure of my data (art. 17)")
    RESTRICTION = "restriction", _("Restriction of processing (art. 18)")
    PORTABILITY = "portability", _("A copy of my data to take elsewhere (art. 20)")
    OBJECTION = "objection", _("Objection to processing (art. 21)")
    WITHDRAW_CONSENT = "withdraw_consent", _("Withdrawal of consent (art. 7(3))")


class CaseStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_FOR_REPORTER = "waiting_for_reporter", _("Waiting for your answer")
    CLOSED = "closed", _("Closed")


class CaseTypeRouting(models.Model):
    """Which team handles a case type: its members, and only they, see those cases."""

    case_type = models.CharField(_("type"), max_length=32, choices=CaseType.choices, unique=True)
    team = models.ForeignKey("trustcenter.Team", on_delete=models.PROTECT, related_name="routings")

    class Meta:
        verbose_name = _("routing of a case type")
        verbose_name_plural = _("routing of case types")
        ordering = ["case_type"]

    def __str__(self) -> str:
        return f"{self.get_case_type_display()} → {self.team}"


class ReferenceCounter(models.Model):
    """The last case number given out in a year: references run TC-2026-00001, 00002, ..."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Case(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    case_type = models.CharField(_("type"), max_length=32, choices=CaseType.choices, db_index=True)
    status = models.CharField(
        _("status"), max_length=32, choices=CaseStatus.choices, default=CaseStatus.RECEIVED, db_index=True
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    is_anonymous = models.BooleanField(_("anonymous"))
    # Argon2id of the receipt code with a site-wide secret salt; unique, so one indexed query finds it.
    receipt_hash = models.CharField(max_length=64, unique=True, editable=False)
    subject_right = models.CharField(_("right"), max_length=32, choices=SubjectRight.choices, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    reporter_name = models.CharField(_("name"), max_length=200, blank=True)
    reporter_email = models.EmailField(_("e-mail"), blank=True)
    wants_notices = models.BooleanField(_("e-mail notices"), default=False)
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed"), null=True, blank=True)
    content_digest = models.CharField(_("digest of what was sent"), max_length=64, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.reference

    @property
    def needs_email_confirmation(self) -> bool:
        return self.case_type == CaseType.SUBJECT_REQUEST and self.email_confirmed_at is None


class MessageAuthor(models.TextChoices):
    REPORTER = "reporter", _("Reporter")
    STAFF = "staff", _("Staff")


class CaseMessage(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(_("from"), max_length=16, choices=MessageAuthor.choices)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    # SHA-256 of the form's one-time token: the same form sent twice makes one message. NULL for
    # messages without one (staff replies), so that they do not collide in the unique index.
    submission_token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_author_display()} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Never the reporter's file name on disk: it may carry a name.
    return f"cases/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{instance.extension}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(CaseMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=120)
    extension = models.CharField(max_length=8)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    metadata_removed = models.BooleanField(_("metadata removed"), default=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name


class CaseEventKind(models.TextChoices):
    STATUS_CHANGED = "status_changed", _("Status changed")
    REPLIED = "replied", _("Replied to the reporter")
    HANDLER_EXCLUDED = "handler_excluded", _("Handler excluded")


class CaseEvent(models.Model):
    """The case's history: who changed what, and when, written with the change it records."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("what"), max_length=32, choices=CaseEventKind.choices)
    # What changed, without personal data: statuses, a message's id; never a message's text.
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    def describe(self) -> str:
        """What changed, in words (the statuses by their names)."""
        if self.kind == CaseEventKind.STATUS_CHANGED:
            names = dict(CaseStatus.choices)
            return f"{names.get(self.data.get('from'), '-')} → {names.get(self.data.get('to'), '-')}"
        return ""


class CaseExclusion(models.Model):
    """A handler who must not see a case (impartial handling, Directive 2019/1937 art. 9(1)(c)):
    named by the team lead for a conflict of interest. An excluded handler sees nothing of it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="exclusions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("excluded handler")
        verbose_name_plural = _("excluded handlers")
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="one_exclusion_per_handler")]

    def __str__(self) -> str:
        return f"{self.case}: {self.user}"


class EmailConfirmation(models.Model):
    """A data-subject request's proof that the requester controls the e-mail address."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="email_confirmation")
    code_hash = models.CharField(max_length=64)
    link_nonce = models.CharField(max_length=32)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("e-mail confirmation")
        verbose_name_plural = _("e-mail confirmations")

    def __str__(self) -> str:
        return str(self.case)
