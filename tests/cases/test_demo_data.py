"""Issue 3, point 3 and issue 9, point 13: the demo data bin/start loads holds cases of every type
in several states, with clocks in every state, a breach decision and an extension, and prints a
staff login per team and a superuser login to see them with."""

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from cases import selectors, services
from cases.deadlines import ClockState, clock_state
from cases.models import Breach, Case, CaseClock, CaseType

pytestmark = pytest.mark.django_db

TEAMS = list(services.DEFAULT_TEAMS)


def load_demo_data() -> str:
    output = io.StringIO()
    call_command("load_demo_data", stdout=output)
    return output.getvalue()


def staff_password(output: str) -> str:
    match = re.search(r"^Staff login: staff / (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def team_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^Staff login \((\w+) team\): \1 / (\S+)$", output, re.MULTILINE))


def log_in(username: str, password: str):
    # django-axes counts failed logins per request: its backend needs one.
    return authenticate(request=RequestFactory().post("/"), username=username, password=password)


def references(response) -> set[str]:
    return set(re.findall(r"TC-\d{4}-\d{5}", response.content.decode()))


def test_it_loads_cases_of_every_type_in_several_states():
    load_demo_data()
    assert set(Case.objects.values_list("case_type", flat=True)) == set(CaseType.values)
    assert Case.objects.values("status").distinct().count() > 1
    assert (
        Case.objects.filter(is_anonymous=True).exists() and Case.objects.filter(is_anonymous=False).exists()
    )


def test_its_clocks_are_in_every_state_with_a_breach_decision_and_an_extension():
    load_demo_data()
    now = timezone.now()
    states = {
        clock_state(now=now, due=clock.due_at, at_risk=clock.at_risk_at, met=clock.met_at)
        for clock in CaseClock.objects.filter(dropped_at__isnull=True)
    }
    assert states == set(ClockState)
    assert Breach.objects.exclude(decision="").exists()
    assert CaseClock.objects.filter(extended_at__isnull=False).exclude(extension_reason="").exists()
    # The queue sorts on the nearest due of each case's running clocks, kept with the clocks.
    for case in Case.objects.all():
        running = case.clocks.filter(met_at__isnull=True, dropped_at__isnull=True)
        assert case.next_due_at == min((clock.due_at for clock in running), default=None)


def test_each_receipt_code_it_prints_opens_its_case():
    output = load_demo_data()
    printed = re.findall(r"demo case (TC-\d{4}-\d{5}): receipt code (\d+)", output)
    assert len(printed) == Case.objects.count()
    for reference, code in printed:
        assert selectors.case_for_receipt_code(typed_code=code).reference == reference


def test_the_staff_login_it_prints_lets_staff_in():
    user = log_in("staff", staff_password(load_demo_data()))
    assert user is not None and user.is_staff and user.is_active and user.is_superuser


def test_each_team_login_sees_its_own_teams_cases_in_the_workspace(client, settings):
    # Two-factor login has tests of its own (tests/trustcenter/test_staff_login.py).
    settings.TRUSTCENTER_REQUIRE_2FA = False
    passwords = team_passwords(load_demo_data())
    assert sorted(passwords) == sorted(TEAMS)
    whistleblowing = set(
        Case.objects.filter(case_type=CaseType.WHISTLEBLOWING).values_list("reference", flat=True)
    )
    for team in TEAMS:
        user = log_in(team, passwords[team])
        assert user is not None and user.is_staff
        client.force_login(user)  # the user the password let in: client.login gives axes no request
        listed = references(client.get("/en/staff/", {"status": "all"})) | references(
            client.get("/en/staff/", {"status": "all", "waiting": "on"})
        )
        teams_cases = {
            case.reference
            for case in Case.objects.all()
            if services.DEFAULT_ROUTING[CaseType(case.case_type)] == team
        }
        assert teams_cases and listed == teams_cases, team
        assert bool(listed & whistleblowing) == (team == "whistleblowing")
        client.logout()


def test_running_it_again_adds_no_cases_and_resets_the_logins():
    first = load_demo_data()
    cases = sorted(Case.objects.values_list("reference", "receipt_hash"))
    second = load_demo_data()
    assert sorted(Case.objects.values_list("reference", "receipt_hash")) == cases
    assert get_user_model().objects.filter(username__in=["staff", *TEAMS]).count() == 1 + len(TEAMS)
    assert log_in("staff", staff_password(second)) is not None
    assert log_in("staff", staff_password(first)) is None
    for team, password in team_passwords(second).items():
        assert log_in(team, password) is not None
        assert log_in(team, team_passwords(first)[team]) is None


def test_the_demo_s_access_requester_is_found_in_every_register_and_the_ledger():
    """Issue 13, point 8: a full access export and an erasure with kept-and-why to show."""
    from cases.models import SubjectCollection
    from registers.registry import declarations

    load_demo_data()
    collection = SubjectCollection.objects.get()
    found = {entry["register"]: entry["found"] for entry in collection.results}
    registers = [
        declaration.label for declaration in declarations() if declaration.label.startswith("registers.")
    ]
    assert registers and all(found[label] >= 1 for label in registers), found
    assert found["consent.ConsentEvent"] >= 4 and found["consent.ConsentSubject"] == 1
    assert collection.case.subject_right == "access" and collection.case.email_confirmed_at is not None


def test_the_demo_declares_a_register_in_another_database_with_the_requester_in_it(monkeypatch, tmp_path):
    """Issue 13, point 8: the external demo table (bin/start names a SQLite file for it)."""
    from cases.models import SubjectCollection
    from registers import external
    from registers.models import ExternalRegister

    monkeypatch.setenv("TRUSTCENTER_EXTERNAL_DEMO_CRM_URL", f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    load_demo_data()
    register = ExternalRegister.objects.get()
    assert external.check(register) == 3
    collection = SubjectCollection.objects.get()
    assert {entry["register"]: entry["found"] for entry in collection.results}[register.label] == 1
    load_demo_data()  # again: nothing new
    assert ExternalRegister.objects.count() == 1 and external.check(register) == 3
