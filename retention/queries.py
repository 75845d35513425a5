"""The purge engine's reads: which rules apply to which registers (`plan`), which rows of a
register are past their period (`due_rows`), which of those a hold, a postponement or consent
keeps (`not_held`), and the dry run's counts. The purge (`services.run_purge`), the admin's
overview and dry run (`selectors`) all ask these same questions, so that what the overview says
the next run would take is what it takes.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, Coalesce, Lower
from django.utils import timezone

from consent import selectors as consent_selectors
from registers import registry
from registers.registry import Declaration, Retention, normalise_email

from .cutoffs import Period, latest_due_clock
from .defaults import ensure_default_rules
from .models import ACTIVE_HOLD, Action, CountsFrom, HoldScope, LegalHold, Postponement, RetentionRule


def local_today() -> date:
    return timezone.localdate()


def start_of_local_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


@dataclass(frozen=True)
class Step:
    """One register under one rule (and, where the law differs, one country)."""

    rule: RetentionRule
    declaration: Declaration
    retention: Retention
    category: str
    country: str  # "" for every country without a period of its own
    other_countries: tuple[str, ...]
    period: Period
    from_calendar_year_end: bool

    @property
    def action(self) -> str:
        if self.rule.action == Action.ANONYMISE and self.declaration.anonymise:
            return Action.ANONYMISE
        return Action.DELETE

    def cutoff(self, today: date) -> date:
        return latest_due_clock(today, self.period, from_calendar_year_end=self.from_calendar_year_end)


def plan(*, categories: Iterable[str] | None = None) -> list[Step]:
    """What a run goes through: every enabled rule, with every register that falls under it."""
    ensure_default_rules()
    wanted = set(categories) if categories is not None else None
    steps: list[Step] = []
    rules = (
        RetentionRule.objects.filter(enabled=True).prefetch_related("country_periods").order_by("category")
    )
    for rule in rules:
        if wanted is not None and rule.category not in wanted:
            continue
        for declaration, retention in registry.retentions_in(rule.category):
            countries = list(rule.country_periods.all()) if retention.country else []
            own = tuple(period.country for period in countries)
            for period in countries:
                steps.append(
                    Step(
                        rule,
                        declaration,
                        retention,
                        rule.category,
                        period.country,
                        (),
                        period.period,
                        period.counts_from == CountsFrom.CALENDAR_YEAR_END,
                    )
                )
            steps.append(Step(rule, declaration, retention, rule.category, "", own, rule.period, False))
    return steps


def _clock_expression(declaration: Declaration, retention: Retention) -> Any:
    if callable(retention.clock):
        return retention.clock()
    clock: Any = F(retention.clock)
    if retention.clock_from_consent:
        # Consent is given by a person, found by the record's (first) e-mail address.
        given = consent_selectors.consent_given_at(
            purpose=retention.clock_from_consent, email_path=declaration.subject_email[0]
        )
        clock = Coalesce(given, clock)
    return clock


def _clock_is_date(declaration: Declaration, retention: Retention) -> bool:
    if callable(retention.clock) or retention.clock_from_consent:
        return False
    model: Any = declaration.model
    parts = retention.clock.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    field = model._meta.get_field(parts[-1])
    return isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)


def category_rows(
    *,
    declaration: Declaration,
    retention: Retention,
    category: str,
    country: str = "",
    other_countries: tuple[str, ...] = (),
) -> QuerySet:
    """Every row of a register that a category's rule may take, whatever its clock says
    (never rows already anonymised, or rows the rule may not take at all: an open case),
    annotated with the date its clock runs from as `retention_clock`."""
    rows = declaration.model._default_manager.all()
    if retention.category_field:
        rows = rows.filter(**{retention.category_field: category[len(retention.category_prefix) :]})
    if retention.eligible is not None:
        rows = rows.filter(retention.eligible)
    if declaration.anonymised is not None:
        rows = rows.exclude(declaration.anonymised)
    if retention.country:
        if country:
            rows = rows.filter(**{retention.country: country})
        elif other_countries:
            rows = rows.exclude(**{f"{retention.country}__in": other_countries})
    return rows.annotate(retention_clock=_clock_expression(declaration, retention))


def due_rows(step: Step, today: date, *, subject_email: str = "") -> QuerySet:
    """The rows past their period under this step's rule, held ones included; never rows
    already anonymised, rows the rule may not take (an open case), or rows kept by consent."""
    declaration, retention = step.declaration, step.retention
    rows = category_rows(
        declaration=declaration,
        retention=retention,
        category=step.category,
        country=step.country,
        other_countries=step.other_countries,
    )
    cutoff = step.cutoff(today)
    if _clock_is_date(declaration, retention):
        due = Q(retention_clock__lte=cutoff)
    else:
        due = Q(retention_clock__lt=start_of_local_day(cutoff + timedelta(days=1)))
    if retention.clock_from_consent:
        rows = rows.annotate(
            consent_withdrawn=consent_selectors.consent_withdrawn(
                purpose=retention.clock_from_consent, email_path=declaration.subject_email[0]
            )
        )
        due |= Q(consent_withdrawn=True)
    rows = rows.filter(due)
    if retention.kept_by_consent:
        for path in declaration.subject_email:
            rows = rows.exclude(
                consent_selectors.consent_standing(purpose=retention.kept_by_consent, email_path=path)
            )
    if subject_email:
        wanted = normalise_email(subject_email)
        matches = Q()
        for path in declaration.subject_email:
            matches |= Q(**{f"{path}__iexact": wanted})
        rows = rows.filter(matches) if declaration.subject_email else rows.none()
    return rows


def not_held(rows: QuerySet, step: Step, today: date) -> QuerySet:
    """The due rows no legal hold or postponement keeps. Each kind of hold is asked for only
    where one exists now, so that the purge's query stays as plain as the rows allow (the
    purge asks again every few seconds: a hold placed during a run counts from then on)."""
    holds = LegalHold.objects.filter(ACTIVE_HOLD)
    if holds.filter(scope=HoldScope.CATEGORY, category=step.category).exists():
        return rows.none()
    record_type = ContentType.objects.get_for_model(step.declaration.model)
    record_id = Cast(OuterRef("pk"), output_field=CharField())
    record_holds = holds.filter(scope=HoldScope.RECORD, record_type=record_type)
    if record_holds.exists():
        rows = rows.exclude(Exists(record_holds.filter(record_id=record_id)))
    postponements = Postponement.objects.filter(record_type=record_type, until__gte=today)
    if postponements.exists():
        rows = rows.exclude(Exists(postponements.filter(record_id=record_id)))
    # Held addresses are lower case (a constraint); the record's are compared lower-cased.
    subject_holds = holds.filter(scope=HoldScope.SUBJECT)
    if step.declaration.subject_email and subject_holds.exists():
        for path in step.declaration.subject_email:
            rows = rows.exclude(Exists(subject_holds.filter(email=Lower(OuterRef(path)))))
    return rows


def held_rows(rows: QuerySet, declaration: Declaration) -> QuerySet:
    """The rows an active legal hold covers: all of them under a hold on one of the register's
    categories, else those under a hold on the record or on the address it names. (Postponements
    keep a record past its retention; they do not stand against an erasure request.)"""
    holds = LegalHold.objects.filter(ACTIVE_HOLD)
    categories = {category for retention in declaration.retention for category in retention.categories()}
    if holds.filter(scope=HoldScope.CATEGORY, category__in=categories).exists():
        return rows
    record_type = ContentType.objects.get_for_model(declaration.model)
    record_id = Cast(OuterRef("pk"), output_field=CharField())
    covered = Q(Exists(holds.filter(scope=HoldScope.RECORD, record_type=record_type, record_id=record_id)))
    for path in declaration.subject_email:
        covered |= Q(Exists(holds.filter(scope=HoldScope.SUBJECT, email=Lower(OuterRef(path)))))
    return rows.filter(covered)


@dataclass(frozen=True)
class DryRunLine:
    category: str
    register: str
    country: str
    cutoff: date
    action: str
    due: int
    held: int

    @property
    def would_go(self) -> int:
        return self.due - self.held


def dry_run(*, today: date | None = None) -> list[DryRunLine]:
    """Per rule and register, how many records a run today would take and how many are held:
    counts and dates, never a record."""
    today = today or local_today()
    lines = []
    for step in plan():
        due = due_rows(step, today)
        due_count = due.count()
        held = due_count - not_held(due, step, today).count() if due_count else 0
        lines.append(
            DryRunLine(
                step.category,
                step.declaration.verbose_name_plural,
                step.country,
                step.cutoff(today),
                step.action,
                due_count,
                held,
            )
        )
    return lines


def consents_ending_soon(*, purpose: str, within_days: int, today: date) -> set[tuple[str, datetime]]:
    """The (address, consent given) of every record whose clock runs from its subject's consent
    for `purpose` and whose period ends within `within_days` days after today, not before: who
    is to be asked to renew (a recruitment-database entry, 30 days before its 360 days end)."""
    found: set[tuple[str, datetime]] = set()
    for step in plan():
        if step.retention.clock_from_consent != purpose or not step.declaration.subject_email:
            continue
        path = step.declaration.subject_email[0]
        horizon = step.cutoff(today + timedelta(days=within_days))
        rows = step.declaration.model._default_manager.annotate(
            consent_given=consent_selectors.consent_given_at(purpose=purpose, email_path=path)
        ).filter(
            consent_given__gte=start_of_local_day(step.cutoff(today) + timedelta(days=1)),
            consent_given__lt=start_of_local_day(horizon + timedelta(days=1)),
        )
        found |= {(normalise_email(email), given) for email, given in rows.values_list(path, "consent_given")}
    return found
