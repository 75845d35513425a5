"""Rectification, restriction and objection (issue 13, point 5): actions on the records found for a
requester, each in the case's history; an objection to direct marketing withdraws the marketing
consents through the ledger, erases the prospect and leaves a suppression entry that imports and
sign-ups check; an erasure leaves one too; recipients of a register are told (art. 19)."""

from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from cases import fulfilment
from cases.models import CaseEvent, CaseEventKind
from consent import services as consent_services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentPurpose, SignUp, SignUpKind
from consent.selectors import current_consent
from registers.models import Lead, RegisterRecipient, Restriction, SuppressedAddress
from registers.registry import identity_digest
from tests.factories import (
    CaseHandlerFactory,
    StaffFactory,
    confirmed_subject_request,
)
from tests.registers.factories import LeadFactory, LegalEntityFactory, staff_with
from tests.registers.test_import_export import CSV_FORMAT, csv_file, import_file

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("password_login_is_enough")]

KARI = "kari@example.com"


@pytest.fixture
def request_case():
    case, _code = confirmed_subject_request(subject_right="rectification")
    return case


def test_a_rectification_corrects_the_field_says_which_and_tells_the_recipients(
    handler, request_case, django_capture_on_commit_callbacks
):
    lead = LeadFactory(email=KARI, full_name="Kari Nordman")
    RegisterRecipient.objects.create(register="registers.Lead", name="CRM AS", email="dpo@crm.example")
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.rectify_record(
            case=request_case,
            actor=handler,
            register="registers.Lead",
            record_key=str(lead.pk),
            field="full_name",
            value=" Kari Nordmann ",
        )
    lead.refresh_from_db()
    assert lead.full_name == "Kari Nordmann"
    event = CaseEvent.objects.get(case=request_case, kind=CaseEventKind.RECORD_RECTIFIED)
    assert event.data == {"register": "registers.Lead", "field": "full_name"}  # not the values
    [told] = [message for message in mail.outbox if message.to == ["dpo@crm.example"]]
    assert request_case.reference in told.subject and KARI in told.body and "rectified" in told.body
    assert 'register "leads"' in told.body  # its name, not the model's label


def test_a_rectification_is_refused_for_a_bad_value_another_s_record_or_a_field_it_may_not_touch(
    client, handler, request_case
):
    lead = LeadFactory(email=KARI)
    others = LeadFactory(email="ola@example.com", full_name="Ola")
    for register, key, field, value in (
        ("registers.Lead", str(lead.pk), "email", "not an address"),
        ("registers.Lead", str(others.pk), "full_name", "Changed"),
        ("registers.Lead", str(lead.pk), "created_at", "2020-01-01"),
        ("registers.Lead", "not-a-key", "full_name", "Changed"),
    ):
        with pytest.raises(ValidationError):
            fulfilment.rectify_record(
                case=request_case, actor=handler, register=register, record_key=key, field=field, value=value
            )
    others.refresh_from_db()
    assert others.full_name == "Ola" and Lead.objects.get(pk=lead.pk).email == KARI

    client.force_login(handler)
    response = client.post(
        f"/en/staff/cases/{request_case.pk}/records/rectify/",
        {
            "rectify-register": "registers.Lead",
            "rectify-record_key": str(lead.pk),
            "rectify-field": "email",
            "rectify-value": "kari at home",
        },
    )
    assert response.status_code == 400
    assert 'value="kari at home"' in response.content.decode()  # what was typed comes back


def test_a_restricted_record_leaves_the_register_lists(client, handler, request_case):
    lead = LeadFactory(email=KARI, company="Restricted AS")
    fulfilment.restrict_record(
        case=request_case, actor=handler, register="registers.Lead", record_key=str(lead.pk)
    )
    assert Restriction.objects.filter(record_id=str(lead.pk), record_type__model="lead").exists()
    assert CaseEvent.objects.filter(case=request_case, kind=CaseEventKind.RECORD_RESTRICTED).exists()
    client.force_login(staff_with("view_lead"))
    assert "Restricted AS" not in client.get("/admin/registers/lead/").content.decode()


def test_an_objection_withdraws_marketing_consents_erases_the_prospect_and_suppresses_the_address(
    client, handler, request_case
):
    ensure_default_purposes()
    newsletter = ConsentPurpose.objects.get(slug="newsletter")
    followup = ConsentPurpose.objects.get(slug="event_followup")
    for purpose in (newsletter, followup):
        consent_services.record_consent(
            email=KARI, purpose=purpose, action=ConsentAction.GIVE, channel=Channel.WEB
        )
    lead = LeadFactory(email=KARI)

    erased = fulfilment.object_to_direct_marketing(case=request_case, actor=handler)

    assert erased == 1 and not Lead.objects.filter(pk=lead.pk).exists()
    assert not current_consent(email=KARI, purpose="newsletter").standing
    assert current_consent(email=KARI, purpose="event_followup").standing  # not marketing
    withdrawal = ConsentEvent.objects.get(action=ConsentAction.WITHDRAW)
    assert (withdrawal.channel, withdrawal.actor) == (Channel.STAFF, handler)
    assert SuppressedAddress.objects.filter(digest=identity_digest(KARI), why="objection").exists()
    assert CaseEvent.objects.get(case=request_case, kind=CaseEventKind.OBJECTION_RECORDED).data == {
        "erased": 1
    }

    # A sign-up from the address answers as always and keeps nothing, sends nothing.
    sent_before = len(mail.outbox)
    assert (
        consent_services.sign_up(
            kind=SignUpKind.NEWSLETTER, email="KARI@example.com", language="en", client_key="k"
        )
        is None
    )
    assert not SignUp.objects.exists() and len(mail.outbox) == sent_before

    # An import skips her row and takes the others.
    superuser: Any = StaffFactory(is_superuser=True)
    client.force_login(superuser)
    LegalEntityFactory(name="Amesto Solutions AS")
    upload = csv_file(
        ["full_name,email,company", "Kari Nordmann,kari@example.com,Fjord", "Ola,ola@example.com,Fisk"]
    )
    response = import_file(client, "lead", upload, CSV_FORMAT)
    assert response.status_code == 302
    assert list(Lead.objects.values_list("email", flat=True)) == ["ola@example.com"]


def test_an_erasure_leaves_a_suppression_entry_and_tells_the_recipients(
    handler, request_case, django_capture_on_commit_callbacks
):
    LeadFactory(email=KARI)
    RegisterRecipient.objects.create(register="registers.Lead", name="CRM AS", email="dpo@crm.example")
    RegisterRecipient.objects.create(
        register="registers.Inquiry", name="Helpdesk AS", email="dpo@help.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.erase_requester_data(case=request_case, actor=handler)
    assert SuppressedAddress.objects.filter(digest=identity_digest(KARI), why="erasure").exists()
    told = [message.to for message in mail.outbox if "art. 19" in message.body]
    assert told == [["dpo@crm.example"]]  # the register with nothing of hers is not written to


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "records/"),
        ("post", "records/rectify/"),
        ("post", "records/restrict/"),
        ("post", "objection/"),
    ],
)
def test_every_door_is_shut_to_staff_without_rights_another_team_and_strangers(
    client, handler, request_case, method, path
):
    lead = LeadFactory(email=KARI, company="Fjord Fisk AS")
    url = f"/en/staff/cases/{request_case.pk}/{path}"
    posted = {
        "rectify-register": "registers.Lead",
        "rectify-record_key": str(lead.pk),
        "rectify-field": "company",
        "rectify-value": "Changed",
        "restrict-register": "registers.Lead",
        "restrict-record_key": str(lead.pk),
        "objection-confirmed": "on",
    }
    for outsider in (StaffFactory(), CaseHandlerFactory(teams=["hse"])):
        client.force_login(outsider)
        response = getattr(client, method)(url, posted)
        assert response.status_code == 403 and b"Fjord Fisk AS" not in response.content
        with pytest.raises(PermissionDenied):
            fulfilment.restrict_record(
                case=request_case, actor=outsider, register="registers.Lead", record_key=str(lead.pk)
            )
    client.logout()
    assert getattr(client, method)(url, posted).status_code == 302
    lead.refresh_from_db()
    assert lead.company == "Fjord Fisk AS" and not Restriction.objects.exists()
    assert not SuppressedAddress.objects.exists()
