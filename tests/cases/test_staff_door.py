"""Staff read a case only through one door (`cases.selectors.access_case`), on every admin URL
that concerns cases.

The URLs are found by walking the project's URL resolver, so a case URL added to the admin
later is checked here without editing this file: a staff member without rights, a logged-out
visitor and an inactive handler get nothing of the case from any of them.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern, reverse

from cases.models import Case, CaseStatus, CaseType
from cases.selectors import access_case, visible_cases
from cases.services import add_reporter_message
from cases.uploads import Upload, identify_upload
from tests.factories import CaseHandlerFactory, StaffFactory, in_teams, reply_as_staff, submit
from tests.urls import named_url_patterns

pytestmark = pytest.mark.django_db

FIRST_MESSAGE = "The night-shift manager signs safety rounds nobody walked"
SECOND_MESSAGE = "Here is the page of the log book with the forged signatures"
STAFF_REPLY = "We have opened an inquiry into the night-shift safety rounds"
FILE_NAME = "forged-log-book.txt"
FILE_DATA = b"round 3: signed at 02:00, gate camera shows nobody until 05:40"

# What a POST to any case URL sends: enough to change a case or add a message if it got through.
POSTED = {
    "status": CaseStatus.CLOSED,
    "status_read": CaseStatus.IN_PROGRESS,  # the status the case has
    "reply": "Posted by someone who may not touch this case",
    "post": "yes",  # the admin's "yes, I'm sure" of a deletion
}


def admin_case_urls() -> list[tuple[str, list[str], URLPattern]]:
    """Every URL of the admin whose name starts with `cases_` and concerns cases: (its name for
    reverse(), the names of its path parameters, the pattern), from the project's resolver."""
    return [
        (f"admin:{name}", parameters, pattern)
        for namespaces, name, parameters, pattern in named_url_patterns()
        if namespaces == ("admin",) and name.startswith("cases_") and _concerns_cases(pattern)
    ]


def _concerns_cases(pattern: URLPattern) -> bool:
    """An admin view of cases or of something in a case; not one of configuration (routing)."""
    model_admin = getattr(pattern.callback, "model_admin", None)
    if model_admin is None:
        return True  # a view of the case admin's own (the attachment)
    model = model_admin.model
    return model is Case or any(field.name == "case" for field in model._meta.get_fields())


def _object_of(pattern: URLPattern, case: Case):
    """The object an admin view's `object_id` names, for a view of the case or of something in it."""
    model_admin = getattr(pattern.callback, "model_admin", None)
    if model_admin is None:
        raise AssertionError(f"{pattern.name} takes object_id but is no ModelAdmin view: teach this test")
    model = model_admin.model
    if model is Case:
        return case
    related = model.objects.filter(case=case).first()
    if related is None:
        raise AssertionError(f"{pattern.name}: no {model.__name__} of the case to name: teach this test")
    return related


def filled(name: str, parameters: list[str], pattern: URLPattern, *, case: Case) -> str:
    """The URL `name`, its parameters naming the case and its attachment."""
    attachment = case.attachments.get()
    values = {}
    for parameter in parameters:
        if parameter == "object_id":
            values[parameter] = _object_of(pattern, case).pk
        elif parameter == "case_id":
            values[parameter] = case.pk
        elif parameter == "attachment_id":
            values[parameter] = attachment.pk
        else:
            raise AssertionError(
                f"{name} takes a parameter {parameter!r} this test cannot fill: teach it which id to give"
            )
    return reverse(name, kwargs=values)


def whistleblowing_case_with_attachment() -> Case:
    case, _code = submit(case_type=CaseType.WHISTLEBLOWING, message=FIRST_MESSAGE)
    add_reporter_message(
        case=case,
        client_key="staff-door-reporter",
        message=SECOND_MESSAGE,
        uploads=[Upload(name=FILE_NAME, data=FILE_DATA, kind=identify_upload(FILE_DATA))],
    )
    reply_as_staff(case=case, message=STAFF_REPLY, status=CaseStatus.IN_PROGRESS)
    case.refresh_from_db()
    return case


def content(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def assert_shows_nothing_of(case: Case, response, where: str) -> None:
    body = content(response)
    for secret in (case.reference, FIRST_MESSAGE, SECOND_MESSAGE, STAFF_REPLY, FILE_NAME):
        assert secret.encode() not in body, f"{where} shows {secret!r}"
    assert FILE_DATA not in body, f"{where} sends the attachment's content"


def assert_unchanged(case: Case) -> None:
    after = Case.objects.get(pk=case.pk)
    assert after.status == case.status
    assert after.messages.count() == 3
    assert after.attachments.count() == 1


@pytest.fixture
def case():
    return whistleblowing_case_with_attachment()


@pytest.fixture
def case_urls(case):
    urls = [
        (name, filled(name, parameters, pattern, case=case))
        for name, parameters, pattern in admin_case_urls()
    ]
    return urls


def test_it_finds_every_case_url_of_the_admin(case_urls):
    """The walk that the other tests rely on finds at least the URLs the admin has today."""
    names = {name for name, _url in case_urls}
    assert names >= {
        "admin:cases_case_changelist",
        "admin:cases_case_add",
        "admin:cases_case_change",
        "admin:cases_case_history",
        "admin:cases_case_delete",
        "admin:cases_case_attachment",
    }


def test_a_staff_member_without_rights_is_refused_on_every_case_url(client, case, case_urls):
    client.force_login(StaffFactory())
    wrong = []
    for name, url in case_urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, POSTED if method == "post" else None)
            where = f"{method.upper()} {url} ({name})"
            if response.status_code != 403:
                wrong.append(
                    f"{where} answers {response.status_code} {response.get('Location', '')}, not 403"
                )
            assert_shows_nothing_of(case, response, where)
    assert not wrong, "\n".join(wrong)
    assert_unchanged(case)


@pytest.mark.parametrize(
    "outsider",
    [
        pytest.param(lambda: StaffFactory(is_superuser=True), id="superuser-of-no-team"),
        pytest.param(
            lambda: in_teams(StaffFactory(is_superuser=True), ["privacy", "security", "hse"]), id="superuser"
        ),
        pytest.param(lambda: CaseHandlerFactory(teams=["privacy"]), id="privacy-handler"),
    ],
)
def test_staff_outside_the_case_s_team_see_nothing_of_it_on_any_case_url(client, case, case_urls, outsider):
    """The case is a whistleblowing report: its team alone sees it, superusers included."""
    client.force_login(outsider())
    wrong = []
    for name, url in case_urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, POSTED if method == "post" else None)
            where = f"{method.upper()} {url} ({name})"
            listing = name == "admin:cases_case_changelist"  # their list, without this case
            if response.status_code != (200 if listing else 403):
                wrong.append(f"{where} answers {response.status_code} {response.get('Location', '')}")
            assert_shows_nothing_of(case, response, where)
    assert not wrong, "\n".join(wrong)
    assert_unchanged(case)


def test_it_lists_no_case_to_a_staff_member_without_rights(client, case):
    staff = StaffFactory()
    client.force_login(staff)
    response = client.get(reverse("admin:cases_case_changelist"))
    assert response.status_code == 403
    assert case.reference.encode() not in response.content
    # The admin's index does not offer cases either.
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert reverse("admin:cases_case_changelist").encode() not in index.content
    assert not visible_cases(user=staff).exists()
    with pytest.raises(PermissionDenied):
        access_case(user=staff, case_id=case.pk)


@pytest.mark.parametrize(
    "visitor",
    [
        pytest.param(lambda: None, id="logged-out"),
        pytest.param(lambda: CaseHandlerFactory(is_active=False), id="inactive-handler"),
        pytest.param(lambda: StaffFactory(is_superuser=True, is_active=False), id="inactive-superuser"),
    ],
)
def test_a_visitor_who_is_not_logged_in_as_active_staff_is_sent_to_the_admin_login(
    client, case, case_urls, visitor
):
    user = visitor()
    if user is not None:
        client.force_login(user)
    login = reverse("admin:login")
    for name, url in case_urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, POSTED if method == "post" else None)
            where = f"{method.upper()} {url} ({name})"
            assert response.status_code == 302, f"{where} answers {response.status_code}, not 302"
            location = urlsplit(response["Location"])
            assert location.path == login, f"{where} redirects to {response['Location']}"
            assert parse_qs(location.query) == {"next": [url]}, where
            assert_shows_nothing_of(case, response, where)
    assert_unchanged(case)


@pytest.mark.parametrize(
    "staff",
    [
        pytest.param(lambda: in_teams(StaffFactory(is_superuser=True), ["whistleblowing"]), id="superuser"),
        pytest.param(CaseHandlerFactory, id="case-handler"),
    ],
)
def test_staff_with_rights_read_the_case_and_its_file_and_cannot_add_or_delete(client, case, staff):
    client.force_login(staff())

    listing = client.get(reverse("admin:cases_case_changelist"))
    assert listing.status_code == 200
    assert case.reference.encode() in listing.content

    change = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert change.status_code == 200
    for shown in (case.reference, FIRST_MESSAGE, SECOND_MESSAGE, STAFF_REPLY, FILE_NAME):
        assert shown.encode() in change.content, f"the case page does not show {shown!r}"
    attachment_url = reverse("admin:cases_case_attachment", args=[case.pk, case.attachments.get().pk])
    assert attachment_url.encode() in change.content

    history = client.get(reverse("admin:cases_case_history", args=[case.pk]))
    assert history.status_code == 200

    download = client.get(attachment_url)
    assert download.status_code == 200
    assert content(download) == FILE_DATA
    assert download["Content-Disposition"].startswith("attachment")

    for url in (reverse("admin:cases_case_add"), reverse("admin:cases_case_delete", args=[case.pk])):
        assert client.get(url).status_code == 403, url
        assert client.post(url, POSTED).status_code == 403, url
    assert_unchanged(case)


def test_an_attachment_of_another_case_is_not_found_through_this_case(client, case):
    """The file comes from the case that went through the door, never from another."""
    other, _code = submit(case_type=CaseType.WHISTLEBLOWING, message="Another matter")
    client.force_login(CaseHandlerFactory())
    response = client.get(reverse("admin:cases_case_attachment", args=[other.pk, case.attachments.get().pk]))
    assert response.status_code == 404
    assert_shows_nothing_of(case, response, "another case's URL")


@pytest.mark.parametrize(
    "user",
    [
        pytest.param(lambda: CaseHandlerFactory(is_active=False), id="inactive-handler"),
        pytest.param(lambda: StaffFactory(is_superuser=True, is_active=False), id="inactive-superuser"),
        pytest.param(lambda: CaseHandlerFactory(is_staff=False), id="handler-who-is-not-staff"),
        pytest.param(StaffFactory, id="staff-without-rights"),
        pytest.param(AnonymousUser, id="anonymous"),
    ],
)
def test_the_door_refuses_anyone_but_active_staff_with_the_right_to_view_cases(case, user):
    someone = user()
    assert not visible_cases(user=someone).exists()
    with pytest.raises(PermissionDenied):
        access_case(user=someone, case_id=case.pk)


@pytest.mark.parametrize(
    "user",
    [
        pytest.param(CaseHandlerFactory, id="case-handler"),
        pytest.param(lambda: in_teams(StaffFactory(is_superuser=True), ["whistleblowing"]), id="superuser"),
    ],
)
def test_the_door_opens_for_active_staff_with_the_right_to_view_cases(case, user):
    someone = user()
    assert list(visible_cases(user=someone)) == [case]
    assert access_case(user=someone, case_id=case.pk) == case
    with pytest.raises(PermissionDenied):
        access_case(user=someone, case_id=case.pk + 1000)
