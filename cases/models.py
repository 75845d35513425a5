import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registers.registry import Notice, Retention, declare


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


class CaseOutcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    RESOLVED = "resolved", _("Resolved: action taken")
    NO_ACTION = "no_action", _("Looked into: no action needed")
    UNFOUNDED = "unfounded", _("Not substantiated")
    REFERRED = "referred", _("Referred elsewhere")
    WITHDRAWN = "withdrawn", _("Withdrawn by the reporter")
    DUPLICATE = "duplicate", _("Duplicate of another case")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


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
    outcome = models.CharField(_("outcome"), max_length=32, choices=CaseOutcome.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, blank=True)
    # The nearest due of its running clocks, kept by the services that start, meet, drop or
    # extend a clock, so that the queue sorts on an indexed column.
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True, editable=False, db_index=True)
    # The words staff search for: the report's answers, its messages and notes, kept by the
    # services that write them. Indexed per language on PostgreSQL (migration 0006).
    search_document = models.TextField(default="", blank=True, editable=False)

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
    # An internal note: staff only, never shown to the reporter and sends no notice.
    is_internal = models.BooleanField(_("internal note"), default=False)
    # What the reply meets: the answer (answer clocks) or feedback (whistleblowing feedback).
    is_answer = models.BooleanField(_("the answer"), default=False)
    is_feedback = models.BooleanField(_("feedback"), default=False)
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
    NOTE_ADDED = "note_added", _("Internal note added")
    ASSIGNED = "assigned", _("Assigned")
    RECLASSIFIED = "reclassified", _("Type changed")
    REOPENED_BY_REPORTER = "reopened_by_reporter", _("Reopened by a message from the reporter")
    CLOCK_STARTED = "clock_started", _("Clock started")
    CLOCK_MET = "clock_met", _("Clock met")
    CLOCK_DROPPED = "clock_dropped", _("Clock dropped")
    CLOCK_EXTENDED = "clock_extended", _("Deadline extended")
    TRIAGE_RECORDED = "triage_recorded", _("Triage recorded")
    BREACH_DECISION = "breach_decision", _("Breach decision recorded")
    BREACH_NOTIFIED = "breach_notified", _("Supervisory authority notified")
    SUBJECTS_INFORMED = "subjects_informed", _("Decision on telling the data subjects")
    REMINDER_SENT = "reminder_sent", _("Reminder sent to the team")
    DELETION_POSTPONED = "deletion_postponed", _("Deletion postponed")
    IDENTITY_ADDED = "identity_added", _("Proven identity added")
    DATA_COLLECTED = "data_collected", _("The requester's data collected")
    EXPORT_REQUESTED = "export_requested", _("Access export requested")
    EXPORT_BUILT = "export_built", _("Access export built")
    ITEM_WITHHELD = "item_withheld", _("Item withheld from the access export")
    EXPORT_RELEASED = "export_released", _("Access export sent to the requester")
    EXPORT_DOWNLOADED = "export_downloaded", _("Access export downloaded")
    EXPORT_EXPIRED = "export_expired", _("Access export expired unused")
    SUBJECT_ERASED = "subject_erased", _("The requester's data erased")
    RECORD_RECTIFIED = "record_rectified", _("A record rectified")
    RECORD_RESTRICTED = "record_restricted", _("A record restricted")
    OBJECTION_RECORDED = "objection_recorded", _("Objection to direct marketing recorded")


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
    # The one reminder to confirm, sent 24 hours after the request when it is still unconfirmed.
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail confirmation")
        verbose_name_plural = _("e-mail confirmations")

    def __str__(self) -> str:
        return str(self.case)


class ClockKind(models.TextChoices):
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledge receipt")
    FEEDBACK = "feedback", _("Feedback to the reporter")
    BREACH_NOTIFICATION = "breach_notification", _("Notify the supervisory authority, or record why not")
    TRIAGE = "triage", _("Triage")
    ANSWER = "answer", _("Answer")


class MetAction(models.TextChoices):
    """The staff action that met a clock."""

    REPLY = "reply", _("a reply to the reporter")
    ANSWER = "answer", _("a reply marked as the answer")
    FEEDBACK = "feedback", _("a reply marked as feedback")
    CLOSED_ANSWERED = "closed_answered", _("closing the case as answered")
    TRIAGE = "triage", _("recording the triage")
    DECIDED_NOT_TO_NOTIFY = "decided_not_to_notify", _("recording why the authority is not notified")
    NOTIFIED_AUTHORITY = "notified_authority", _("notifying the supervisory authority")


class ClockUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")
    WEEKS = "weeks", _("weeks")
    MONTHS = "months", _("months")


class ClockPolicy(models.Model):
    """How long a case type has to meet one of its clocks: configuration, not code (DESIGN.md §1).

    A clock is due at the end of `length` `unit`; where a legal limit is set too, at the earlier
    of the two (the 30-day promise and the one-month limit of a data-subject request). An
    extension, where allowed, moves the limit once (art. 12(3)).
    """

    case_type = models.CharField(_("type"), max_length=32, choices=CaseType.choices)
    kind = models.CharField(_("clock"), max_length=32, choices=ClockKind.choices)
    length = models.PositiveIntegerField(_("length"))
    unit = models.CharField(_("unit"), max_length=8, choices=ClockUnit.choices)
    limit_length = models.PositiveIntegerField(_("legal limit"), null=True, blank=True)
    limit_unit = models.CharField(
        _("unit of the legal limit"), max_length=8, choices=ClockUnit.choices, blank=True
    )
    extension_length = models.PositiveIntegerField(_("extension allowed"), null=True, blank=True)
    extension_unit = models.CharField(
        _("unit of the extension"), max_length=8, choices=ClockUnit.choices, blank=True
    )
    # At risk when the smaller of a share of the length and a number of hours is left.
    at_risk_percent = models.PositiveSmallIntegerField(_("at risk when this share is left (%)"), default=25)
    at_risk_max_hours = models.PositiveIntegerField(
        _("at risk at the latest this many hours before"), default=72
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("clock policy")
        verbose_name_plural = _("clock policies")
        ordering = ["case_type", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["case_type", "kind"], name="one_policy_per_type_and_clock")
        ]

    def __str__(self) -> str:
        return f"{self.get_case_type_display()}: {self.get_kind_display()} ({self.length} {self.get_unit_display()})"

    def clean(self):
        errors = {}
        if not self.length:
            errors["length"] = _("A clock needs a length.")
        if bool(self.limit_length) != bool(self.limit_unit):
            errors["limit_unit"] = _("Give both the legal limit and its unit, or neither.")
        if bool(self.extension_length) != bool(self.extension_unit):
            errors["extension_unit"] = _("Give both the extension and its unit, or neither.")
        elif self.extension_length and (
            not self.limit_length
            or self.extension_unit != self.limit_unit
            or self.limit_unit == ClockUnit.HOURS
        ):
            errors["extension_unit"] = _(
                "An extension moves the legal limit: set a limit in days, weeks or months, and the "
                "extension in the same unit."
            )
        if self.at_risk_percent > 100:
            errors["at_risk_percent"] = _("A share is at most 100%.")
        if errors:
            raise ValidationError(errors)


class CaseClock(models.Model):
    """One legal clock on a case: when it started, when it is due, and when it was met.

    `due_at` and `at_risk_at` are computed when the clock starts (or is extended), so that the
    queue sorts and filters on plain columns. A clock of the case's former type that was not met
    when the case was reclassified is dropped, and stays in the history.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(_("clock"), max_length=32, choices=ClockKind.choices)
    starts_at = models.DateTimeField(_("runs from"))
    due_at = models.DateTimeField(_("due"), db_index=True)
    at_risk_at = models.DateTimeField(_("at risk from"))
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Which staff action met it, and why it was late.
    met_action = models.CharField(_("met through"), max_length=32, blank=True, choices=MetAction.choices)
    late_reasons = models.TextField(_("reasons for the delay"), blank=True)
    dropped_at = models.DateTimeField(_("dropped"), null=True, blank=True)
    # Added by hand to a case of another type (a whistleblowing report that reveals a breach).
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_due_at = models.DateTimeField(_("first due"), null=True, blank=True)
    extended_at = models.DateTimeField(_("extended"), null=True, blank=True)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    at_risk_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    breached_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("clock")
        verbose_name_plural = _("clocks")
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(dropped_at__isnull=True),
                name="one_running_clock_per_kind",
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(met_at__isnull=True, dropped_at__isnull=True),
                name="clock_running_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.get_kind_display()}"

    @property
    def ends_with_a_day(self) -> bool:
        """Counted in days, weeks or months: due at the end of a day, midnight in the zone."""
        local = timezone.localtime(self.due_at)
        return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)

    @property
    def last_day(self):
        """The last day of a clock that ends with a day (the day before the midnight it is due)."""
        return timezone.localtime(self.due_at - timedelta(microseconds=1)).date()


class Authority(models.TextChoices):
    NORWAY = "NO", _("Datatilsynet (Norway)")
    SWEDEN = "SE", _("Integritetsskyddsmyndigheten, IMY (Sweden)")
    DENMARK = "DK", _("Datatilsynet (Denmark)")


class BreachDecision(models.TextChoices):
    PENDING = "", _("Not decided yet")
    NOTIFY = "notify", _("Notify the supervisory authority")
    NOT_NOTIFY = "not_notify", _("Do not notify: unlikely to result in a risk")


class SubjectsInformed(models.TextChoices):
    PENDING = "", _("Not decided yet")
    INFORMED = "informed", _("The data subjects were told (art. 34)")
    NOT_INFORMED = "not_informed", _("The data subjects were not told")


class Breach(models.Model):
    """A personal-data breach and what was decided about it: the breach register (art. 33(5))."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="breach")
    aware_at = models.DateTimeField(_("aware since"))
    nature = models.TextField(_("what happened"), blank=True)
    data_categories = models.TextField(_("categories of personal data"), blank=True)
    subjects_affected = models.PositiveIntegerField(
        _("data subjects affected (approx.)"), null=True, blank=True
    )
    effects = models.TextField(_("likely consequences"), blank=True)
    remedial_action = models.TextField(_("measures taken"), blank=True)
    decision = models.CharField(_("decision"), max_length=16, choices=BreachDecision.choices, blank=True)
    reasons_not_to_notify = models.TextField(_("why it is unlikely to result in a risk"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    subjects_informed = models.CharField(
        _("data subjects told"), max_length=16, choices=SubjectsInformed.choices, blank=True
    )
    subjects_not_informed_reason = models.TextField(_("why the data subjects were not told"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("personal-data breach")
        verbose_name_plural = _("personal-data breaches")
        ordering = ["-aware_at"]

    def __str__(self) -> str:
        return str(self.case)


class BreachNotification(models.Model):
    """One phase of a notification to a supervisory authority (art. 33(4): facts may follow)."""

    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="notifications")
    authority = models.CharField(_("authority"), max_length=2, choices=Authority.choices)
    notified_at = models.DateTimeField(_("notified"))
    authority_reference = models.CharField(_("the authority's reference"), max_length=100, blank=True)
    summary = models.TextField(_("what was notified"), blank=True)
    delay_reasons = models.TextField(_("reasons for the delay"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("notification to an authority")
        verbose_name_plural = _("notifications to an authority")
        ordering = ["notified_at", "pk"]

    def __str__(self) -> str:
        return f"{self.breach}: {self.get_authority_display()}"


# --- Fulfilling a data-subject request (cases.fulfilment) ---------------------------------------


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("e-mail address")
    PHONE = "phone", _("phone number")


class ProvenIdentity(models.Model):
    """An address or phone number that staff have seen the requester prove, besides the address
    the request was confirmed from: the registry looks for it too."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="proven_identities")
    kind = models.CharField(_("kind"), max_length=8, choices=IdentityKind.choices)
    # Normalised as the registry compares it (registers.registry.normalise_email / _phone).
    value = models.CharField(_("value"), max_length=254)
    how_proven = models.TextField(_("how it was proven"))
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("proven identity")
        verbose_name_plural = _("proven identities")
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "value"], name="one_proven_identity_per_value"),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.get_kind_display()}"


class SubjectCollection(models.Model):
    """What the registry found for a requester, register by register, when staff collected it:
    counts and register names only (`results`), never the records themselves."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="collections")
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    collected_at = models.DateTimeField(_("collected"), default=timezone.now)
    # [{"register": "registers.Lead", "found": 2, "answered_elsewhere": 0}, ...]: one entry per
    # register that can name a person, found or not.
    results = models.JSONField(_("found per register"), default=list)
    audit_entries = models.PositiveIntegerField(_("audit entries about the records"), default=0)

    class Meta:
        verbose_name = _("collection of a requester's data")
        verbose_name_plural = _("collections of a requester's data")
        ordering = ["-collected_at", "-pk"]
        get_latest_by = ["collected_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case}: {timezone.localtime(self.collected_at):%Y-%m-%d %H:%M}"

    @property
    def total_found(self) -> int:
        return sum(entry["found"] for entry in self.results)


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    BUILDING = "building", _("Being built")
    REVIEW = "review", _("Ready for review")
    RELEASED = "released", _("Sent to the requester")
    DOWNLOADED = "downloaded", _("Downloaded")
    EXPIRED = "expired", _("Expired unused")


def access_export_path(instance: models.Model, filename: str) -> str:
    """A random name: no reference or requester in a path or a log line."""
    return f"access-exports/{uuid.uuid4().hex}.zip"


class AccessExport(models.Model):
    """A requester's copy of what is held on them (art. 15(3), art. 20): built by a worker
    (cases.tasks.build_access_export), reviewed by staff, released through a single-use link
    that expires (LINK_VALID); the file is deleted once downloaded or expired."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="access_exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED, db_index=True
    )
    # A worker's claim on the build; one that died frees it when the claim runs out.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    registers_total = models.PositiveIntegerField(default=0, editable=False)
    registers_done = models.PositiveIntegerField(default=0, editable=False)
    records = models.PositiveIntegerField(_("records"), default=0, editable=False)
    file = models.FileField(_("file"), upload_to=access_export_path, blank=True)
    built_at = models.DateTimeField(_("built"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    link_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)  # noqa: DJ001
    link_expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("downloaded"), null=True, blank=True)
    file_deleted_at = models.DateTimeField(_("file deleted"), null=True, blank=True)
    # The name of a register in another database that did not answer the last build: tried again.
    waiting_for = models.CharField(_("waiting for"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("access export")
        verbose_name_plural = _("access exports")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case}: {self.get_status_display()}"

    @property
    def progress_percent(self) -> int:
        if not self.registers_total:
            return 0
        return min(100, round(100 * self.registers_done / self.registers_total))


class WithheldItem(models.Model):
    """A record that staff keep out of an access export, with the reason the requester is told
    (art. 15(4): the rights and freedoms of others; art. 12(4))."""

    export = models.ForeignKey(AccessExport, on_delete=models.CASCADE, related_name="withheld_items")
    register = models.CharField(_("register"), max_length=100)  # the model's label
    record_key = models.CharField(_("record"), max_length=64)
    reason = models.TextField(_("reason"))
    withheld_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withheld_at = models.DateTimeField(_("withheld"), default=timezone.now)

    class Meta:
        verbose_name = _("withheld item")
        verbose_name_plural = _("withheld items")
        ordering = ["withheld_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["export", "register", "record_key"], name="withheld_once"),
        ]

    def __str__(self) -> str:
        return f"{self.export.case}: {self.register} {self.record_key}"


class SubjectErasure(models.Model):
    """An erasure done for a requester (fulfilment.erase_requester_data): per register what was
    erased and what was kept and why (`results`, counts and reasons' codes only), and the
    retention run that did it. Incomplete when the run failed: staff run it again."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="erasures")
    performed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    performed_at = models.DateTimeField(_("erased"), default=timezone.now)
    run = models.ForeignKey(
        "retention.RetentionRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    complete = models.BooleanField(_("complete"), default=False)
    # [{"register": "registers.Lead", "action": "delete", "erased": 2, "kept": 0, "kept_because": []}]
    results = models.JSONField(_("per register"), default=list)

    class Meta:
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")
        ordering = ["-performed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case}: {timezone.localtime(self.performed_at):%Y-%m-%d %H:%M}"


# The registry (registers.registry): what each model of a case holds and how long. Everything
# of a case is kept as long as the case and deleted with it (`services.delete_cases`).
def _case_retention_clock():
    """From its closing or the last message on it, whichever is later (DESIGN.md §1): a case is
    never deleted under a reporter who has just written."""
    last_message = (
        CaseMessage.objects.filter(case=models.OuterRef("pk"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return Greatest(models.F("closed_at"), Coalesce(models.Subquery(last_message), models.F("closed_at")))


def _delete_cases(case_ids: list) -> int:
    from .services import delete_cases

    return delete_cases(case_ids=case_ids)


_CASE_NOTICE = Notice(
    purpose=_("To receive and handle reports and data-subject requests, and to answer them."),
    legal_basis=_(
        "Legal obligations (art. 6(1)(c)): GDPR arts. 12–22 and 33, the whistleblowing acts, "
        "health and safety law; legitimate interests in handling other reports (art. 6(1)(f))."
    ),
    data_subjects=_("Reporters, requesters, and the people a report is about."),
    source=_("The reporter; staff who handle the case."),
    recipients=_(
        "The team that handles the case type; the supervisory authority for notified breaches; "
        "the police or authorities where the law requires."
    ),
)
declare(
    Case,
    personal_fields=("reporter_name", "reporter_email", "search_document"),
    notice=_CASE_NOTICE,
    retention=(
        Retention(
            category_field="case_type",
            category_prefix="cases.",
            category_choices=tuple(CaseType.values),
            clock=_case_retention_clock,
            clock_label=_("case closed or its last message, whichever is later"),
            eligible=models.Q(closed_at__isnull=False),
        ),
        Retention(
            category="cases.unconfirmed_subject_request",
            clock="received_at",
            clock_label=_("received, the e-mail address never confirmed"),
            eligible=models.Q(case_type=CaseType.SUBJECT_REQUEST, email_confirmed_at__isnull=True),
        ),
    ),
    subject_email=("reporter_email",),
    # Only a reporter who gave their name is found: an anonymous report is never matched to
    # anyone, whatever it contains.
    subject_scope=models.Q(is_anonymous=False),
    answered_elsewhere=models.Q(case_type=CaseType.WHISTLEBLOWING),
    answered_elsewhere_by=_("The whistleblowing team"),
    # The breach register (art. 33(5)) keeps a breach as long as its case.
    legal_duty=_(
        "The GDPR requires us to document every personal-data breach (art. 33(5)): a case with a "
        "breach is kept, restricted to the privacy team, and deleted when its retention period ends."
    ),
    legal_duty_scope=models.Q(breach__isnull=False),
    exported=(
        "reference",
        "case_type",
        "received_at",
        "status",
        "reporter_name",
        "reporter_email",
        "details",
    ),
    delete=_delete_cases,
)
# What a requester's access export holds of a case's parts besides the case: the messages (the
# staff's internal notes among them, marked, for staff to review), the files' names (the files
# themselves come with them) and the identities they proved. The rest (clocks, breach facts,
# exclusions) is about how the case was handled.
_EXPORTED_PARTS: dict[type[models.Model], tuple[str, ...]] = {
    CaseMessage: ("case__reference", "created_at", "author", "is_internal", "body"),
    Attachment: ("case__reference", "original_name", "content_type", "size"),
    ProvenIdentity: ("case__reference", "kind", "value", "added_at"),
}
for _part, _fields, _path in (
    (CaseMessage, ("body",), "case"),
    (Attachment, ("file", "original_name"), "case"),
    (CaseExclusion, ("reason",), "case"),
    (CaseClock, ("late_reasons", "extension_reason"), "case"),
    (
        Breach,
        (
            "nature",
            "data_categories",
            "effects",
            "remedial_action",
            "reasons_not_to_notify",
            "subjects_not_informed_reason",
        ),
        "case",
    ),
    (BreachNotification, ("summary", "delay_reasons"), "breach__case"),
    (EmailConfirmation, (), "case"),
    (ProvenIdentity, ("value", "how_proven"), "case"),
    (SubjectCollection, (), "case"),
    (AccessExport, ("file",), "case"),
    (WithheldItem, ("reason",), "export__case"),
    (SubjectErasure, (), "case"),
):
    declare(
        _part,
        personal_fields=_fields,
        notice=_CASE_NOTICE,
        part_of=_path,
        file_fields=tuple(name for name in _fields if name in ("file",)),
        exported=_EXPORTED_PARTS.get(_part, ()),
    )
