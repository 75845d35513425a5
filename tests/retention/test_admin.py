"""Retention in the admin (issue 11, points 4, 10 and 11): the overview, the dry run and its
"Run the purge now" button, the record of processing activities, the proof of deletion, the
rule, hold and run-log admins, and a withdrawal saved in the stand-in consent admin."""

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from kombu.exceptions import OperationalError

from cases.models import Case, CaseMessage, CaseStatus, CaseType
from consent.models import ConsentEvent, ConsentPurpose, ConsentState, ConsentSubject, Purpose
from registers import registry
from registers.models import Lead, RecruitmentEntry, VisitorRegistration
from retention import tasks
from retention.defaults import ensure_default_rules
from retention.models import HoldScope, LegalHold, RetentionRule, RetentionRun, RunStatus, RunStep, Trigger
from tests.factories import StaffFactory, submit
from tests.retention import records

pytestmark = pytest.mark.django_db

ADMIN = "/admin/retention/retentionrule/"
PAGES = {
    "overview": f"{ADMIN}overview/",
    "dry run": f"{ADMIN}dry-run/",
    "record of processing activities": f"{ADMIN}processing-activities/",
    "record of processing activities as CSV": f"{ADMIN}processing-activities.csv",
    "proof of deletion": f"{ADMIN}proof-of-deletion/",
}
RUN_NOW = f"{ADMIN}run-now/"
RUN_LOG = "/admin/retention/retentionrun/"
HOLDS = "/admin/retention/legalhold/"

# Words that appear in no page unless a record's name or address leaks into it.
SECRET_NAME = "Zebulon Quillfeather"
SECRET_EMAIL = "zebulon.quillfeather@example.net"
KEPT_NAME = "Ottoline Marchbanks"
KEPT_EMAIL = "ottoline.marchbanks@example.net"


@pytest.fixture(autouse=True)
def _no_pause(settings):
    settings.TRUSTCENTER_RETENTION_PAUSE_SECONDS = 0
    ensure_default_rules()


@pytest.fixture
def admin_user():
    return StaffFactory(is_superuser=True, username="retention-admin")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def with_permissions(*codenames: str):
    user: Any = StaffFactory()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="retention", codename__in=codenames)
    )
    return user


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8-sig")


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body(response))))


def expired_and_kept_leads() -> tuple[Lead, Lead]:
    """A lead past its year (due) and one made yesterday (kept), with names found nowhere else."""
    expired = Lead.objects.create(
        full_name=SECRET_NAME,
        email=SECRET_EMAIL,
        phone="+47 91234567",
        company="Quillfeather Ink",
        created_at=timezone.now() - timedelta(days=800),
    )
    kept = Lead.objects.create(
        full_name=KEPT_NAME, email=KEPT_EMAIL, created_at=timezone.now() - timedelta(days=1)
    )
    return expired, kept


def closed_whistleblowing_case(*, years_ago: int) -> Case:
    case, _code = submit(case_type=CaseType.WHISTLEBLOWING, message="The warehouse manager steals.")
    closed = timezone.now() - timedelta(days=365 * years_ago)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_at=closed)
    CaseMessage.objects.filter(case=case).update(created_at=closed)
    return case


def table_row(page: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row {row_id}"
    return match.group(1)


def cells(row_html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row_html, re.S)
    ]


# --- who may see the pages ----------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES.values(), ids=PAGES.keys())
def test_a_superuser_sees_each_page(admin_client, url):
    assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize("url", PAGES.values(), ids=PAGES.keys())
def test_staff_with_the_view_permission_see_each_page(client, url):
    client.force_login(with_permissions("view_retentionrule"))
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [*PAGES.values(), RUN_NOW], ids=[*PAGES.keys(), "run now"])
def test_staff_without_the_permission_are_refused(client, url):
    client.force_login(StaffFactory())
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("url", [*PAGES.values(), RUN_NOW], ids=[*PAGES.keys(), "run now"])
def test_a_stranger_is_sent_to_log_in(client, url):
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert not RetentionRun.objects.exists()


def test_the_rule_list_links_to_every_page(admin_client):
    page = admin_client.get(ADMIN).content.decode()
    for url in [PAGES["overview"], PAGES["dry run"], PAGES["record of processing activities"], RUN_LOG]:
        assert f'href="{url}"' in page
    assert f'href="{PAGES["proof of deletion"]}"' in page


# --- the overview (point 4) --------------------------------------------------------------------


def test_the_overview_counts_each_category_without_a_name_or_an_address(admin_client):
    expired, _kept = expired_and_kept_leads()
    page = admin_client.get(PAGES["overview"]).content.decode()

    for secret in (SECRET_NAME, SECRET_EMAIL, KEPT_NAME, KEPT_EMAIL, "Quillfeather"):
        assert secret not in page
    leads = cells(table_row(page, "category-leads"))
    assert leads[0] == "leads"
    assert leads[2] == "2"  # records
    assert leads[3] == timezone.localdate(expired.created_at).isoformat()  # the oldest clock
    assert leads[4].startswith("1 year")
    assert leads[5] == "1"  # the next run takes the expired one
    visitors = cells(table_row(page, "category-visitors"))
    assert visitors[2] == "0" and visitors[3] == "–" and visitors[5] == "0"


def test_the_overview_shows_only_the_count_of_whistleblowing_cases(admin_client):
    closed_whistleblowing_case(years_ago=3)
    closed_whistleblowing_case(years_ago=3)
    page = admin_client.get(PAGES["overview"]).content.decode()

    row = table_row(page, "category-caseswhistleblowing")
    assert [cell for cell in cells(row) if cell] == [
        "cases.whistleblowing",
        "Only the count is shown for this category.",
        "2",
    ]
    assert "<a " not in row and not re.search(r"\d{4}-\d{2}-\d{2}", row)
    # The other case types show everything.
    assert 'class="next-run"' in table_row(page, "category-casesgeneral_inquiry")


def test_the_overview_counts_no_held_record_as_taken(admin_client, admin_user):
    expired, _kept = expired_and_kept_leads()
    LegalHold.objects.create(
        scope=HoldScope.SUBJECT, email=SECRET_EMAIL, reason="A claim", created_by=admin_user
    )
    page = admin_client.get(PAGES["overview"]).content.decode()
    assert cells(table_row(page, "category-leads"))[5] == "0"


# --- the dry run and the button (point 10) ------------------------------------------------------


def test_the_dry_run_says_what_would_go_and_why_without_a_name_or_an_address(admin_client, admin_user):
    expired, _kept = expired_and_kept_leads()
    held = VisitorRegistration.objects.create(
        full_name="Held Visitorsen",
        email="held.visitor@example.net",
        visited_at=timezone.now() - timedelta(days=90),
    )
    VisitorRegistration.objects.create(
        full_name=SECRET_NAME, email=SECRET_EMAIL, visited_at=timezone.now() - timedelta(days=90)
    )
    LegalHold.objects.create(
        scope=HoldScope.RECORD,
        record_type=ContentType.objects.get_for_model(VisitorRegistration),
        record_id=str(held.pk),
        reason="A claim",
        created_by=admin_user,
    )
    page = admin_client.get(PAGES["dry run"]).content.decode()

    for secret in (
        SECRET_NAME,
        SECRET_EMAIL,
        KEPT_NAME,
        KEPT_EMAIL,
        "Quillfeather",
        "Visitorsen",
        "held.visitor",
    ):
        assert secret not in page
    leads = re.search(r"<tr>\s*<th scope=\"row\">leads</th>(.*?)</tr>", page, re.S).group(1)
    assert '<td class="due">1</td>' in leads and '<td class="would-go">1</td>' in leads
    assert "created" in leads  # what the clock runs from
    visitors = re.search(r"<tr>\s*<th scope=\"row\">visitors</th>(.*?)</tr>", page, re.S).group(1)
    assert '<td class="due">2</td>' in visitors and '<td class="held">1</td>' in visitors
    assert '<td class="would-go">1</td>' in visitors
    assert "1 is kept by a legal hold or a postponement." in visitors
    assert 'action="/admin/retention/retentionrule/run-now/"' in page
    assert Lead.objects.filter(pk=expired.pk).exists()  # looking deletes nothing


def test_the_button_is_only_shown_to_those_who_may_run_the_purge(client):
    client.force_login(with_permissions("view_retentionrule"))
    page = client.get(PAGES["dry run"]).content.decode()
    assert "Run the purge now" not in page
    assert client.post(RUN_NOW).status_code == 403
    assert not RetentionRun.objects.exists()


def test_run_now_runs_the_purge_and_shows_the_run_log(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    expired, kept = expired_and_kept_leads()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(RUN_NOW)

    assert response.status_code == 302 and response["Location"] == RUN_LOG
    assert len(callbacks) == 1
    run = RetentionRun.objects.get()
    assert (run.trigger, run.status, run.requested_by) == (Trigger.MANUAL, RunStatus.FINISHED, admin_user)
    assert not Lead.objects.filter(pk=expired.pk).exists()
    assert Lead.objects.filter(pk=kept.pk).exists()

    log = admin_client.get(RUN_LOG).content.decode()
    assert "The purge was started." in log
    assert '<td class="field-deleted">1</td>' in log
    detail = admin_client.get(f"{RUN_LOG}{run.pk}/change/").content.decode()
    assert "registers.Lead" in detail and SECRET_NAME not in detail


def test_get_on_run_now_does_nothing(admin_client, django_capture_on_commit_callbacks):
    expired, _kept = expired_and_kept_leads()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.get(RUN_NOW)
    assert response.status_code == 405
    assert callbacks == []
    assert not RetentionRun.objects.exists()
    assert Lead.objects.filter(pk=expired.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_run_now_says_so_when_the_broker_is_unreachable(client, monkeypatch, settings):
    settings.TRUSTCENTER_RETENTION_PAUSE_SECONDS = 0
    client.force_login(StaffFactory(is_superuser=True, username="broker-outage-admin"))
    expired, _kept = expired_and_kept_leads()

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.purge_now, "delay", unreachable)
    response = client.post(RUN_NOW, follow=True)

    assert response.redirect_chain[-1][0] == PAGES["dry run"]
    assert "task queue is unreachable" in response.content.decode()
    assert not RetentionRun.objects.exists()
    assert Lead.objects.filter(pk=expired.pk).exists()


def test_the_run_log_is_read_only(admin_client):
    run = RetentionRun.objects.create(trigger=Trigger.SCHEDULE, status=RunStatus.FINISHED)
    RunStep.objects.create(run=run, category="leads", register="registers.Lead", deleted=3, held=1)
    assert admin_client.get(f"{RUN_LOG}add/").status_code == 403
    assert admin_client.post(f"{RUN_LOG}{run.pk}/delete/").status_code == 403
    page = admin_client.get(f"{RUN_LOG}{run.pk}/change/").content.decode()
    assert 'name="_save"' not in page and "registers.Lead" in page
    log = admin_client.get(RUN_LOG).content.decode()
    assert '<td class="field-deleted">3</td>' in log and '<td class="field-held">1</td>' in log


# --- the record of processing activities (point 4) -----------------------------------------------


def owning_declarations():
    return [declaration for declaration in registry.declarations() if not declaration.part_of]


def test_the_record_of_processing_activities_names_the_controller_and_every_register(admin_client, settings):
    settings.TRUSTCENTER_CONTROLLER_NAME = "Nordlys Holding AS"
    settings.TRUSTCENTER_POSTAL_ADDRESS = "Storgata 1, 0155 Oslo"
    page = admin_client.get(PAGES["record of processing activities"]).content.decode()

    assert "Nordlys Holding AS" in page and "Storgata 1, 0155 Oslo" in page
    for declaration in owning_declarations():
        assert f'id="activity-{declaration.label.lower().replace(".", "")}"' in page
    part_labels = [d.label for d in registry.declarations() if d.part_of]
    assert part_labels  # a case's messages and files are folded into the case
    for label in part_labels:
        assert f'id="activity-{label.lower().replace(".", "")}"' not in page
    accounting = page.split('id="activity-registersaccountingrecord"')[1].split("</table>")[0]
    assert "Sweden: 7 years after the end of that calendar year" in accounting
    assert "Norway: 5 years" in accounting
    assert "voucher" not in accounting.lower() or "description" in accounting  # field names, not values


def test_the_record_of_processing_activities_as_csv_has_a_row_per_register_with_its_legal_basis(
    admin_client, settings
):
    response = admin_client.get(PAGES["record of processing activities as CSV"])
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = csv_rows(response)

    owners = owning_declarations()
    assert len(rows) == len(owners)
    by_register = {row["Register"]: row for row in rows}
    for declaration in owners:
        name = declaration.verbose_name_plural
        row = by_register[name[:1].upper() + name[1:]]
        assert row["Legal basis"] == str(declaration.notice.legal_basis)
        assert row["Controller"] == settings.TRUSTCENTER_CONTROLLER_NAME
    cases = by_register["Cases"]
    assert "messages" in cases["Records that belong to it"].split("; ")
    assert "attachments: file, file name" in cases["Categories of personal data"]
    assert "cases.whistleblowing: 2 years" in cases["Retention"]
    consent = by_register["Consent subjects"]
    assert consent["Retention"] == str(registry.declaration_for(ConsentSubject).kept_because)
    assert "consent events" in consent["Records that belong to it"]
    assert "e-mail" in by_register["Leads"]["Categories of personal data"]


def test_the_csv_cells_never_start_a_formula(admin_client, settings):
    settings.TRUSTCENTER_CONTROLLER_NAME = '=HYPERLINK("http://evil.example")'
    rows = csv_rows(admin_client.get(PAGES["record of processing activities as CSV"]))
    assert {row["Controller"] for row in rows} == {'\'=HYPERLINK("http://evil.example")'}


# --- proof of deletion (point 11) ----------------------------------------------------------------


def run_started(day: str, *, category: str, deleted: int) -> RetentionRun:
    started = timezone.make_aware(datetime.fromisoformat(f"{day}T02:00:00"))
    run = RetentionRun.objects.create(
        trigger=Trigger.SCHEDULE, status=RunStatus.FINISHED, started_at=started, finished_at=started
    )
    RunStep.objects.create(run=run, category=category, register="registers.Lead", deleted=deleted)
    return run


def test_the_proof_of_deletion_holds_only_the_period_s_steps(admin_client):
    before = run_started("2026-02-28", category="before", deleted=1)
    first = run_started("2026-03-01", category="leads", deleted=4)
    last = run_started("2026-03-31", category="visitors", deleted=2)
    after = run_started("2026-04-01", category="after", deleted=8)

    response = admin_client.get(
        PAGES["proof of deletion"], {"first_day": "2026-03-01", "last_day": "2026-03-31"}
    )

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="proof-of-deletion-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [(row["run"], row["category"], row["deleted"]) for row in rows] == [
        (str(first.pk), "leads", "4"),
        (str(last.pk), "visitors", "2"),
    ]
    assert rows[0]["trigger"] == "schedule" and rows[0]["status"] == "finished"
    assert rows[0]["started"].startswith("2026-03-01T02:00:00")
    assert set(rows[0]) == {
        "run", "trigger", "status", "started", "finished", "category", "register",
        "country", "cutoff", "deleted", "anonymised", "held", "failed",
    }  # fmt: skip
    assert before.pk and after.pk


def test_a_reversed_period_is_refused_and_keeps_what_was_typed(admin_client):
    response = admin_client.get(
        PAGES["proof of deletion"], {"first_day": "2026-03-31", "last_day": "2026-03-01"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "The period ends before it starts" in page
    assert 'value="2026-03-31"' in page and 'value="2026-03-01"' in page


# --- rules -------------------------------------------------------------------------------------


def rule_form(rule: RetentionRule, **changes) -> dict:
    data = {
        "category": rule.category,
        "period_amount": rule.period_amount,
        "period_unit": rule.period_unit,
        "action": rule.action,
        "enabled": "on" if rule.enabled else "",
        "max_postponement_days": rule.max_postponement_days,
        "basis": rule.basis,
        "country_periods-TOTAL_FORMS": "0",
        "country_periods-INITIAL_FORMS": "0",
        "country_periods-MIN_NUM_FORMS": "0",
        "country_periods-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_a_rule_changed_in_the_admin_is_in_the_audit_log(admin_client, admin_user):
    rule = RetentionRule.objects.get(category="leads")
    response = admin_client.post(f"{ADMIN}{rule.pk}/change/", rule_form(rule, period_amount=2))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.period_amount == 2
    entry = LogEntry.objects.get_for_object(rule).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == admin_user
    assert entry.changes_dict["period_amount"] == ["1", "2"]


def test_a_rule_for_an_unknown_category_is_refused(admin_client):
    rule = RetentionRule(category="pets", period_amount=1, period_unit="years")
    response = admin_client.post(f"{ADMIN}add/", rule_form(rule))
    assert response.status_code == 200
    assert "No register holds records in the category" in response.content.decode()
    assert not RetentionRule.objects.filter(category="pets").exists()


def test_anonymising_is_refused_where_a_register_cannot_be_anonymised(admin_client):
    rule = RetentionRule.objects.get(category="leads")
    response = admin_client.post(f"{ADMIN}{rule.pk}/change/", rule_form(rule, action="anonymise"))
    assert response.status_code == 200
    assert "These registers cannot be anonymised, only deleted: leads." in response.content.decode()
    rule.refresh_from_db()
    assert rule.action == "delete"
    contacts = RetentionRule.objects.get(category="customer_contacts")
    assert admin_client.post(f"{ADMIN}{contacts.pk}/change/", rule_form(contacts)).status_code == 302


# --- legal holds ---------------------------------------------------------------------------------


def hold_form(**fields) -> dict:
    data = {
        "scope": "",
        "email": "",
        "category": "",
        "record_type": "",
        "record_id": "",
        "reason": "",
        "until_0": "",
        "until_1": "",
    }
    data.update(fields)
    return data


def test_a_hold_added_in_the_admin_records_who_placed_it(admin_client, admin_user):
    response = admin_client.post(
        f"{HOLDS}add/",
        hold_form(
            scope=HoldScope.SUBJECT, email="  Zebulon.Quillfeather@Example.NET ", reason="Claim 2026-14"
        ),
    )
    assert response.status_code == 302, response.content.decode()
    hold = LegalHold.objects.get()
    assert hold.created_by == admin_user
    assert hold.email == SECRET_EMAIL
    assert LogEntry.objects.get_for_object(hold).filter(action=LogEntry.Action.CREATE).exists()


def test_a_hold_on_one_record_is_chosen_by_its_kind_and_id(admin_client):
    expired, _kept = expired_and_kept_leads()
    lead_type = ContentType.objects.get_for_model(Lead)
    missing = admin_client.post(
        f"{HOLDS}add/",
        hold_form(scope=HoldScope.RECORD, record_type=lead_type.pk, record_id="999999", reason="Claim"),
    )
    assert missing.status_code == 200 and "There is no lead with the id 999999." in missing.content.decode()
    response = admin_client.post(
        f"{HOLDS}add/",
        hold_form(
            scope=HoldScope.RECORD, record_type=lead_type.pk, record_id=str(expired.pk), reason="Claim"
        ),
    )
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.record_type, hold.record_id, hold.email, hold.category) == (
        lead_type,
        str(expired.pk),
        "",
        "",
    )
    assert cells(table_row(admin_client.get(PAGES["overview"]).content.decode(), "category-leads"))[5] == "0"


def test_holds_are_filtered_by_state_and_lifted_by_the_action(admin_client, admin_user):
    active = LegalHold.objects.create(
        scope=HoldScope.CATEGORY, category="leads", reason="Active one", created_by=admin_user
    )
    expired = LegalHold.objects.create(
        scope=HoldScope.CATEGORY,
        category="visitors",
        reason="Expired one",
        until=timezone.now() - timedelta(days=1),
        created_by=admin_user,
    )
    lifted = LegalHold.objects.create(
        scope=HoldScope.CATEGORY,
        category="inquiries",
        reason="Lifted one",
        lifted_at=timezone.now(),
        created_by=admin_user,
    )

    def listed(state: str) -> set[int]:
        page = admin_client.get(HOLDS, {"state": state}).content.decode()
        return {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', page)}

    assert listed("active") == {active.pk}
    assert listed("expired") == {expired.pk}
    assert listed("lifted") == {lifted.pk}

    response = admin_client.post(HOLDS, {"action": "lift_selected", "_selected_action": [active.pk]})
    assert response.status_code == 302
    active.refresh_from_db()
    assert active.lifted_at is not None and active.lifted_by == admin_user
    assert listed("active") == set()
    assert admin_client.post(f"{HOLDS}{active.pk}/delete/").status_code == 403


# --- consent (staff record what a person asked for) ----------------------------------------------


def test_a_withdrawal_recorded_by_staff_purges_the_subject_s_recruitment_entry(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    given = timezone.now() - timedelta(days=10)
    entry = RecruitmentEntry.objects.create(full_name=SECRET_NAME, email=SECRET_EMAIL, created_at=given)
    other = RecruitmentEntry.objects.create(full_name=KEPT_NAME, email=KEPT_EMAIL, created_at=given)
    records.consent(SECRET_EMAIL, Purpose.RECRUITMENT_DATABASE, given_at=given)
    records.consent(KEPT_EMAIL, Purpose.RECRUITMENT_DATABASE, given_at=given)
    purpose = ConsentPurpose.objects.get(slug=Purpose.RECRUITMENT_DATABASE)
    form = {"email": f" {SECRET_EMAIL.upper()} ", "purpose": purpose.pk, "action": "withdraw"}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post("/admin/consent/consentstate/record/", form)

    assert response.status_code == 302, response.content.decode()
    assert len(callbacks) == 1
    event = ConsentEvent.objects.latest("id")
    assert (event.action, event.channel, event.actor) == ("withdraw", "staff", admin_user)
    state = ConsentState.objects.get(subject__email=SECRET_EMAIL, purpose=purpose)
    assert state.withdrawn_at == event.occurred_at and not state.standing
    assert not RecruitmentEntry.objects.filter(pk=entry.pk).exists()
    assert RecruitmentEntry.objects.filter(pk=other.pk).exists()
    run = RetentionRun.objects.get()
    assert run.trigger == Trigger.WITHDRAWAL
    assert run.steps.get(category="recruitment_database").deleted == 1

    # A give starts nothing.
    with django_capture_on_commit_callbacks(execute=True) as again:
        admin_client.post("/admin/consent/consentstate/record/", {**form, "action": "give"})
    assert again == [] and RetentionRun.objects.count() == 1


def test_staff_without_the_right_cannot_record_a_consent(client, django_user_model):
    staff = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_consentstate"))
    client.force_login(staff)
    purpose = ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER)
    response = client.post(
        "/admin/consent/consentstate/record/",
        {"email": SECRET_EMAIL, "purpose": purpose.pk, "action": "give"},
    )
    assert response.status_code == 403
    assert not ConsentEvent.objects.exists()


def test_the_consent_admin_finds_a_subject_by_e_mail(admin_client):
    records.consent(SECRET_EMAIL, Purpose.NEWSLETTER, given_at=timezone.now())
    records.consent(KEPT_EMAIL, Purpose.EVENT_FOLLOWUP, given_at=timezone.now())
    secret = ConsentSubject.objects.get(email=SECRET_EMAIL)
    kept = ConsentSubject.objects.get(email=KEPT_EMAIL)
    page = admin_client.get("/admin/consent/consentstate/", {"q": " Zebulon.QUILLFEATHER "}).content.decode()
    assert str(secret.pk) in page and str(kept.pk) not in page
    purpose = ConsentPurpose.objects.get(slug=Purpose.EVENT_FOLLOWUP)
    filtered = admin_client.get(
        "/admin/consent/consentstate/", {"purpose__id__exact": purpose.pk}
    ).content.decode()
    assert str(kept.pk) in filtered and str(secret.pk) not in filtered
