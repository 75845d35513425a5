"""Issue 10, point 7: schemathesis against the schema, on a real server (PostgreSQL), with a
staff token of each team. A fixed seed and a bounded number of examples per operation keep it to
a few minutes: no server error, every response as the schema says, and no response naming a case
its caller may not see. The generated ids are those of real cases, of every team."""

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from cases import selectors
from cases.models import Case, CaseType
from cases.uploads import Upload, identify_upload
from consent import selectors as consent_selectors
from consent.api.authentication import new_client_token
from consent.defaults import ensure_default_purposes
from consent.models import ConsentApiClient
from tests.api.conftest import token_for
from tests.factories import CaseHandlerFactory, submit, submit_subject_request

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

EXAMPLES_PER_OPERATION = 12
TEAM_CASE_TYPES = {
    "privacy": [CaseType.GENERAL_INQUIRY, CaseType.PRIVACY_DEVIATION, CaseType.SUBJECT_REQUEST],
    "security": [CaseType.SECURITY_INCIDENT],
    "whistleblowing": [CaseType.WHISTLEBLOWING],
    "hse": [CaseType.HSE],
}


def make_cases() -> list[Case]:
    cases = []
    for case_types in TEAM_CASE_TYPES.values():
        for case_type in case_types:
            data = f"{case_type} file".encode()
            upload = Upload(name="notes.txt", data=data, kind=identify_upload(data))
            if case_type == CaseType.SUBJECT_REQUEST:
                case, _code = submit_subject_request(uploads=[upload])
            else:
                case, _code = submit(case_type=case_type, uploads=[upload])
            cases.append(case)
    return cases


def with_real_ids(operation, cases: list[Case]):
    """The operation's generated requests, with the case (and file) of one of the cases."""
    attachments = {case.pk: case.attachments.get().pk for case in cases}

    def aimed(pair):
        case, case_id = pair
        if "case_id" in (case.path_parameters or {}):
            case.path_parameters["case_id"] = case_id
        if "attachment_id" in (case.path_parameters or {}):
            case.path_parameters["attachment_id"] = attachments[case_id]
        return case

    return st.tuples(operation.as_strategy(), st.sampled_from(sorted(attachments))).map(aimed)


def test_every_operation_answers_as_its_schema_says_and_shows_no_other_team_s_case(live_server, settings):
    settings.TRUSTCENTER_API_RATE = "100000/min"
    cases = make_cases()
    handlers = {team: CaseHandlerFactory(teams=[team], username=f"api-{team}") for team in TEAM_CASE_TYPES}
    tokens = {team: token_for(handler) for team, handler in handlers.items()}
    raw = requests.get(
        f"{live_server.url}/api/v1/schema/",
        headers={"Authorization": f"Token {tokens['privacy']}"},
        timeout=30,
    )
    assert raw.status_code == 200
    schema = schemathesis.openapi.from_dict(yaml.safe_load(raw.text))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for team, token in tokens.items():
        for operation in operations:
            check_operation(
                operation, cases=cases, base_url=live_server.url, user=handlers[team], token=token
            )


# Each operation's examples: the same ones on every run, none kept between runs.
EXAMPLES = hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def check_operation(operation, *, cases: list[Case], base_url: str, user, token: str) -> list[int]:
    """Runs the operation's examples as the user; the status codes of the answers."""
    headers = {"Authorization": f"Token {token}"}
    statuses = []

    @given(case=with_real_ids(operation, cases))
    @EXAMPLES
    def answers_well(case):
        response = case.call(base_url=base_url, headers=headers)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        # What the caller may see now: an action may have moved a case to another team.
        visible = selectors.visible_cases(user=user).values("pk")
        for reference in Case.objects.exclude(pk__in=visible).values_list("reference", flat=True):
            assert reference not in response.text, f"{user}: {operation.label} shows {reference}"

    answers_well()
    return statuses


# The consent API (issue 12, point 9): its operations with a system's token that may read and
# record, positive and negative data alike. The staff's tokens above get its documented 401.
CONSENT_PATHS = ("/api/v1/consent/events/", "/api/v1/consent/state/", "/api/v1/consent/history/")


def test_the_consent_api_answers_as_its_schema_says_with_a_system_s_token(live_server, settings):
    settings.TRUSTCENTER_CONSENT_API_RATE = "100000/min"
    ensure_default_purposes()
    text, prefix, digest = new_client_token()
    ConsentApiClient.objects.create(
        name="schemathesis", token_prefix=prefix, token_digest=digest, can_read=True, can_record=True
    )
    staff_token = token_for(CaseHandlerFactory(teams=["privacy"], username="api-schema-reader"))
    raw = requests.get(
        f"{live_server.url}/api/v1/schema/", headers={"Authorization": f"Token {staff_token}"}, timeout=30
    )
    schema = schemathesis.openapi.from_dict(yaml.safe_load(raw.text))
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path in CONSENT_PATHS
    ]
    assert sorted(operation.path for operation in operations) == sorted(CONSENT_PATHS)
    statuses: list[int] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            statuses += check_consent_operation(operation, mode=mode, base_url=live_server.url, token=text)
    # The generated calls reached the ledger, not only its refusals.
    assert {200, 201, 400} <= set(statuses), sorted(set(statuses))
    assert 500 not in statuses
    assert consent_selectors.first_broken_link() is None


def check_consent_operation(operation, *, mode, base_url: str, token: str) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    statuses = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @EXAMPLES
    def answers_well(case):
        response = case.call(base_url=base_url, headers=headers)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        if response.status_code < 300:
            assert "@" not in response.text, f"{operation.label} answers with an address"

    answers_well()
    return statuses
