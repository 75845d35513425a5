"""Every URL of the project, as every kind of visitor: no response reveals a case its visitor
may not see (issue 9, point 2). The URLs come from the URL configuration, so a page added
later is walked without editing this test; a path parameter this test cannot fill fails it."""

import pytest
from django.urls import URLPattern, reverse
from django.utils import translation

from cases import services
from cases.models import AccessExport, Case, CaseStatus, CaseType
from cases.uploads import Upload, identify_upload
from tests.factories import CaseHandlerFactory, StaffFactory, in_teams, reply_as_staff, submit
from tests.urls import named_url_patterns

pytestmark = pytest.mark.django_db

# One case per team, each with words found nowhere else.
TEAM_CASES = {
    "privacy": (CaseType.GENERAL_INQUIRY, {}),
    "security": (CaseType.SECURITY_INCIDENT, {"ongoing": "no"}),
    "whistleblowing": (CaseType.WHISTLEBLOWING, {}),
    "hse": (CaseType.HSE, {"location": "Dock"}),
}
POSTED = {
    "status": CaseStatus.CLOSED,
    "status_read": CaseStatus.IN_PROGRESS,
    "reply": "Posted by a visitor",
    "post": "yes",
}


def secrets_of(team: str) -> list[bytes]:
    return [
        f"{team} report words".encode(),
        f"{team} reply words".encode(),
        f"{team}-file.txt".encode(),
        f"{team} file content".encode(),
    ]


def make_case(team: str) -> Case:
    case_type, details = TEAM_CASES[team]
    data = f"{team} file content".encode()
    case, _code = submit(
        case_type=case_type,
        details=details,
        message=f"{team} report words",
        uploads=[Upload(name=f"{team}-file.txt", data=data, kind=identify_upload(data))],
    )
    reply_as_staff(case=case, message=f"{team} reply words", status=CaseStatus.IN_PROGRESS)
    case.refresh_from_db()
    return case


def every_url_pattern() -> list[tuple[str, list[str], URLPattern]]:
    return [
        (":".join((*namespaces, name)), parameters, pattern)
        for namespaces, name, parameters, pattern in named_url_patterns()
    ]


def fillings(name: str, parameters: list[str], pattern: URLPattern, cases: dict[str, Case]) -> list[dict]:
    """The ways to fill a URL's parameters: once per team's case where it names a case or a part
    of one; once otherwise."""
    model_admin = getattr(pattern.callback, "model_admin", None)
    names_a_case = bool({"case_id", "attachment_id"} & set(parameters)) or (
        "object_id" in parameters
        and model_admin is not None
        and (model_admin.model is Case or any(f.name == "case" for f in model_admin.model._meta.get_fields()))
    )
    if not names_a_case:
        values: dict = {}
        for parameter in parameters:
            if parameter in ("object_id", "pk"):
                first = model_admin.model.objects.order_by("pk").first() if model_admin else None
                values[parameter] = first.pk if first is not None else 1
            elif parameter == "app_label":
                values[parameter] = "cases"
            elif parameter in ("content_type_id", "object_id_or_slug"):
                values[parameter] = "1"
            elif parameter in ("country", "language_code", "path", "url", "uidb64", "token"):
                values[parameter] = {"country": "norway", "path": "x", "url": "x"}.get(parameter, "x")
            elif parameter == "event_id":  # a consent receipt
                values[parameter] = 1
            elif parameter in ("model_name", "field_name", "record_id"):  # a register's file
                values[parameter] = {"model_name": "jobapplication", "field_name": "cv", "record_id": 1}[
                    parameter
                ]
            else:
                raise AssertionError(f"{name} takes {parameter!r}: teach this test how to fill it")
        return [values]
    result = []
    for case in cases.values():
        values = {}
        for parameter in parameters:
            if parameter in ("case_id",):
                values[parameter] = case.pk
            elif parameter == "attachment_id":
                values[parameter] = case.attachments.first().pk
            elif parameter == "export_id":  # an access export made for the case (a queued one)
                export, _made = AccessExport.objects.get_or_create(
                    case=case, defaults={"requested_by": StaffFactory(username="export-requester")}
                )
                values[parameter] = export.pk
            elif parameter == "object_id":
                model = model_admin.model
                values[parameter] = case.pk if model is Case else model.objects.filter(case=case).first().pk
            else:
                raise AssertionError(f"{name} takes {parameter!r}: teach this test how to fill it")
        result.append(values)
    return result


def visitors(cases):
    """Each kind of visitor, with the teams whose cases they may see."""
    excluded = CaseHandlerFactory(teams=["whistleblowing"], username="excluded-handler")
    lead = CaseHandlerFactory(teams=["whistleblowing"], username="whistleblowing-lead")
    services.add_to_teams(user=lead, team_slugs=["whistleblowing"], is_lead=True)
    services.exclude_handler(case=cases["whistleblowing"], actor=lead, handler=excluded, reason="Conflict")
    yield "excluded handler", excluded, set()
    for team in TEAM_CASES:
        yield f"member of {team}", CaseHandlerFactory(teams=[team], username=f"member-{team}"), {team}
    superuser = in_teams(
        StaffFactory(is_superuser=True, username="superuser"), ["privacy", "security", "hse"]
    )
    yield "superuser outside the whistleblowing team", superuser, {"privacy", "security", "hse"}
    yield "staff of no team", CaseHandlerFactory(teams=[], username="no-team"), set()
    yield "logged out", None, set()


def test_no_response_reveals_a_case_its_visitor_may_not_see(client):
    cases = {team: make_case(team) for team in TEAM_CASES}
    patterns = every_url_pattern()
    assert len(patterns) > 50  # the admin's and the site's
    for who, user, allowed in list(visitors(cases)):
        hidden = [secret for team in TEAM_CASES if team not in allowed for secret in secrets_of(team)]
        hidden += [cases[team].reference.encode() for team in TEAM_CASES if team not in allowed]
        for name, parameters, pattern in patterns:
            if name.endswith(("logout", "password_change", "jsi18n")) or name == "set_language":
                continue  # they end or change the visitor's session, and show no case
            for values in fillings(name, parameters, pattern, cases):
                with translation.override("en"):
                    url = reverse(name, kwargs=values)
                for method in ("get", "post"):
                    client.logout()
                    if user is not None:
                        client.force_login(user)
                    response = getattr(client, method)(url, POSTED if method == "post" else None)
                    body = b"".join(response.streaming_content) if response.streaming else response.content
                    for secret in hidden:
                        assert secret not in body, f"{who}: {method.upper()} {url} shows {secret!r}"
                    named_case = next(
                        (case for case in cases.values() if values.get("case_id") == case.pk), None
                    )
                    if named_case is not None and named_case.case_type not in {
                        TEAM_CASES[team][0] for team in allowed
                    }:
                        assert response.status_code in (302, 403, 404), f"{who}: {method.upper()} {url}"
    for case in cases.values():
        assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_PROGRESS
