"""The staff dashboard's figures: reads only, like selectors, each from `selectors.visible_cases`
so that team visibility and exclusions apply to every number (a whistleblowing count is never
seen outside the whistleblowing team).

Every figure is an aggregate query grouped by case type (or right): the number of queries is the
same whatever the number of cases. What each figure counts:

- received: cases received in the period; closed: cases closed in the period.
- met on time / met late / breached: the clocks (not dropped by a change of type) due on a day
  of the period, i.e. `start < due <= end` (a deadline is the end of its last day, so one due on
  the period's last day is due at its end): met on time when met at or before the due moment,
  met late when met after it, breached when not met and the due moment has passed
  (`deadlines.clock_state`'s rules). A clock due later in the period and still running is in
  none of the three.
- time to the answer: from receipt to the moment the answer clock was met, for answer clocks met
  in the period; the median and the 90th percentile (continuous, interpolated).
- open cases by clock state: now, whatever the period; every case not closed, by the worst of
  its running clocks, as the queue's clock filter counts them (`selectors.with_clock_state`).
- data-subject requests by right: requests received in the period.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)

from . import report_periods, selectors
from .models import Case, CaseClock, CaseStatus, CaseType, CaseTypeRouting, ClockKind, SubjectRight

# The states of open cases, in the order the page shows them (the queue's clock filter's).
OPEN_STATES = ("breached", "at_risk", "open", "none")
PERCENTILES = {"median": 0.5, "p90": 0.9}


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate `percentile_cont(fraction) WITHIN GROUP (ORDER BY x)`;
    it works on numbers and on intervals, and returns the same type as x."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile is a fraction from 0 to 1")
        super().__init__(expression, fraction=Value(fraction, output_field=FloatField()), **extra)

    def as_sql(self, compiler, connection, **extra_context):
        fraction_sql, fraction_params = compiler.compile(self.extra["fraction"])
        sql, params = super().as_sql(compiler, connection, fraction=fraction_sql, **extra_context)
        # The fraction comes first in the SQL, before the ordered expression.
        return sql, (*fraction_params, *params)


@dataclass
class TypeFigures:
    case_type: str
    received: int = 0
    closed: int = 0
    met_on_time: int = 0
    met_late: int = 0
    breached: int = 0
    answers: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None
    open_states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPEN_STATES, 0))


@dataclass
class Figures:
    start: datetime
    end: datetime
    now: datetime
    by_type: list[TypeFigures]
    rights: dict[str, int] | None  # None when the user sees no data-subject request

    @property
    def open_totals(self) -> dict[str, int]:
        return {state: sum(row.open_states[state] for row in self.by_type) for state in OPEN_STATES}


def scoped_cases(*, user, team: str = "") -> QuerySet[Case]:
    """The cases the user may see, of one of their own teams if `team` (a slug) is given."""
    cases = selectors.visible_cases(user=user)
    if team:
        cases = cases.filter(case_type__in=_routed_types(user=user, team=team).values("case_type"))
    return cases


def _routed_types(*, user, team: str = "") -> QuerySet[CaseTypeRouting]:
    routings = CaseTypeRouting.objects.filter(team__memberships__user=user)
    return routings.filter(team__slug=team) if team else routings


def shown_types(*, user, team: str = "") -> list[str]:
    """The case types whose figures the user reads, in the order of CaseType: those routed to
    their teams (to the one team, if given), zeros included."""
    if not selectors.visible_cases(user=user).query.is_empty():
        routed = set(_routed_types(user=user, team=team).values_list("case_type", flat=True))
        return [case_type for case_type in CaseType.values if case_type in routed]
    return []


def _counts_by_type(cases: QuerySet[Case], *, start: datetime, end: datetime) -> dict[str, dict]:
    received = Q(received_at__gte=start, received_at__lt=end)
    closed = Q(closed_at__gte=start, closed_at__lt=end)
    rows = (
        cases.filter(received | closed)
        .values("case_type")
        .annotate(received=Count("pk", filter=received), closed=Count("pk", filter=closed))
        .order_by()
    )
    return {row["case_type"]: row for row in rows}


def _clocks_by_type(
    cases: QuerySet[Case], *, start: datetime, end: datetime, now: datetime
) -> dict[str, dict]:
    met = Q(met_at__isnull=False)
    rows = (
        CaseClock.objects.filter(case__in=cases, dropped_at__isnull=True, due_at__gt=start, due_at__lte=end)
        .values("case__case_type")
        .annotate(
            met_on_time=Count("pk", filter=met & Q(met_at__lte=F("due_at"))),
            met_late=Count("pk", filter=met & Q(met_at__gt=F("due_at"))),
            breached=Count("pk", filter=Q(met_at__isnull=True, due_at__lte=now)),
        )
        .order_by()
    )
    return {row["case__case_type"]: row for row in rows}


def _open_states_by_type(cases: QuerySet[Case], *, now: datetime) -> dict[str, dict]:
    at_risk_clock = selectors.running_clocks().filter(case=OuterRef("pk"), at_risk_at__lte=now)
    running = Q(next_due_at__gt=now)
    rows = (
        cases.exclude(status=CaseStatus.CLOSED)
        .annotate(has_at_risk_clock=Exists(at_risk_clock))
        .values("case_type")
        .annotate(
            breached=Count("pk", filter=Q(next_due_at__lte=now)),
            at_risk=Count("pk", filter=running & Q(has_at_risk_clock=True)),
            open=Count("pk", filter=running & Q(has_at_risk_clock=False)),
            none=Count("pk", filter=Q(next_due_at__isnull=True)),
        )
        .order_by()
    )
    return {row["case_type"]: row for row in rows}


def _answer_clocks(cases: QuerySet[Case], *, start: datetime, end: datetime) -> QuerySet[CaseClock]:
    return CaseClock.objects.filter(
        case__in=cases, kind=ClockKind.ANSWER, dropped_at__isnull=True, met_at__gte=start, met_at__lt=end
    ).annotate(
        time_to_answer=ExpressionWrapper(F("met_at") - F("case__received_at"), output_field=DurationField())
    )


def _answer_times_by_type(cases: QuerySet[Case], *, start: datetime, end: datetime) -> dict[str, dict]:
    """The number of answers, their median and 90th percentile time, by type.

    PostgreSQL computes the percentiles itself (`percentile_cont`). Other databases (SQLite, the
    embedded default) have no percentile aggregate: there the times come sorted in one query
    and `report_periods.percentile_cont` interpolates them the same way. That reads one small
    row per answer, never a case.
    """
    clocks = _answer_clocks(cases, start=start, end=end)
    if connection.vendor == "postgresql":
        rows = (
            clocks.values("case__case_type")
            .annotate(
                answers=Count("pk"),
                **{
                    name: PercentileCont("time_to_answer", fraction=fraction, output_field=DurationField())
                    for name, fraction in PERCENTILES.items()
                },
            )
            .order_by()
        )
        return {row["case__case_type"]: row for row in rows}
    times: dict[str, list[timedelta]] = defaultdict(list)
    ordered_times = clocks.order_by("case__case_type", F("time_to_answer").asc())
    for case_type, time_to_answer in ordered_times.values_list("case__case_type", F("time_to_answer")):
        times[case_type].append(time_to_answer)
    return {
        case_type: {
            "answers": len(ordered),
            **{
                name: report_periods.percentile_cont(ordered, fraction)
                for name, fraction in PERCENTILES.items()
            },
        }
        for case_type, ordered in times.items()
    }


def _rights(cases: QuerySet[Case], *, start: datetime, end: datetime) -> dict[str, int]:
    rows = (
        cases.filter(case_type=CaseType.SUBJECT_REQUEST, received_at__gte=start, received_at__lt=end)
        .values("subject_right")
        .annotate(received=Count("pk"))
        .order_by()
    )
    counted = {row["subject_right"]: row["received"] for row in rows}
    return {right: counted.get(right, 0) for right in SubjectRight.values}


def figures(*, user, start: datetime, end: datetime, now: datetime, team: str = "") -> Figures:
    """Every figure of the dashboard for the moments `start <= moment < end`, of the cases the
    user may see (of one of their teams, if `team` is given). Six queries, whatever the data."""
    types = shown_types(user=user, team=team)
    cases = scoped_cases(user=user, team=team)
    counts = _counts_by_type(cases, start=start, end=end)
    clocks = _clocks_by_type(cases, start=start, end=end, now=now)
    open_states = _open_states_by_type(cases, now=now)
    answer_times = _answer_times_by_type(cases, start=start, end=end)
    rows = []
    for case_type in types:
        row = TypeFigures(case_type=case_type)
        for source in (counts, clocks, answer_times):
            for name, value in source.get(case_type, {}).items():
                if hasattr(row, name) and name != "case_type":
                    setattr(row, name, value)
        for state in OPEN_STATES:
            row.open_states[state] = open_states.get(case_type, {}).get(state, 0)
        rows.append(row)
    rights = _rights(cases, start=start, end=end) if CaseType.SUBJECT_REQUEST in types else None
    return Figures(start=start, end=end, now=now, by_type=rows, rights=rights)
