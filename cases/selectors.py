"""Reads that several callers share. Selectors never import services: services use them."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from registers.marks import visible_records
from retention import cutoffs
from retention.models import Postponement, RetentionRule
from trustcenter.models import Team

from . import receipts
from .models import (
    Attachment,
    Breach,
    BreachNotification,
    Case,
    CaseClock,
    CaseExclusion,
    CaseStatus,
    CaseType,
    CaseTypeRouting,
    ClockKind,
)

# The permission that lets a staff member read cases at all; their teams decide which.
VIEW_CASES_PERMISSION = "cases.view_case"


def receipt_hash(code: str) -> str:
    """The stored form of a receipt code: Argon2id with the site-wide secret salt."""
    return receipts.hash_receipt_code(
        code,
        salt=settings.RECEIPT_SALT,
        time_cost=settings.TRUSTCENTER_RECEIPT_HASH_TIME_COST,
        memory_kib=settings.TRUSTCENTER_RECEIPT_HASH_MEMORY_KIB,
    )


def case_for_receipt_code(*, typed_code: str) -> Case | None:
    """The case a receipt code opens: one indexed lookup of its hash, or None.

    Not rate-limited here: callers that take a code from a client go through
    `services.open_case_with_code`, which counts the attempt first.
    """
    code = receipts.normalise_code(typed_code)
    if code is None:
        return None
    return Case.objects.filter(receipt_hash=receipt_hash(code)).first()


def followup_case(*, case_id: int | None) -> Case | None:
    """The case a reporter's follow-up session opened (by its receipt code), if any."""
    return Case.objects.filter(pk=case_id).first() if case_id else None


def case_messages(*, case: Case):
    """The conversation as the reporter sees it: internal notes are the team's alone."""
    return case.messages.filter(is_internal=False).prefetch_related("attachments")


def answer_extension(*, case: Case) -> CaseClock | None:
    """The answer clock, if its deadline was extended: the requester reads why at follow-up."""
    return case.clocks.filter(extended_at__isnull=False, dropped_at__isnull=True).first()


def staff_case_messages(*, case: Case):
    """The whole conversation, internal notes included, for staff who came through the door."""
    return case.messages.select_related("staff_user").prefetch_related("attachments")


def visible_cases(*, user):
    """The cases a staff member may see: the one place visibility is decided.

    An active staff member with the permission to view cases sees the cases whose type is routed
    to one of their teams, and no others: being a superuser adds none (a whistleblowing report is
    seen by the whistleblowing team alone), except those a team lead excluded them from, and
    those kept restricted after their reporter's erasure (a legal hold), unless they may see
    restricted records (the privacy team). One query, whatever the number of teams.
    """
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Case.objects.none()
    if not user.has_perm(VIEW_CASES_PERMISSION):
        return Case.objects.none()
    routed_to_their_teams = CaseTypeRouting.objects.filter(team__memberships__user=user).values("case_type")
    excluded_from = CaseExclusion.objects.filter(user=user).values("case_id")
    cases = Case.objects.filter(case_type__in=routed_to_their_teams).exclude(pk__in=excluded_from)
    return visible_records(cases, user=user)


def handlers_of_type(*, case_type: str):
    """The active staff of the team a case type is routed to: whom a whistleblower may name as
    someone who must not see the report."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            is_staff=True,
            team_memberships__team__routings__case_type=case_type,
        )
        .order_by("first_name", "last_name", "username")
        .distinct()
    )


def handlers_of_case(*, case: Case):
    """The handlers who can see the case: its team's, less those excluded from it."""
    return (
        handlers_of_type(case_type=case.case_type)
        .exclude(pk__in=CaseExclusion.objects.filter(case=case).values("user_id"))
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__codename="view_case")
            | Q(groups__permissions__codename="view_case")
        )
        .distinct()
    )


def access_case(*, user, case_id: int) -> Case:
    """The one door through which staff read a case; raises PermissionDenied otherwise."""
    case = visible_cases(user=user).filter(pk=case_id).first()
    if case is None:
        raise PermissionDenied
    return case


def case_attachment(*, case: Case, attachment_id: int, internal_too: bool = False) -> Attachment | None:
    """One of the case's files; only ever asked for a case that came through a door. The files
    of internal notes only for staff (`internal_too`), never for the reporter."""
    attachments = (
        case.attachments.all() if internal_too else case.attachments.filter(message__is_internal=False)
    )
    return attachments.filter(pk=attachment_id).first()


# --- The staff workspace's queue ---------------------------------------------------------------

# The text-search configuration of each site language (PostgreSQL's built-in ones); migration
# 0006 indexes `search_document` with each, for the cases of that language.
SEARCH_CONFIGS = {"en": "english", "nb": "norwegian", "sv": "swedish", "da": "danish"}

# Clock states the queue filters by: of a case's running clocks, the worst.
CLOCK_FILTERS = ("breached", "at_risk", "open", "none")


def team_names_by_type() -> dict[str, str]:
    """The name of the team each case type is routed to, for showing beside a case."""
    return dict(CaseTypeRouting.objects.values_list("case_type", "team__name"))


def teams_of(*, user) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("name")


def colleagues_of(*, user):
    """The active staff of the user's teams, the user included: whom a case may be assigned to."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, team_memberships__team__memberships__user=user)
        .order_by("first_name", "last_name", "username")
        .distinct()
    )


def running_clocks() -> QuerySet[CaseClock]:
    return CaseClock.objects.filter(met_at__isnull=True, dropped_at__isnull=True)


def search_cases(cases: QuerySet[Case], *, text: str) -> QuerySet[Case]:
    """Cases whose reference, report or messages match the words: full-text search in the
    case's own language on PostgreSQL (answered from the per-language indexes), a plain
    match elsewhere."""
    text = text.strip()
    if not text:
        return cases
    matches = Q(reference__icontains=text)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # The word matches in a subquery of their own: ORed there, PostgreSQL answers them with a
        # bitmap OR of the four indexes and hashes the ids; ORed with the reference match in the
        # outer WHERE, it would compute every case's tsvector instead (bench/queue.py).
        words = Case.objects.all()
        word_matches = Q()
        for language, config in SEARCH_CONFIGS.items():
            words = words.alias(**{f"words_{language}": SearchVector("search_document", config=config)})
            word_matches |= Q(language=language) & Q(
                **{f"words_{language}": SearchQuery(text, config=config, search_type="websearch")}
            )
        matches |= Q(pk__in=words.filter(word_matches).values("pk"))
    else:
        matches |= Q(search_document__icontains=text)
    return cases.filter(matches)


def with_clock_state(cases: QuerySet[Case], *, state: str, now: datetime) -> QuerySet[Case]:
    """Cases whose running clocks are, at worst, in this state (`none`: no clock runs)."""
    clocks = running_clocks().filter(case=OuterRef("pk"))
    if state == "breached":
        return cases.filter(next_due_at__lte=now)
    if state == "at_risk":
        return cases.filter(next_due_at__gt=now).filter(Exists(clocks.filter(at_risk_at__lte=now)))
    if state == "open":
        return cases.filter(next_due_at__gt=now).exclude(Exists(clocks.filter(at_risk_at__lte=now)))
    if state == "none":
        return cases.filter(next_due_at__isnull=True)
    return cases


def waiting_for_requester() -> Q:
    """Data-subject requests whose requester has not confirmed the e-mail address yet."""
    return Q(case_type=CaseType.SUBJECT_REQUEST, email_confirmed_at__isnull=True)


def queue(
    *,
    user,
    now: datetime,
    case_type: str = "",
    status: str = "",
    team: str = "",
    assignee: str = "",
    clock_state: str = "",
    text: str = "",
    waiting: bool = False,
) -> QuerySet[Case]:
    """The staff member's queue: the open cases of their teams, nearest due clock first.

    `status` is a status, "open" (the default: all but closed) or "all"; `assignee` is "me",
    "none" or a user's id; `waiting` shows the data-subject requests still waiting for their
    requester to confirm, which the default view leaves out. The rows come with their running
    clocks and assignee in a constant number of queries, whatever their number.
    """
    cases = visible_cases(user=user)
    if status in CaseStatus.values:
        cases = cases.filter(status=status)
    elif status != "all":
        cases = cases.exclude(status=CaseStatus.CLOSED)
    cases = cases.filter(waiting_for_requester()) if waiting else cases.exclude(waiting_for_requester())
    if case_type:
        cases = cases.filter(case_type=case_type)
    if team:
        cases = cases.filter(
            case_type__in=CaseTypeRouting.objects.filter(team__slug=team).values("case_type")
        )
    if assignee == "me":
        cases = cases.filter(assignee=user)
    elif assignee == "none":
        cases = cases.filter(assignee__isnull=True)
    elif assignee.isdigit():
        cases = cases.filter(assignee_id=int(assignee))
    cases = with_clock_state(cases, state=clock_state, now=now)
    cases = search_cases(cases, text=text)
    return (
        cases.select_related("assignee")
        .prefetch_related(Prefetch("clocks", queryset=running_clocks(), to_attr="running_clocks"))
        .order_by(F("next_due_at").asc(nulls_last=True), "received_at", "pk")
    )


# --- The breach register (art. 33(5)) -----------------------------------------------------------

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


@dataclass(frozen=True)
class CaseRetention:
    rule: str  # "3 years", or "" where the type has no enabled rule
    counts_from: date | None  # closing or the last message, whichever is later; None while open
    kept_until: date | None
    postponed_until: date | None
    longest_postponement: date | None


def case_retention(*, case: Case) -> CaseRetention:
    """How long a case is kept (DESIGN.md §1, case retention), for the case page; the purge
    counts the same way (the registry's declaration on Case)."""
    from django.contrib.contenttypes.models import ContentType

    rule = RetentionRule.objects.filter(category=f"cases.{case.case_type}", enabled=True).first()
    last_message = case.messages.order_by("-created_at").values_list("created_at", flat=True).first()
    counts_from = None
    if case.closed_at is not None:
        counts_from = timezone.localdate(max(case.closed_at, last_message or case.closed_at))
    postponement = Postponement.objects.filter(
        record_type=ContentType.objects.get_for_model(Case), record_id=str(case.pk)
    ).first()
    today = timezone.localdate()
    return CaseRetention(
        rule=rule.describe() if rule else "",
        counts_from=counts_from,
        kept_until=cutoffs.kept_until(counts_from, rule.period) if rule and counts_from else None,
        postponed_until=postponement.until if postponement else None,
        longest_postponement=today + timedelta(days=rule.max_postponement_days) if rule else None,
    )
