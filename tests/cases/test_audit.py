"""The audit trail (issue 9, point 11): views and changes are recorded with who and when, shown on
the case and exported by admins; nothing in it reveals a whistleblowing case outside its team,
holds what a reporter wrote or who they are, or holds anyone's address."""

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from auditlog.context import set_actor
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from cases import audit, services
from cases.models import Case, CaseStatus, CaseType, CaseTypeRouting, ClockPolicy
from cases.uploads import Upload, identify_upload
from tests.factories import CaseHandlerFactory, StaffFactory, in_teams, submit, submit_subject_request
from trustcenter.models import Team

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:auditlog_logentry_changelist")
FILE_NAME = "minutes-of-the-board-meeting.txt"
FILE_DATA = b"The board agreed to backdate the invoices."


def whistleblowing_case() -> Case:
    case, _code = submit(
        case_type=CaseType.WHISTLEBLOWING,
        message="The finance director backdates invoices",
        uploads=[Upload(name=FILE_NAME, data=FILE_DATA, kind=identify_upload(FILE_DATA))],
    )
    return case


def read_the_log_permission():
    return Permission.objects.get(content_type__app_label="auditlog", codename="view_logentry")


def log_reader(*, teams):
    """A handler of these teams who may also read the audit log in the admin."""
    reader = CaseHandlerFactory(teams=teams)
    reader.user_permissions.add(read_the_log_permission())
    return reader


def everything_in(entry: LogEntry) -> str:
    return json.dumps(
        [entry.object_repr, entry.changes, entry.changes_text, entry.serialized_data, entry.additional_data],
        ensure_ascii=False,
    )


def exported(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def export(client, *, selected, select_across=True):
    return client.post(
        CHANGELIST,
        {
            "action": "export_as_csv",
            "index": "0",
            "select_across": "1" if select_across else "0",
            "_selected_action": [str(pk) for pk in selected],
        },
    )


# --- What is recorded ---------------------------------------------------------------------------


def test_a_status_change_is_recorded_with_the_staff_member_who_made_it():
    case, _code = submit()
    handler = CaseHandlerFactory(teams=["privacy"])
    with set_actor(handler):  # what auditlog's middleware does for each request
        case.status = CaseStatus.IN_PROGRESS
        case.save(update_fields=["status"])
    entry = LogEntry.objects.get_for_object(case).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == handler
    assert entry.changes == {"status": ["received", "in_progress"]}


def test_a_change_made_with_a_conditional_update_is_recorded_by_record_update():
    case, _code = submit()
    handler = CaseHandlerFactory(teams=["privacy"])
    Case.objects.filter(pk=case.pk, status=CaseStatus.RECEIVED).update(status=CaseStatus.CLOSED)
    case.status = CaseStatus.CLOSED
    entry = audit.record_update(instance=case, previous={"status": CaseStatus.RECEIVED}, actor=handler)
    assert entry is not None
    entry.refresh_from_db()
    assert (entry.action, entry.actor, entry.changes) == (
        LogEntry.Action.UPDATE,
        handler,
        {"status": ["received", "closed"]},
    )
    assert audit.record_update(instance=case, previous={"status": CaseStatus.CLOSED}, actor=handler) is None


def test_a_status_change_through_the_service_is_recorded():
    case, _code = submit()
    handler = CaseHandlerFactory(teams=["privacy"])
    services.update_case(case=case, actor=handler, status=CaseStatus.IN_PROGRESS)
    services.assign_case(case=case, actor=handler, assignee=handler)
    services.reclassify_case(case=case, actor=handler, case_type="complaint")
    updates = LogEntry.objects.get_for_object(case).filter(action=LogEntry.Action.UPDATE, actor=handler)
    changed = [set(entry.changes_dict) for entry in updates.order_by("pk")]
    assert changed == [{"status"}, {"assignee"}, {"case_type"}]


def test_a_view_of_a_case_is_recorded_with_who_and_when():
    case, _code = submit()
    handler = CaseHandlerFactory(teams=["privacy"])
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        audit.record_case_view(case=case, user=handler)
    entry = LogEntry.objects.get_for_object(case).get(action=LogEntry.Action.ACCESS)
    assert (entry.actor, entry.timestamp, entry.object_repr) == (handler, moment, case.reference)


def test_a_download_of_an_attachment_is_recorded_without_the_file_s_name():
    case = whistleblowing_case()
    handler = CaseHandlerFactory(teams=["whistleblowing"])
    attachment = case.attachments.get()
    audit.record_attachment_download(attachment=attachment, user=handler)
    entry = LogEntry.objects.get_for_object(attachment).get()
    assert (entry.action, entry.actor) == (LogEntry.Action.ACCESS, handler)
    assert case.reference in entry.object_repr
    assert FILE_NAME not in everything_in(entry)


def test_changes_to_teams_routing_and_clock_policies_are_recorded_with_their_actor():
    services.ensure_default_teams()
    services.ensure_default_clock_policies()
    admin_user = StaffFactory(is_superuser=True)
    handler = StaffFactory()
    with set_actor(admin_user):
        team = Team.objects.create(name="Ethics", slug="ethics")
        services.add_to_teams(user=handler, team_slugs=["ethics"], is_lead=True)
        routing = CaseTypeRouting.objects.get(case_type=CaseType.HSE)
        routing.team = team
        routing.save()
        policy = ClockPolicy.objects.order_by("pk").first()
        policy.length += 1
        policy.save()
    membership = handler.team_memberships.get()
    for instance, action in [
        (team, LogEntry.Action.CREATE),
        (membership, LogEntry.Action.CREATE),
        (routing, LogEntry.Action.UPDATE),
        (policy, LogEntry.Action.UPDATE),
    ]:
        entry = LogEntry.objects.get_for_object(instance).filter(action=action).get()
        assert entry.actor == admin_user, instance
    assert LogEntry.objects.get_for_object(routing).get(action=LogEntry.Action.UPDATE).changes == {
        "team": [str(services.ensure_default_teams()["hse"].pk), str(team.pk)]
    }


def test_what_the_reporter_wrote_and_who_they_are_never_land_in_the_log():
    secrets = ["Ingrid Sørlie-Kvam", "ingrid.sorlie@example.org", "ingrid.new@example.org"]
    case, _code = submit_subject_request(
        reporter_name=secrets[0], reporter_email=secrets[1], message="Everything you hold on Ingrid"
    )
    reported, _code = submit(
        case_type=CaseType.HSE,
        details={"location": "Behind the canteen's freezer room"},
        message="The freezer door traps people",
    )
    secrets += [
        "Behind the canteen's freezer room",
        "The freezer door traps people",
        "Everything you hold on",
    ]
    case.reporter_email = secrets[2]
    case.save()
    assert services.delete_cases(case_ids=[case.pk, reported.pk]) == 2

    entries = list(LogEntry.objects.all())
    assert {entry.action for entry in entries} >= {LogEntry.Action.CREATE, LogEntry.Action.DELETE}
    for entry in entries:
        for secret in secrets:
            assert secret not in everything_in(entry), f"{entry} holds {secret!r}"
    # That the address changed is recorded, not what it was or became.
    change = LogEntry.objects.get(action=LogEntry.Action.UPDATE, object_id=case.pk)
    assert change.changes["reporter_email"] == [audit.MASKED, audit.MASKED]


def test_no_entry_holds_an_address(client):
    # The whole stack: a report through the public form, with the addresses a proxy would send.
    response = client.post(
        "/en/report/",
        {
            "case_type": CaseType.HSE,
            "identity": "anonymous",
            "hse__location": "Loading dock",
            "hse__anyone_hurt": "no",
            "message": "A pallet rack leans over the walkway.",
            "website": "",
        },
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="198.51.100.23",
        HTTP_X_FORWARDED_PORT="54321",
        REMOTE_PORT="54322",
        HTTP_X_CORRELATION_ID="tracking-value-of-the-client",
    )
    assert response.status_code == 200
    assert LogEntry.objects.filter(content_type__model="case").exists()
    # auditlog keeps the X-Forwarded-Port it finds: a client's source port, linkable to its address.
    assert not LogEntry.objects.exclude(remote_port=None).exists()

    # auditlog's middleware alone, should it ever run first.
    case = Case.objects.get()
    handler = CaseHandlerFactory(teams=["hse"])
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.8", HTTP_X_FORWARDED_FOR="198.51.100.24")
    request.user = handler

    def view(request):
        audit.record_case_view(case=case, user=request.user)
        return HttpResponse()

    AuditlogMiddleware(view)(request)

    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor=handler).exists()
    assert not LogEntry.objects.exclude(remote_addr=None).exists()
    assert not LogEntry.objects.exclude(cid=None).exists()


# --- On the case ----------------------------------------------------------------------------------


def test_the_trail_of_a_case_is_its_entries_and_its_parts_newest_first_in_one_query(
    django_assert_num_queries,
):
    case = whistleblowing_case()
    other, _code = submit()
    handler = CaseHandlerFactory(teams=["whistleblowing", "privacy"])
    with time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False):
        audit.record_case_view(case=case, user=handler)
    with time_machine.travel(datetime(2030, 1, 2, tzinfo=UTC), tick=False):
        audit.record_attachment_download(attachment=case.attachments.get(), user=handler)
    audit.record_case_view(case=other, user=handler)
    audit.case_audit_trail(case=case).exists()  # the content types, cached from here on

    with django_assert_num_queries(1):
        entries = list(audit.case_audit_trail(case=case))
        actors = [entry.actor for entry in entries]

    assert [entry.content_type.model for entry in entries[:2]] == ["attachment", "case"]
    assert actors[:2] == [handler, handler]
    about = {(entry.content_type.model, entry.object_id) for entry in entries}
    assert ("case", case.pk) in about
    assert ("casemessage", case.messages.get().pk) in about
    assert ("case", other.pk) not in about
    assert [entry.timestamp for entry in entries] == sorted(
        (entry.timestamp for entry in entries), reverse=True
    )


def test_the_trail_shows_who_did_what_and_when(settings):
    settings.TIME_ZONE = "Europe/Oslo"
    case, _code = submit()
    handler = CaseHandlerFactory(teams=["privacy"], first_name="Ola", last_name="Nordmann")
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False):
        audit.record_case_view(case=case, user=handler)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.IN_PROGRESS)
    case.status = CaseStatus.IN_PROGRESS
    audit.record_update(instance=case, previous={"status": CaseStatus.RECEIVED}, actor=handler)

    html = render_to_string("cases/staff/_audit_trail.html", {"entries": audit.case_audit_trail(case=case)})

    assert "<caption>" in html
    assert "Ola Nordmann" in html
    assert "viewed the case" in html
    assert "changed status from Received to In progress" in html
    assert "received the case" in html
    assert 'datetime="2026-06-01T14:00:00+02:00"' in html  # Oslo's summer time


def test_the_trail_names_how_a_clock_was_met_and_what_was_set_without_raw_values():
    case, _code = submit(case_type=CaseType.PRIVACY_DEVIATION)
    handler = CaseHandlerFactory(teams=["privacy"])
    with set_actor(handler):
        services.decide_breach(
            case=case, actor=handler, decision="not_notify", reasons_not_to_notify="The file was encrypted."
        )

    html = render_to_string("cases/staff/_audit_trail.html", {"entries": audit.case_audit_trail(case=case)})

    assert "recording why the authority is not notified" in html
    assert "decided_not_to_notify" not in html
    assert "set met through to" in html
    assert "None" not in html


def test_the_case_page_shows_the_latest_entries_and_says_how_many_there_are(client, settings):
    settings.TRUSTCENTER_REQUIRE_2FA = False
    case, _code = submit()
    handler = CaseHandlerFactory(teams=["privacy"])
    for _ in range(120):
        audit.record_case_view(case=case, user=handler)
    total = audit.case_audit_trail(case=case).count() + 1  # and the view of the page itself
    client.force_login(handler)

    page = client.get(reverse("staff:case", kwargs={"case_id": case.pk})).content.decode()

    trail = page[page.index('id="audit-heading"') :]
    assert trail.count("viewed the case") == 100
    assert f"The latest 100 of {total} entries are shown." in trail


# --- In the admin ---------------------------------------------------------------------------------


@pytest.fixture
def whistleblowing_entries():
    """A whistleblowing case with entries of every kind about it and its parts, and one entry
    about the configuration."""
    case = whistleblowing_case()
    member = CaseHandlerFactory(teams=["whistleblowing"])
    audit.record_case_view(case=case, user=member)
    audit.record_attachment_download(attachment=case.attachments.get(), user=member)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.IN_PROGRESS)
    case.status = CaseStatus.IN_PROGRESS
    audit.record_update(instance=case, previous={"status": CaseStatus.RECEIVED}, actor=member)
    lead = CaseHandlerFactory(teams=["whistleblowing"])
    services.add_to_teams(user=lead, team_slugs=["whistleblowing"], is_lead=True)
    services.exclude_handler(case=case, actor=lead, handler=CaseHandlerFactory(teams=[]), reason="Conflict")
    Team.objects.create(name="Ethics board", slug="ethics")
    about_case = set(audit.case_audit_trail(case=case).values_list("pk", flat=True))
    assert len(about_case) >= 5
    return case, about_case


@pytest.mark.parametrize(
    "outsider",
    [
        pytest.param(lambda: StaffFactory(is_superuser=True), id="superuser-of-no-team"),
        pytest.param(
            lambda: in_teams(StaffFactory(is_superuser=True), ["privacy", "security", "hse"]), id="superuser"
        ),
        pytest.param(lambda: log_reader(teams=["privacy"]), id="privacy-handler-who-reads-the-log"),
    ],
)
def test_an_admin_outside_the_whistleblowing_team_sees_no_entry_about_its_cases(
    client, whistleblowing_entries, outsider
):
    case, about_case = whistleblowing_entries
    client.force_login(outsider())
    hidden = [case.reference.encode(), reverse("admin:cases_case_change", args=[case.pk]).encode()]

    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    shown = {entry.pk for entry in listing.context["cl"].result_list}
    assert shown and not shown & about_case  # the configuration's entries, and none of the case's
    for secret in hidden:
        assert secret not in listing.content

    for pk in about_case:
        page = client.get(reverse("admin:auditlog_logentry_change", args=[pk]), follow=True)
        for secret in hidden:
            assert secret not in page.content

    everything = LogEntry.objects.values_list("pk", flat=True)
    for select_across in (True, False):
        rows = exported(export(client, selected=everything, select_across=select_across))
        assert len(rows) == 1 + len(shown)
        text = "\n".join(",".join(row) for row in rows)
        assert case.reference not in text
        assert not [row for row in rows[1:] if row[3] == "cases.case" and row[4] == str(case.pk)]


@pytest.mark.parametrize(
    "member",
    [
        pytest.param(lambda: in_teams(StaffFactory(is_superuser=True), ["whistleblowing"]), id="superuser"),
        pytest.param(lambda: log_reader(teams=["whistleblowing"]), id="handler-who-reads-the-log"),
    ],
)
def test_a_member_of_the_whistleblowing_team_who_may_read_the_log_sees_them(
    client, whistleblowing_entries, member, settings
):
    settings.TIME_ZONE = "Europe/Oslo"
    case, about_case = whistleblowing_entries
    client.force_login(member())

    listing = client.get(CHANGELIST)
    assert about_case <= {entry.pk for entry in listing.context["cl"].result_list}
    assert case.reference.encode() in listing.content

    rows = exported(export(client, selected=about_case))
    assert rows[0] == ["time", "staff member", "action", "object type", "object id", "object", "changes"]
    view = LogEntry.objects.get(action=LogEntry.Action.ACCESS, content_type__model="case", object_id=case.pk)
    local = view.timestamp.astimezone(ZoneInfo("Europe/Oslo")).isoformat(sep=" ", timespec="seconds")
    assert [local, view.actor.username, "access", "cases.case", str(case.pk), case.reference, ""] in rows
    assert any(row[6] == "status: received → in_progress" for row in rows)
    assert FILE_NAME not in "\n".join(",".join(row) for row in rows)


def test_staff_who_may_not_read_the_log_are_refused(client, whistleblowing_entries):
    case, about_case = whistleblowing_entries
    client.force_login(CaseHandlerFactory(teams=["whistleblowing"]))
    assert client.get(CHANGELIST).status_code == 403
    response = export(client, selected=about_case)
    assert response.status_code == 403
    assert case.reference.encode() not in response.content
    for pk in about_case:
        assert client.get(reverse("admin:auditlog_logentry_change", args=[pk])).status_code == 403
