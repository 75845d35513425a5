"""Reads of the admin's retention pages: the overview of what each category holds, the dry run
with its reasons, the record of processing activities (art. 30) and the proof of deletion.

Every number here is a count or a date computed over many records; no function returns a
record, a name or an address. They read the registry's declarations and the purge engine's own
queries (`queries.plan`, `category_rows`, `due_rows`, `not_held`), so that what the overview
says the next run would take is what the next run takes.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registers import registry
from registers.exports import field_label
from registers.models import Country, ExternalRegister
from registers.registry import Declaration
from registers.selectors import owning_declaration

from . import queries
from .defaults import ensure_default_rules
from .models import Action, CountsFrom, RetentionRule, RunStep, period_text

# Categories whose records the overview only counts: when whistleblowing reports were closed,
# or that some are about to go, is itself something only the whistleblowing team should know.
COUNT_ONLY_CATEGORIES = frozenset({"cases.whistleblowing"})


def _as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value


def _rules() -> dict[str, RetentionRule]:
    ensure_default_rules()
    return {rule.category: rule for rule in RetentionRule.objects.prefetch_related("country_periods")}


# --- the overview (issue 11, point 4) -----------------------------------------------------------


@dataclass(frozen=True)
class CategoryOverview:
    category: str
    registers: list[str]
    records: int
    # None where the category shows its count only (COUNT_ONLY_CATEGORIES).
    oldest_clock: date | None = None
    rule: RetentionRule | None = None
    next_run_takes: int | None = None
    count_only: bool = False

    @property
    def rule_text(self) -> str:
        if self.rule is None:
            return _("No rule")
        text = period_text(self.rule.period_amount, self.rule.period_unit)
        return f"{text}, {self.rule.get_action_display().lower()}"


def overview(*, today: date | None = None) -> list[CategoryOverview]:
    """Per retention category: how many records it holds now (those its rule may take, so cases
    once closed), the oldest date a clock runs from, its rule, and how many of them the next run
    would take (due, not held). For the count-only categories, the count alone."""
    today = today or queries.local_today()
    rules = _rules()
    steps_by_category: dict[str, list[queries.Step]] = {}
    for step in queries.plan():
        steps_by_category.setdefault(step.category, []).append(step)
    lines = []
    for category in registry.categories():
        retentions = registry.retentions_in(category)
        rows = [
            queries.category_rows(declaration=declaration, retention=retention, category=category)
            for declaration, retention in retentions
        ]
        records = sum(queryset.count() for queryset in rows)
        if category in COUNT_ONLY_CATEGORIES:
            lines.append(CategoryOverview(category=category, registers=[], records=records, count_only=True))
            continue
        oldest = [_as_date(queryset.aggregate(oldest=Min("retention_clock"))["oldest"]) for queryset in rows]
        known = [day for day in oldest if day is not None]
        takes = sum(
            queries.not_held(queries.due_rows(step, today), step, today).count()
            for step in steps_by_category.get(category, [])
        )
        lines.append(
            CategoryOverview(
                category=category,
                registers=sorted({declaration.verbose_name_plural for declaration, _r in retentions}),
                records=records,
                oldest_clock=min(known) if known else None,
                rule=rules.get(category),
                next_run_takes=takes,
            )
        )
    return lines


# --- the dry run (point 10) -------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunRow:
    line: queries.DryRunLine
    clock_label: str

    @property
    def why(self) -> str:
        facts = {
            "clock": self.clock_label,
            "cutoff": self.line.cutoff.isoformat(),
            "held": self.line.held,
        }
        if not self.line.due:
            return _("No record's clock (%(clock)s) started on or before %(cutoff)s.") % facts
        text = _("Their clock (%(clock)s) started on or before %(cutoff)s.") % facts
        if self.line.held:
            text += " " + (
                ngettext(
                    "%(held)d is kept by a legal hold or a postponement.",
                    "%(held)d are kept by a legal hold or a postponement.",
                    self.line.held,
                )
                % facts
            )
        return text


def dry_run(*, today: date | None = None) -> list[DryRunRow]:
    """queries.dry_run, each line with what its clock runs from: counts and dates only."""
    clocks = {
        (category, declaration.verbose_name_plural): str(retention.clock_label)
        for category in registry.categories()
        for declaration, retention in registry.retentions_in(category)
    }
    return [
        DryRunRow(line=line, clock_label=clocks.get((line.category, line.register), ""))
        for line in queries.dry_run(today=today)
    ]


# --- the record of processing activities (art. 30(1), point 4) ----------------------------------


@dataclass(frozen=True)
class Controller:
    name: str
    email: str
    postal_address: str


def controller() -> Controller:
    return Controller(
        name=settings.TRUSTCENTER_CONTROLLER_NAME,
        email=settings.TRUSTCENTER_PRIVACY_EMAIL,
        postal_address=settings.TRUSTCENTER_POSTAL_ADDRESS,
    )


@dataclass
class RetentionEntry:
    category: str
    clock: str
    period: str
    action: str
    enabled: bool
    countries: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.period:
            return _("%(category)s: no rule") % {"category": self.category}
        text = _("%(category)s: %(period)s after %(clock)s, then %(action)s") % {
            "category": self.category,
            "period": self.period,
            "clock": self.clock,
            "action": self.action,
        }
        if self.countries:
            text += " (" + "; ".join(self.countries) + ")"
        if not self.enabled:
            text += " " + _("[rule disabled]")
        return text


@dataclass
class ProcessingActivity:
    """One register as art. 30(1) describes it; the records that belong to it (a case's
    messages and files) folded in."""

    register: str
    label: str
    purpose: str
    legal_basis: str
    data_subjects: str
    data_categories: list[str]
    source: str
    recipients: str
    transfers: str
    retention: list[RetentionEntry]
    kept_because: str
    parts: list[str] = field(default_factory=list)

    @property
    def retention_text(self) -> str:
        if self.retention:
            return "\n".join(str(entry) for entry in self.retention)
        return self.kept_because


def _retention_entries(declaration: Declaration, rules: dict[str, RetentionRule]) -> list[RetentionEntry]:
    entries = []
    for retention in declaration.retention:
        for category in retention.categories():
            rule = rules.get(category)
            if rule is None:
                entries.append(
                    RetentionEntry(
                        category=category,
                        clock=str(retention.clock_label),
                        period="",
                        action="",
                        enabled=False,
                    )
                )
                continue
            action = (
                Action.ANONYMISE
                if rule.action == Action.ANONYMISE and declaration.anonymise
                else Action.DELETE
            )
            countries = []
            if retention.country:
                for country_period in rule.country_periods.all():
                    facts = {
                        "country": Country(country_period.country).label,
                        "period": period_text(country_period.period_amount, country_period.period_unit),
                    }
                    if country_period.counts_from == CountsFrom.CALENDAR_YEAR_END:
                        text = _("%(country)s: %(period)s after the end of that calendar year") % facts
                    else:
                        text = _("%(country)s: %(period)s") % facts
                    countries.append(text)
            entries.append(
                RetentionEntry(
                    category=category,
                    clock=str(retention.clock_label),
                    period=period_text(rule.period_amount, rule.period_unit),
                    action=str(Action(action).label).lower(),
                    enabled=rule.enabled,
                    countries=countries,
                )
            )
    return entries


def _external_retention(register: ExternalRegister, rules: dict[str, RetentionRule]) -> list[RetentionEntry]:
    """A register in another database under its category's rule (the rule's own period: it
    has no country)."""
    if not register.category:
        return []
    rule = rules.get(register.category)
    clock = register.clock_column or "—"
    if rule is None or not register.clock_column:
        return [RetentionEntry(category=register.category, clock=clock, period="", action="", enabled=False)]
    anonymised = rule.action == Action.ANONYMISE and register.erasure == ExternalRegister.Erasure.ANONYMISE
    return [
        RetentionEntry(
            category=register.category,
            clock=clock,
            period=period_text(rule.period_amount, rule.period_unit),
            action=str(Action(Action.ANONYMISE if anonymised else Action.DELETE).label).lower(),
            enabled=rule.enabled,
        )
    ]


def processing_activities() -> list[ProcessingActivity]:
    """The record of processing activities, generated from the registry's declarations and the
    registers in other databases: one entry per register that owns its records, with what
    belongs to it folded in."""
    rules = _rules()
    activities: dict[str, ProcessingActivity] = {}
    parts: list[Declaration] = []
    for declaration in registry.declarations():
        if owning_declaration(declaration) is not declaration:
            parts.append(declaration)
            continue
        notice = declaration.notice
        activities[declaration.label] = ProcessingActivity(
            register=_capitalised(declaration.verbose_name_plural),
            label=declaration.label,
            purpose=str(notice.purpose),
            legal_basis=str(notice.legal_basis),
            data_subjects=str(notice.data_subjects),
            data_categories=[field_label(declaration.model, name) for name in declaration.personal_fields],
            source=str(notice.source),
            recipients=str(notice.recipients),
            transfers=str(notice.transfers),
            retention=_retention_entries(declaration, rules),
            kept_because=str(declaration.kept_because),
        )
    for register in ExternalRegister.objects.filter(enabled=True):
        activities[register.label] = ProcessingActivity(
            register=_capitalised(register.name),
            label=register.label,
            purpose=register.purpose,
            legal_basis=register.legal_basis,
            data_subjects=register.data_subjects,
            data_categories=list(register.exported_columns),
            source=register.source,
            recipients=register.recipients,
            transfers=register.transfers,
            retention=_external_retention(register, rules),
            kept_because="",
        )
    for part in parts:
        activity = activities[owning_declaration(part).label]
        activity.parts.append(part.verbose_name_plural)
        if part.personal_fields:
            names = ", ".join(field_label(part.model, name) for name in part.personal_fields)
            activity.data_categories.append(f"{part.verbose_name_plural}: {names}")
    return sorted(activities.values(), key=lambda activity: activity.register.lower())


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- proof of deletion (point 11) -------------------------------------------------------------


def run_steps_started_between(*, first_day: date, last_day: date) -> QuerySet[RunStep]:
    """The steps of the runs started from the start of `first_day` to the end of `last_day`
    (local time), oldest run first."""
    start = queries.start_of_local_day(first_day)
    end = queries.start_of_local_day(last_day + timedelta(days=1))
    return (
        RunStep.objects.filter(run__started_at__gte=start, run__started_at__lt=end)
        .select_related("run")
        .order_by("run__started_at", "run_id", "pk")
    )


PROOF_COLUMNS = (
    "run",
    "trigger",
    "status",
    "started",
    "finished",
    "category",
    "register",
    "country",
    "cutoff",
    "deleted",
    "anonymised",
    "held",
    "failed",
)


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def proof_of_deletion_rows(*, first_day: date, last_day: date) -> Iterator[list[Any]]:
    """The proof-of-deletion export's rows, in PROOF_COLUMNS' order: counts, never records."""
    for step in run_steps_started_between(first_day=first_day, last_day=last_day).iterator(chunk_size=500):
        run = step.run
        yield [
            run.pk,
            run.trigger,
            run.status,
            _local(run.started_at),
            _local(run.finished_at),
            step.category,
            step.register,
            step.country,
            step.cutoff.isoformat() if step.cutoff else "",
            step.deleted,
            step.anonymised,
            step.held,
            step.failed,
        ]
