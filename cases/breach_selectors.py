"""The breach register's reads (art. 33(5)), to be merged into cases/selectors.py.

Like every staff read, the register sees only the cases `selectors.visible_cases` lets its
reader see: a breach found in a whistleblowing report stays with the whistleblowing team.
"""

from django.db.models import Exists, OuterRef, QuerySet

from .models import Breach, BreachNotification, CaseClock, ClockKind
from .selectors import visible_cases

# The register's filters of "not decided yet": the model stores that as the empty string, which
# a filter form cannot tell from "no filter".
PENDING = "pending"


def breach_register(
    *,
    user,
    decision: str = "",
    notified: str = "",
    subjects_informed: str = "",
    year: int | None = None,
    text: str = "",
) -> QuerySet[Breach]:
    """The breaches of the cases the user may see, latest awareness first, with their case and
    their notifications (every phase) in a constant number of queries.

    `decision` and `subjects_informed` are one of the model's values or "pending"; `notified` is
    "yes" or "no"; `year` the year of awareness in the site's time zone; `text` words in what
    happened.
    """
    breaches = Breach.objects.filter(case__in=visible_cases(user=user))
    if decision:
        breaches = breaches.filter(decision="" if decision == PENDING else decision)
    if subjects_informed:
        breaches = breaches.filter(
            subjects_informed="" if subjects_informed == PENDING else subjects_informed
        )
    notifications = BreachNotification.objects.filter(breach=OuterRef("pk"))
    if notified == "yes":
        breaches = breaches.filter(Exists(notifications))
    elif notified == "no":
        breaches = breaches.exclude(Exists(notifications))
    if year:
        breaches = breaches.filter(aware_at__year=year)
    if text.strip():
        breaches = breaches.filter(nature__icontains=text.strip())
    return breaches.select_related("case").prefetch_related("notifications").order_by("-aware_at", "-pk")


def case_breach(*, case) -> Breach | None:
    """The breach record of a case that came through the door (`selectors.access_case`), with
    its notifications, or None when the case never got the breach clock."""
    return Breach.objects.filter(case=case).prefetch_related("notifications").first()


def breach_clock(*, case) -> CaseClock | None:
    """The case's 72-hour clock, running or met (not one dropped when the case changed type)."""
    return case.clocks.filter(kind=ClockKind.BREACH_NOTIFICATION, dropped_at__isnull=True).first()
