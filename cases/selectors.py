"""Reads that several callers share. Selectors never import services: services use them."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from . import receipts
from .models import Attachment, Case, CaseExclusion, CaseTypeRouting

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
    return case.messages.prefetch_related("attachments")


def visible_cases(*, user):
    """The cases a staff member may see: the one place visibility is decided.

    An active staff member with the permission to view cases sees the cases whose type is routed
    to one of their teams, and no others: being a superuser adds none (a whistleblowing report is
    seen by the whistleblowing team alone), except those a team lead excluded them from. One
    query, whatever the number of teams.
    """
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Case.objects.none()
    if not user.has_perm(VIEW_CASES_PERMISSION):
        return Case.objects.none()
    routed_to_their_teams = CaseTypeRouting.objects.filter(team__memberships__user=user).values("case_type")
    excluded_from = CaseExclusion.objects.filter(user=user).values("case_id")
    return Case.objects.filter(case_type__in=routed_to_their_teams).exclude(pk__in=excluded_from)


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


def access_case(*, user, case_id: int) -> Case:
    """The one door through which staff read a case; raises PermissionDenied otherwise."""
    case = visible_cases(user=user).filter(pk=case_id).first()
    if case is None:
        raise PermissionDenied
    return case


def case_attachment(*, case: Case, attachment_id: int) -> Attachment | None:
    """One of the case's files; only ever asked for a case that came through a door."""
    return case.attachments.filter(pk=attachment_id).first()
