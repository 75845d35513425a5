"""Teams decide which cases a staff member sees (issue 9, point 1): each case type is routed to a
team, and its members alone see those cases, superusers included."""

import pytest
from django.core.exceptions import PermissionDenied

from cases import services
from cases.models import CaseType, CaseTypeRouting
from cases.selectors import access_case, visible_cases
from tests.factories import (
    REQUIRED_ANSWERS,
    CaseHandlerFactory,
    StaffFactory,
    in_teams,
    submit,
    submit_subject_request,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_case_per_type():
    services.ensure_default_teams()
    cases = {
        case_type: submit(case_type=case_type, details=REQUIRED_ANSWERS.get(case_type, {}))[0]
        for case_type in CaseType.values
        if case_type != CaseType.SUBJECT_REQUEST
    }
    cases[CaseType.SUBJECT_REQUEST] = submit_subject_request()[0]
    return cases


def seen_types(user) -> set[str]:
    return set(visible_cases(user=user).values_list("case_type", flat=True))


def test_the_four_default_teams_and_the_design_s_routing_exist():
    services.ensure_default_teams()
    assert dict(CaseTypeRouting.objects.values_list("case_type", "team__slug")) == {
        "subject_request": "privacy",
        "privacy_deviation": "privacy",
        "security_incident": "security",
        "whistleblowing": "whistleblowing",
        "hse": "hse",
        "complaint": "privacy",
        "general_inquiry": "privacy",
    }


@pytest.mark.parametrize(
    ("team", "types"),
    [
        ("privacy", {"subject_request", "privacy_deviation", "complaint", "general_inquiry"}),
        ("security", {"security_incident"}),
        ("whistleblowing", {"whistleblowing"}),
        ("hse", {"hse"}),
    ],
)
def test_a_member_sees_the_cases_of_the_types_routed_to_their_team_alone(one_case_per_type, team, types):
    member = CaseHandlerFactory(teams=[team])
    assert seen_types(member) == types
    for case_type, case in one_case_per_type.items():
        if case_type in types:
            assert access_case(user=member, case_id=case.pk) == case
        else:
            with pytest.raises(PermissionDenied):
                access_case(user=member, case_id=case.pk)


def test_a_superuser_sees_only_the_cases_of_their_teams(one_case_per_type):
    assert seen_types(StaffFactory(is_superuser=True)) == set()
    outside = in_teams(StaffFactory(is_superuser=True), ["privacy", "security", "hse"])
    assert CaseType.WHISTLEBLOWING not in seen_types(outside)
    with pytest.raises(PermissionDenied):
        access_case(user=outside, case_id=one_case_per_type[CaseType.WHISTLEBLOWING].pk)


def test_rerouting_a_type_moves_its_cases_to_the_other_team(one_case_per_type):
    privacy, security = CaseHandlerFactory(teams=["privacy"]), CaseHandlerFactory(teams=["security"])
    CaseTypeRouting.objects.filter(case_type=CaseType.GENERAL_INQUIRY).update(
        team=security.teams.get(slug="security")
    )
    assert CaseType.GENERAL_INQUIRY not in seen_types(privacy)
    assert CaseType.GENERAL_INQUIRY in seen_types(security)


def test_a_type_routed_to_no_team_is_seen_by_nobody(one_case_per_type):
    member_of_every_team = CaseHandlerFactory()
    CaseTypeRouting.objects.filter(case_type=CaseType.HSE).delete()
    assert CaseType.HSE not in seen_types(member_of_every_team)


def test_visibility_is_one_query_whatever_the_number_of_teams(one_case_per_type, django_assert_num_queries):
    member = CaseHandlerFactory()
    member.get_all_permissions()  # permissions are cached on the user after the first check
    with django_assert_num_queries(1):
        assert len(list(visible_cases(user=member))) == len(one_case_per_type)
