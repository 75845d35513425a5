"""Finding the subject of a data-subject request (issue 13, point 1): staff collect, from a
confirmed `subject_request` case, what the registry finds for the requester in every register,
the cases, the consent ledger, the outbox and the audit log; anonymous reports are never matched;
whistleblowing reports are only said to be held by their team; proven identities widen the
search. Every door is tried with a staff member without rights, another team and a stranger."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from cases import fulfilment, services
from cases.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    CaseType,
    IdentityKind,
    ProvenIdentity,
    SubjectCollection,
)
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentPurpose
from consent.services import record_consent
from registers.selectors import subject_records
from tests.factories import (
    CaseHandlerFactory,
    StaffFactory,
    confirmed_subject_request,
    submit,
    submit_subject_request,
)
from tests.registers.factories import AccountingRecordFactory, LeadFactory, RecruitmentEntryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("password_login_is_enough")]

KARI = "kari@example.com"


def confirmed_request(**overrides) -> Case:
    case, _code = confirmed_subject_request(**overrides)
    return case


def found(collection: SubjectCollection) -> dict[str, int]:
    return {entry["register"]: entry["found"] for entry in collection.results if entry["found"]}


def elsewhere(collection: SubjectCollection) -> dict[str, int]:
    return {
        entry["register"]: entry["answered_elsewhere"]
        for entry in collection.results
        if entry["answered_elsewhere"]
    }


def test_it_finds_the_requester_in_every_register_the_ledger_and_the_outbox(handler):
    request = confirmed_request()
    LeadFactory(email="Kari@Example.com")
    RecruitmentEntryFactory(email=KARI)
    AccountingRecordFactory(email=KARI)
    AccountingRecordFactory(email=KARI)
    LeadFactory(email="ola@example.com")  # someone else
    ensure_default_purposes()
    newsletter = ConsentPurpose.objects.get(slug="newsletter")
    for action in (ConsentAction.GIVE, ConsentAction.WITHDRAW):
        record_consent(email=KARI, purpose=newsletter, action=action, channel=Channel.WEB)
    earlier, _code = submit(
        case_type=CaseType.COMPLAINT, is_anonymous=False, reporter_email=KARI, reporter_name="Kari"
    )

    collection = fulfilment.collect_subject_data(case=request, actor=handler)

    assert found(collection) == {
        "registers.Lead": 1,
        "registers.RecruitmentEntry": 1,
        "registers.AccountingRecord": 2,
        "consent.ConsentSubject": 1,
        "consent.ConsentEvent": 2,
        "consent.ConsentState": 1,
        "cases.Case": 2,  # the request itself and the earlier complaint
        "cases.CaseMessage": 2,
        "cases.CaseClock": CaseClockCount.of(request, earlier),
        "cases.EmailConfirmation": 1,
        "trustcenter.OutboxMessage": 1,  # the request's confirmation code
    }
    assert collection.total_found == sum(found(collection).values())
    # Every register that can name a person has its line, found or not.
    assert "registers.VisitorRegistration" in {entry["register"] for entry in collection.results}
    event = CaseEvent.objects.get(case=request, kind=CaseEventKind.DATA_COLLECTED)
    assert event.actor == handler
    assert event.data == {"collection": collection.pk, "found": collection.total_found}


class CaseClockCount:
    @staticmethod
    def of(*cases: Case) -> int:
        return sum(case.clocks.count() for case in cases)


def test_an_anonymous_report_is_never_matched_whatever_it_contains(handler):
    request = confirmed_request()
    anonymous, _code = submit(
        case_type=CaseType.COMPLAINT,
        is_anonymous=True,
        message=f"Kari Nordmann ({KARI}) is the one whose data leaked",
        details={"processing_concerned": KARI},
    )

    collection = fulfilment.collect_subject_data(case=request, actor=handler)

    assert found(collection)["cases.Case"] == 1  # the request alone
    assert found(collection)["cases.CaseMessage"] == 1
    matched_cases = next(
        records.rows
        for records in subject_records(identities=fulfilment.requester_identities(case=request))
        if records.declaration.label == "cases.Case"
    )
    assert list(matched_cases) == [request]
    assert anonymous.pk not in set(matched_cases.values_list("pk", flat=True))


def test_a_whistleblowing_report_is_only_said_to_be_held_by_its_team(client, handler):
    request = confirmed_request()
    report, _code = submit(
        case_type=CaseType.WHISTLEBLOWING,
        is_anonymous=False,
        reporter_email=KARI,
        reporter_name="Kari",
        message="The warehouse manager falsifies the safety rounds",
    )

    collection = fulfilment.collect_subject_data(case=request, actor=handler)

    assert found(collection)["cases.Case"] == 1  # the request, not the report
    assert elsewhere(collection)["cases.Case"] == 1
    assert elsewhere(collection)["cases.CaseMessage"] == 1
    client.force_login(handler)
    page = client.get(f"/en/staff/cases/{request.pk}/").content.decode()
    assert "The whistleblowing team holds records about the requester here and alone answers" in page
    assert report.reference not in page
    assert "falsifies" not in page


def test_proven_identities_find_what_the_confirmed_address_does_not(handler):
    request = confirmed_request()
    LeadFactory(email="kari.nordmann@work.example", phone="")
    RecruitmentEntryFactory(email="someone@else.example", phone="+47 912 34 567")
    RecruitmentEntryFactory(email="another@else.example", phone="912 34 567")  # the national form: not taken

    assert "registers.Lead" not in found(fulfilment.collect_subject_data(case=request, actor=handler))

    fulfilment.add_proven_identity(
        case=request,
        actor=handler,
        kind=IdentityKind.EMAIL,
        value=" Kari.Nordmann@Work.example ",
        how_proven="A code sent to it was read back on the phone",
    )
    fulfilment.add_proven_identity(
        case=request,
        actor=handler,
        kind=IdentityKind.PHONE,
        value="+47 (912) 34-567",
        how_proven="Called back on it",
    )
    collection = fulfilment.collect_subject_data(case=request, actor=handler)

    assert found(collection)["registers.Lead"] == 1
    assert found(collection)["registers.RecruitmentEntry"] == 1
    assert sorted(request.proven_identities.values_list("kind", "value")) == [
        ("email", "kari.nordmann@work.example"),
        ("phone", "+4791234567"),
    ]
    # The history says that an identity was added, never which.
    assert list(
        CaseEvent.objects.filter(case=request, kind=CaseEventKind.IDENTITY_ADDED).values_list(
            "data", flat=True
        )
    ) == [{"kind": "email"}, {"kind": "phone"}]


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        (IdentityKind.EMAIL, "not an address", "value"),
        (IdentityKind.PHONE, "call me maybe", "value"),
        (IdentityKind.PHONE, "12", "value"),
        (IdentityKind.EMAIL, "KARI@example.com", "value"),  # the confirmed address itself
        ("fax", "+4722334455", "kind"),
    ],
)
def test_an_identity_that_is_no_identity_is_refused(handler, kind, value, field):
    request = confirmed_request()
    with pytest.raises(ValidationError) as refused:
        fulfilment.add_proven_identity(case=request, actor=handler, kind=kind, value=value, how_proven="Seen")
    assert field in refused.value.message_dict
    assert not ProvenIdentity.objects.exists()


def test_the_same_identity_twice_is_refused_and_one_without_proof_too(handler):
    request = confirmed_request()
    fulfilment.add_proven_identity(
        case=request, actor=handler, kind="phone", value="+4791234567", how_proven="Seen"
    )
    with pytest.raises(ValidationError) as twice:
        fulfilment.add_proven_identity(
            case=request, actor=handler, kind="phone", value="+47 91 23 45 67", how_proven="x"
        )
    assert "already" in str(twice.value.message_dict["value"])
    with pytest.raises(ValidationError) as unproven:
        fulfilment.add_proven_identity(
            case=request, actor=handler, kind="email", value="k@n.example", how_proven="  "
        )
    assert "how_proven" in unproven.value.message_dict
    assert request.proven_identities.count() == 1


def test_nothing_is_collected_before_the_address_is_confirmed_nor_for_other_cases(handler):
    unconfirmed, _code = submit_subject_request()
    inquiry, _code = submit(is_anonymous=False, reporter_email=KARI, reporter_name="Kari")
    closed = confirmed_request(reporter_email="ola@example.com")
    services.change_status(case=closed, actor=handler, status="closed", outcome="answered")
    for case in (unconfirmed, inquiry, closed):
        with pytest.raises(ValidationError):
            fulfilment.collect_subject_data(case=case, actor=handler)
        with pytest.raises(ValidationError):
            fulfilment.add_proven_identity(
                case=case, actor=handler, kind="phone", value="+4791234567", how_proven="x"
            )
    assert not SubjectCollection.objects.exists()


def test_audit_entries_about_the_requester_s_records_are_counted_and_no_one_else_s(handler):
    request = confirmed_request()
    kari = LeadFactory(email=KARI)
    ola = LeadFactory(email="ola@example.com")
    before = fulfilment.collect_subject_data(case=request, actor=handler).audit_entries
    assert before >= 1  # at least the lead's creation

    kari.company = "Fjord Fisk AS"
    kari.save()
    ola.company = "Other AS"
    ola.save()

    after = fulfilment.collect_subject_data(case=request, actor=handler).audit_entries
    assert after == before + 1
    assert LogEntry.objects.get_for_object(kari).count() == 2


def test_the_services_check_the_door_themselves(handler):
    request = confirmed_request()
    for outsider in (
        StaffFactory(),  # staff without rights
        CaseHandlerFactory(teams=["hse"]),  # another team
    ):
        with pytest.raises(PermissionDenied):
            fulfilment.collect_subject_data(case=request, actor=outsider)
        with pytest.raises(PermissionDenied):
            fulfilment.add_proven_identity(
                case=request, actor=outsider, kind="phone", value="+4791234567", how_proven="x"
            )
    assert not SubjectCollection.objects.exists() and not ProvenIdentity.objects.exists()


# --- Through the case page -----------------------------------------------------------------------


def test_staff_collect_and_add_an_identity_from_the_case_page(client, handler):
    request = confirmed_request()
    LeadFactory(email=KARI)
    client.force_login(handler)
    page = client.get(f"/en/staff/cases/{request.pk}/").content.decode()
    assert "Nothing has been collected yet." in page

    response = client.post(f"/en/staff/cases/{request.pk}/collection/", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "What is held on the requester was collected." in page
    assert "Leads" in page and "Collected by Pia Privacy" in page

    response = client.post(
        f"/en/staff/cases/{request.pk}/identities/",
        {
            "identity-kind": "phone",
            "identity-value": "+47 912 34 567",
            "identity-how_proven": "Called back on it",
        },
        follow=True,
    )
    assert "The identity was added" in response.content.decode()
    assert "+4791234567" in response.content.decode()


def test_a_refused_identity_comes_back_with_what_was_typed(client, handler):
    request = confirmed_request()
    client.force_login(handler)
    response = client.post(
        f"/en/staff/cases/{request.pk}/identities/",
        {
            "identity-kind": "email",
            "identity-value": "kari at home",
            "identity-how_proven": "Read back a code",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid e-mail address." in page
    assert 'value="kari at home"' in page and "Read back a code" in page


def test_the_panel_says_why_nothing_can_be_collected_yet(client, handler):
    unconfirmed, _code = submit_subject_request()
    client.force_login(handler)
    page = client.get(f"/en/staff/cases/{unconfirmed.pk}/").content.decode()
    assert "has not confirmed their address yet" in page
    assert f'action="/en/staff/cases/{unconfirmed.pk}/collection/"' not in page
    response = client.post(f"/en/staff/cases/{unconfirmed.pk}/collection/")
    assert response.status_code == 400
    assert not SubjectCollection.objects.exists()


@pytest.mark.parametrize("path", ["collection/", "identities/"])
def test_every_door_is_shut_to_staff_without_rights_another_team_and_strangers(client, handler, path):
    request = confirmed_request()
    posted = {"identity-kind": "phone", "identity-value": "+4791234567", "identity-how_proven": "x"}
    url = f"/en/staff/cases/{request.pk}/{path}"
    for outsider in (StaffFactory(), CaseHandlerFactory(teams=["hse"])):
        client.force_login(outsider)
        assert client.post(url, posted).status_code == 403
        assert client.get(url).status_code == 403
    client.logout()
    response = client.post(url, posted)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not SubjectCollection.objects.exists() and not ProvenIdentity.objects.exists()
    client.force_login(handler)
    assert client.get(url).status_code == 405
