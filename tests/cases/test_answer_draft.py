"""The answer drafted from what was done (issue 13, point 6): in the requester's language, with the
export and what was withheld and why, per register what was erased and what was kept and why, the
objection, and where to complain; staff edit it in the reply form and send it as the answer."""

import re

import pytest

from cases import fulfilment
from cases.models import CaseMessage, ClockKind, ExportStatus
from registers.models import ExternalRegister
from tests.factories import confirmed_subject_request
from tests.registers.factories import AccountingRecordFactory, LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("password_login_is_enough")]

KARI = "kari@example.com"


def test_the_draft_says_what_was_done_in_the_requester_s_language(
    handler, django_capture_on_commit_callbacks
):
    case, _code = confirmed_subject_request(language="nb", subject_right="erasure")
    withheld = LeadFactory(email=KARI)
    AccountingRecordFactory(email=KARI)
    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_access_export(case=case, actor=handler)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.withhold_item(
            export=export,
            actor=handler,
            register="registers.Lead",
            record_key=str(withheld.pk),
            reason="Den nevner en kollegas klage.",
        )
    export.refresh_from_db()
    fulfilment.release_access_export(export=export, actor=handler)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.erase_requester_data(case=case, actor=handler)
        fulfilment.object_to_direct_marketing(case=case, actor=handler)

    draft = fulfilment.draft_answer(case=case)

    assert draft.startswith("Hei,")
    assert case.reference in draft
    assert "en lenke for å laste ned en kopi" in draft
    assert re.search(r"\n- [^\n]+, 1 post: Den nevner en kollegas klage\.\n", draft)
    assert ": 1 post slettet\n" in draft  # the lead
    assert "1 post beholdt: Bokføringsloven krever" in draft
    assert "protesten din mot direkte markedsføring" in draft
    assert "Datatilsynet, datatilsynet.no" in draft and "imy.se" in draft


def test_the_case_page_fills_the_reply_with_the_draft_and_sending_it_meets_the_answer_clock(client, handler):
    case, _code = confirmed_subject_request(language="en")
    client.force_login(handler)

    page = client.get(f"/en/staff/cases/{case.pk}/?draft=answer").content.decode()
    reply = re.search(r'<textarea name="reply-body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert reply.strip().startswith("Hello,") and case.reference in reply
    assert re.search(r'name="reply-is_answer"[^>]*checked', page)
    assert (
        "Hello,"
        not in client.get(f"/en/staff/cases/{case.pk}/").content.decode().split("reply-body")[1][:200]
    )

    response = client.post(
        f"/en/staff/cases/{case.pk}/reply/", {"reply-body": "Edited answer", "reply-is_answer": "on"}
    )
    assert response.status_code == 302
    assert CaseMessage.objects.filter(case=case, body="Edited answer", is_answer=True).exists()
    assert case.clocks.get(kind=ClockKind.ANSWER).met_at is not None


def test_the_draft_does_not_claim_what_was_not_done(handler, monkeypatch, django_capture_on_commit_callbacks):
    """An export still in review is not said to be sent; a register in another database that did
    not answer is said to be not erased yet; what was withheld is named by its register."""
    case, _code = confirmed_subject_request(subject_right="erasure")
    first, second = LeadFactory(email=KARI), LeadFactory(email=KARI)
    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_access_export(case=case, actor=handler)
    for lead in (first, second):
        with django_capture_on_commit_callbacks(execute=True):
            fulfilment.withhold_item(
                export=export,
                actor=handler,
                register="registers.Lead",
                record_key=str(lead.pk),
                reason="Names a colleague.",
            )
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW

    in_review = fulfilment.draft_answer(case=case)

    assert "a link to download" not in in_review and "Names a colleague" not in in_review

    fulfilment.release_access_export(export=export, actor=handler)
    monkeypatch.delenv("TRUSTCENTER_EXTERNAL_GONE_URL", raising=False)
    ExternalRegister.objects.create(
        name="Old CRM",
        connection_variable="TRUSTCENTER_EXTERNAL_GONE_URL",
        table="contacts",
        email_column="email",
        category="customer_contacts",
        exported_columns=["email"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        erasure = fulfilment.erase_requester_data(case=case, actor=handler)
    assert not erasure.complete

    draft = fulfilment.draft_answer(case=case)

    assert "a link to download" in draft
    assert "- Leads, 2 records: Names a colleague.\n" in draft
    assert "- Leads: 2 records erased\n" in draft
    assert "- Old CRM: not erased yet: the system that holds it could not be reached." in draft
    assert "Old CRM: 0 records erased" not in draft
