"""Impartial handling (Directive 2019/1937 art. 9(1)(c)): a team lead excludes a handler with a
conflict of interest from a case, and that handler sees nothing of it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cases import services
from cases.models import CaseEvent, CaseEventKind, CaseExclusion, CaseType
from cases.selectors import access_case, visible_cases
from tests.factories import CaseHandlerFactory, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    return submit(
        case_type=CaseType.WHISTLEBLOWING, message="The purchasing manager approves his own invoices."
    )[0]


@pytest.fixture
def lead():
    lead = CaseHandlerFactory(teams=["whistleblowing"])
    services.add_to_teams(user=lead, team_slugs=["whistleblowing"], is_lead=True)
    return lead


def test_an_excluded_handler_sees_nothing_of_the_case_and_the_others_still_do(client, report, lead):
    conflicted, colleague = (
        CaseHandlerFactory(teams=["whistleblowing"]),
        CaseHandlerFactory(teams=["whistleblowing"]),
    )
    services.exclude_handler(
        case=report, actor=lead, handler=conflicted, reason="Reports to the manager named"
    )
    assert not visible_cases(user=conflicted).exists()
    with pytest.raises(PermissionDenied):
        access_case(user=conflicted, case_id=report.pk)
    assert access_case(user=colleague, case_id=report.pk) == report
    client.force_login(conflicted)
    for url in (f"/admin/cases/case/{report.pk}/change/", f"/admin/cases/case/{report.pk}/history/"):
        response = client.get(url)
        assert response.status_code == 403 and report.reference.encode() not in response.content
    listing = client.get("/admin/cases/case/")
    assert report.reference.encode() not in listing.content


def test_the_exclusion_is_in_the_case_s_history_with_who_and_when(report, lead):
    conflicted = CaseHandlerFactory(teams=["whistleblowing"])
    services.exclude_handler(
        case=report, actor=lead, handler=conflicted, reason="Married to the person named"
    )
    event = CaseEvent.objects.get(case=report)
    assert (event.kind, event.actor, event.data) == (
        CaseEventKind.HANDLER_EXCLUDED,
        lead,
        {"handler": conflicted.pk},
    )
    assert CaseExclusion.objects.get(case=report).excluded_by == lead


def test_only_a_lead_of_the_case_s_team_may_exclude(report):
    member = CaseHandlerFactory(teams=["whistleblowing"])
    other = CaseHandlerFactory(teams=["whistleblowing"])
    with pytest.raises(services.NotTeamLead):
        services.exclude_handler(case=report, actor=member, handler=other, reason="No reason of a lead's")
    privacy_lead = CaseHandlerFactory(teams=["privacy"])
    services.add_to_teams(user=privacy_lead, team_slugs=["privacy"], is_lead=True)
    with pytest.raises(PermissionDenied):
        services.exclude_handler(case=report, actor=privacy_lead, handler=other, reason="Not my team's case")
    assert not CaseExclusion.objects.exists()
    assert access_case(user=other, case_id=report.pk) == report


def test_an_exclusion_needs_a_reason(report, lead):
    with pytest.raises(ValidationError):
        services.exclude_handler(
            case=report, actor=lead, handler=CaseHandlerFactory(teams=["whistleblowing"]), reason="  "
        )
    assert not CaseExclusion.objects.exists()
