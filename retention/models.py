"""Retention rules per category, legal holds, postponements, and the log of every purge run."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from registers.models import Country
from registers.registry import Notice, personal_data

from .cutoffs import Period


class PeriodUnit(models.TextChoices):
    DAYS = "days", _("days")
    MONTHS = "months", _("months")
    YEARS = "years", _("years")


class Action(models.TextChoices):
    DELETE = "delete", _("Delete")
    ANONYMISE = "anonymise", _("Anonymise")


class CountsFrom(models.TextChoices):
    CLOCK = "clock", _("the record's own date")
    CALENDAR_YEAR_END = "calendar_year_end", _("the end of the calendar year of that date")


def period_text(amount: int, unit: str) -> str:
    """ "1 year", "3 years", "90 days", in the current language."""
    if unit == "days":
        return ngettext("%(count)d day", "%(count)d days", amount) % {"count": amount}
    if unit == "months":
        return ngettext("%(count)d month", "%(count)d months", amount) % {"count": amount}
    return ngettext("%(count)d year", "%(count)d years", amount) % {"count": amount}


class RetentionRule(models.Model):
    """How long the records of one category are kept, and what happens to them then."""

    category = models.CharField(_("category"), max_length=64, unique=True)
    period_amount = models.PositiveIntegerField(_("kept for"))
    period_unit = models.CharField(_("unit"), max_length=8, choices=PeriodUnit.choices)
    action = models.CharField(_("then"), max_length=10, choices=Action.choices, default=Action.DELETE)
    enabled = models.BooleanField(_("enabled"), default=True)
    # The longest staff may postpone one record's deletion (cases), in days from today.
    max_postponement_days = models.PositiveIntegerField(_("longest postponement (days)"), default=365)
    basis = models.CharField(_("why this long"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["category"]

    def __str__(self) -> str:
        return self.category

    @property
    def period(self) -> Period:
        return Period(self.period_amount, self.period_unit)

    def describe(self) -> str:
        return period_text(self.period_amount, self.period_unit)


class CountryPeriod(models.Model):
    """Where the law differs by country of the legal entity that holds the record."""

    rule = models.ForeignKey(RetentionRule, on_delete=models.CASCADE, related_name="country_periods")
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    period_amount = models.PositiveIntegerField(_("kept for"))
    period_unit = models.CharField(_("unit"), max_length=8, choices=PeriodUnit.choices)
    counts_from = models.CharField(
        _("counted from"), max_length=20, choices=CountsFrom.choices, default=CountsFrom.CLOCK
    )
    basis = models.CharField(_("law"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("period for a country")
        verbose_name_plural = _("periods per country")
        constraints = [models.UniqueConstraint(fields=["rule", "country"], name="one_period_per_country")]

    def __str__(self) -> str:
        return f"{self.rule} {self.country}"

    @property
    def period(self) -> Period:
        return Period(self.period_amount, self.period_unit)


class HoldScope(models.TextChoices):
    SUBJECT = "subject", _("A person (by e-mail address)")
    RECORD = "record", _("One record")
    CATEGORY = "category", _("A whole category")


ACTIVE_HOLD = Q(lifted_at__isnull=True) & (Q(until__isnull=True) | Q(until__gt=models.functions.Now()))


@personal_data(
    personal_fields=("email", "reason"),
    notice=Notice(
        purpose=_("To keep what a legal claim, complaint or proceedings needs."),
        legal_basis=_("Establishment, exercise or defence of legal claims (art. 17(3)(e))."),
        data_subjects=_("People whose records a legal hold covers."),
        source=_("Staff."),
        recipients=_("None."),
    ),
    kept_because=_("As the record of why data was kept; lifted holds are kept with the run log."),
    subject_email=("email",),
    exported=("scope", "reason", "created_at", "until", "lifted_at"),
)
class LegalHold(models.Model):
    """Stops retention deleting or anonymising what it covers while it lasts."""

    scope = models.CharField(_("covers"), max_length=10, choices=HoldScope.choices)
    email = models.EmailField(_("e-mail"), blank=True, help_text=_("For a hold on a person."))
    category = models.CharField(_("category"), max_length=64, blank=True)
    record_type = models.ForeignKey(
        ContentType,
        verbose_name=_("record type"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    record_id = models.CharField(_("record id"), max_length=64, blank=True)
    reason = models.TextField(_("reason"))
    until = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Empty: until lifted."))
    created_at = models.DateTimeField(_("placed"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("placed by"), on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lifted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["record_type", "record_id"], name="hold_by_record")]
        constraints = [
            # Compared as retention finds a subject (registers.registry.normalise_email).
            models.CheckConstraint(condition=Q(email=Lower("email")), name="legal_hold_email_lower_case")
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and (self.until is None or self.until > timezone.now())


@personal_data(
    personal_fields=("reason",),
    notice=Notice(
        purpose=_("To keep a case longer than its rule where staff need it."),
        legal_basis=_("As the case it postpones."),
        data_subjects=_("The case's reporter."),
        source=_("Staff."),
        recipients=_("None."),
    ),
    kept_because=_("As long as the record it postpones."),
)
class Postponement(models.Model):
    """Staff keep one record past its rule until a date, with a reason (audit-logged)."""

    record_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    record_id = models.CharField(max_length=64)
    until = models.DateField(_("kept until"))
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("postponed deletion")
        verbose_name_plural = _("postponed deletions")
        constraints = [
            models.UniqueConstraint(fields=["record_type", "record_id"], name="one_postponement_per_record")
        ]

    def __str__(self) -> str:
        return f"{self.record_type.model} {self.record_id} until {self.until}"


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("Manual")
    WITHDRAWAL = "withdrawal", _("Consent withdrawn")
    ERASURE = "erasure", _("Erasure request")


class RunStatus(models.TextChoices):
    RUNNING = "running", pgettext_lazy("a purge run", "Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")
    INTERRUPTED = "interrupted", _("Interrupted")


class RetentionRun(models.Model):
    """One purge: what it did, never to whom. A run that dies is found by its stale heartbeat
    and marked interrupted; the next run takes what it left."""

    trigger = models.CharField(_("trigger"), max_length=12, choices=Trigger.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    # An exception's class only: its message may quote a value.
    error = models.CharField(_("error"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"

    def totals(self) -> dict[str, int]:
        return self.steps.aggregate(
            deleted=models.Sum("deleted", default=0),
            anonymised=models.Sum("anonymised", default=0),
            held=models.Sum("held", default=0),
            failed=models.Sum("failed", default=0),
        )


class RunStep(models.Model):
    """What a run did to one register under one rule: counts, never records."""

    run = models.ForeignKey(RetentionRun, on_delete=models.CASCADE, related_name="steps")
    category = models.CharField(_("category"), max_length=64)
    register = models.CharField(_("register"), max_length=100)
    country = models.CharField(_("country"), max_length=2, blank=True)
    cutoff = models.DateField(_("clock started on or before"), null=True, blank=True)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    anonymised = models.PositiveIntegerField(_("anonymised"), default=0)
    held = models.PositiveIntegerField(_("held"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("run step")
        verbose_name_plural = _("run steps")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "category", "register", "country"], name="one_step_per_rule_and_register"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.register}"
