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
    event = CaseEvent.objects.get(case=report, kind=CaseEventKind.HANDLER_EXCLUDED)
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


def whistleblowing_report(**fields):
    data = {
        "case_type": CaseType.WHISTLEBLOWING,
        "identity": "anonymous",
        "message": "The purchasing manager approves his own invoices.",
        "website": "",
    }
    data.update(fields)
    return data


def test_the_report_form_lists_the_whistleblowing_team_s_handlers_alone(client):
    CaseHandlerFactory(teams=["whistleblowing"], first_name="Ola", last_name="Nordmann")
    CaseHandlerFactory(teams=["privacy"], first_name="Kari", last_name="Privat")
    page = client.get("/en/report/?type=whistleblowing").content.decode()
    assert "must not see yours" in page
    assert "Ola Nordmann" in page and "Kari Privat" not in page


def test_a_reporter_names_a_handler_who_then_sees_nothing_of_the_report(client):
    named = CaseHandlerFactory(teams=["whistleblowing"], first_name="Ola", last_name="Nordmann")
    colleague = CaseHandlerFactory(teams=["whistleblowing"])
    response = client.post("/en/report/", whistleblowing_report(whistleblowing__excluded_handlers=[named.pk]))
    assert response.status_code == 200
    exclusion = CaseExclusion.objects.get()
    assert (exclusion.user, exclusion.excluded_by) == (named, None)
    assert not visible_cases(user=named).exists()
    assert list(visible_cases(user=colleague)) == [exclusion.case]


def test_a_reporter_cannot_name_someone_outside_the_list(client):
    outsider = CaseHandlerFactory(teams=["privacy"])
    response = client.post(
        "/en/report/", whistleblowing_report(whistleblowing__excluded_handlers=[outsider.pk])
    )
    assert response.status_code == 400
    assert not CaseExclusion.objects.exists()
    assert "The purchasing manager approves his own invoices." in response.content.decode()
    with pytest.raises(ValidationError):
        submit(case_type=CaseType.WHISTLEBLOWING, excluded_handler_ids=(outsider.pk,))


def test_other_types_name_no_handlers_even_if_the_field_is_sent(client):
    named = CaseHandlerFactory(teams=["whistleblowing"])
    data = whistleblowing_report(
        case_type=CaseType.GENERAL_INQUIRY, whistleblowing__excluded_handlers=[named.pk]
    )
    assert client.post("/en/report/", data).status_code == 200
    assert not CaseExclusion.objects.exists()
