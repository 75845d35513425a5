"""Every URL of /api/v1/, walked from the URL configuration, with every HTTP method and a JSON
body that each action would take, as every kind of visitor of tests/test_every_url.py, by token
and by session: no answer names or changes a case its visitor may not see (issue 10, point 4).

tests/test_every_url.py walks these URLs too, but with GET and a form-encoded POST only, which the
API refuses (415) before any action runs; this walk reaches the actions themselves."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Case, CaseStatus
from tests.api.conftest import token_for
from tests.test_every_url import TEAM_CASES, make_case, secrets_of, visitors
from tests.urls import named_url_patterns

pytestmark = pytest.mark.django_db

METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
POSTED_BY_VISITOR = "Posted by a visitor"


def api_patterns() -> list[tuple[str, list[str]]]:
    found = [
        (":".join((*namespaces, name)), parameters)
        for namespaces, name, parameters, _pattern in named_url_patterns()
        if namespaces and namespaces[0] == "api"
    ]
    assert {"api:cases", "api:case", "api:reply", "api:attachment", "api:dashboard"} <= {n for n, _p in found}
    return found


def fillings(name: str, parameters: list[str], cases: dict[str, Case]) -> list[dict]:
    if not parameters:
        return [{}]
    result = []
    for case in cases.values():
        values = {}
        for parameter in parameters:
            if parameter == "case_id":
                values[parameter] = case.pk
            elif parameter == "attachment_id":
                values[parameter] = case.attachments.first().pk
            else:
                raise AssertionError(f"{name} takes {parameter!r}: teach this test how to fill it")
        result.append(values)
    return result


def state(case: Case) -> tuple:
    return (case.status, case.case_type, case.assignee_id, case.messages.count())


def body_for(case: Case | None) -> dict:
    """What any of the actions takes; the type is the case's own, so that no case moves to
    another team during the walk."""
    return {
        "body": POSTED_BY_VISITOR,
        "status": CaseStatus.CLOSED,
        "outcome": "resolved",
        "assignee": None,
        "case_type": case.case_type if case else "general_inquiry",
        "reason": POSTED_BY_VISITOR,
        "decision": "notify",
    }


@pytest.mark.parametrize("by", ["token", "session"])
def test_no_api_answer_reveals_or_changes_a_case_its_visitor_may_not_see(settings, by):
    settings.TRUSTCENTER_REQUIRE_2FA = False
    cases = {team: make_case(team) for team in TEAM_CASES}
    patterns = api_patterns()
    for who, user, allowed in list(visitors(cases)):
        before = {case.pk: state(case) for case in Case.objects.all()}
        client = APIClient()
        client.raise_request_exception = False
        if user is not None and by == "token":
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
        elif user is not None:
            client.force_login(user)
        hidden = [secret for team in TEAM_CASES if team not in allowed for secret in secrets_of(team)]
        hidden += [cases[team].reference.encode() for team in TEAM_CASES if team not in allowed]
        for name, parameters in patterns:
            for values in fillings(name, parameters, cases):
                url = reverse(name, kwargs=values)
                named_case = next((c for c in cases.values() if values.get("case_id") == c.pk), None)
                for method in METHODS:
                    if method in ("get", "head", "options"):
                        response = getattr(client, method)(url)
                    else:
                        response = getattr(client, method)(url, body_for(named_case), format="json")
                    assert response.status_code < 500, f"{who}: {method.upper()} {url}"
                    body = b"".join(response.streaming_content) if response.streaming else response.content
                    for secret in hidden:
                        assert secret not in body, f"{who}: {method.upper()} {url} shows {secret!r}"
                    if named_case is not None and named_case.case_type not in {
                        TEAM_CASES[team][0] for team in allowed
                    }:
                        assert response.status_code in (401, 403), f"{who}: {method.upper()} {url}"
        # Nothing was done to a case the visitor may not see (no status, type, assignee, message).
        assert any(state(case) != before[case.pk] for case in Case.objects.all()) == bool(allowed), (
            f"{who}: the walk reached no action of a case it may see"
        )
        for team in TEAM_CASES:
            if team not in allowed:
                case = Case.objects.get(pk=cases[team].pk)
                assert state(case) == before[case.pk], (who, team)
