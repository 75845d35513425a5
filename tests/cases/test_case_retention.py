"""Case retention on the case page (issue 11, point 7): how long the case is kept, counted from
its closing or its last message, and postponing its deletion with a reason, within the rule."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from cases import services
from cases.models import Case, CaseEvent, CaseEventKind, CaseType
from retention import services as retention_services
from retention.models import Postponement, RetentionRule
from tests.factories import CaseHandlerFactory, submit

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def password_login_is_enough(settings):
    settings.TRUSTCENTER_REQUIRE_2FA = False
    settings.TRUSTCENTER_STAFF_IDLE_SECONDS = 365 * 24 * 3600


@pytest.fixture
def privacy_handler(client):
    handler = CaseHandlerFactory(teams=["privacy"])
    client.force_login(handler)
    return handler


def closed_complaint(actor) -> Case:
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.COMPLAINT)
        services.change_status(case=case, actor=actor, status="closed", outcome="answered")
    return case


def test_the_case_page_says_until_when_a_closed_case_is_kept(client, privacy_handler):
    case = closed_complaint(privacy_handler)
    with time_machine.travel(RECEIVED + timedelta(days=3), tick=False):
        page = client.get(f"/en/staff/cases/{case.pk}/").content.decode()
    assert "Kept 3 years from its closing or its last message" in page
    assert "Kept until 2 March 2029." in page


def test_a_postponement_is_saved_with_its_reason_in_the_history(client, privacy_handler):
    case = closed_complaint(privacy_handler)
    with time_machine.travel(RECEIVED + timedelta(days=3), tick=False):
        response = client.post(
            f"/en/staff/cases/{case.pk}/retention/",
            {"postpone-until": "2026-12-01", "postpone-reason": "The complainant went to the authority."},
        )
        page = client.get(f"/en/staff/cases/{case.pk}/").content.decode()
    assert response.status_code == 302
    postponement = Postponement.objects.get(
        record_type=ContentType.objects.get_for_model(Case), record_id=str(case.pk)
    )
    assert (postponement.until, postponement.created_by) == (date(2026, 12, 1), privacy_handler)
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.DELETION_POSTPONED).count() == 1
    assert "Deletion postponed until 1 December 2026." in page


def test_a_postponement_beyond_the_rules_longest_is_refused_keeping_what_was_typed(client, privacy_handler):
    case = closed_complaint(privacy_handler)
    RetentionRule.objects.filter(category="cases.complaint").update(max_postponement_days=30)
    with time_machine.travel(RECEIVED + timedelta(days=3), tick=False):
        response = client.post(
            f"/en/staff/cases/{case.pk}/retention/",
            {"postpone-until": "2027-01-01", "postpone-reason": "Keep it for the appeal."},
        )
    page = response.content.decode()
    assert response.status_code == 400
    assert "at most 30 days" in page
    assert "Keep it for the appeal." in page
    assert not Postponement.objects.exists()


def test_another_teams_member_cannot_postpone_a_case(client, privacy_handler):
    case = closed_complaint(privacy_handler)
    outsider = CaseHandlerFactory(teams=["hse"])
    client.force_login(outsider)
    response = client.post(
        f"/en/staff/cases/{case.pk}/retention/", {"postpone-until": "2026-12-01", "postpone-reason": "x"}
    )
    assert response.status_code == 403
    assert not Postponement.objects.exists()


def test_the_purge_keeps_a_postponed_case_and_takes_it_once_the_postponement_ends(privacy_handler):
    case = closed_complaint(privacy_handler)
    with time_machine.travel(RECEIVED + timedelta(days=3), tick=False):
        services.postpone_deletion(case=case, actor=privacy_handler, until=date(2026, 12, 1), reason="Appeal")
    RetentionRule.objects.filter(category="cases.complaint").update(period_amount=30, period_unit="days")
    with time_machine.travel(datetime(2026, 11, 1, 12, tzinfo=UTC), tick=False):
        kept = retention_services.run_purge(trigger="manual", categories=["cases.complaint"], pause_seconds=0)
    assert Case.objects.filter(pk=case.pk).exists()
    assert kept.totals()["held"] == 1
    with time_machine.travel(datetime(2026, 12, 2, 12, tzinfo=UTC), tick=False):
        taken = retention_services.run_purge(
            trigger="manual", categories=["cases.complaint"], pause_seconds=0
        )
    assert not Case.objects.filter(pk=case.pk).exists()
    assert taken.totals()["deleted"] == 1
