"""Consent receipts (issue 12, point 4): each event of the ledger as a Kantara Consent Receipt (v1.1
fields where they apply), as JSON and as a readable page in the page's language, only to the
person whose event it is, with the wording that event agreed to and its place in the hash chain."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils.html import escape

from consent import chain, receipts, selectors, services
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentSeal, ConsentSubject, Purpose
from tests.consent.test_self_service import KNOWN, UNKNOWN, open_page, purpose, record, visitor

pytestmark = pytest.mark.django_db

GIVE, WITHDRAW = ConsentAction.GIVE, ConsentAction.WITHDRAW


def receipt_json(client: Client, event: ConsentEvent, language: str = "en") -> dict:
    response = client.get(f"/{language}/consent/receipts/{event.pk}/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="consent-receipt-{event.pk}.json"'
    return json.loads(response.content)


def test_the_json_receipt_tells_the_event(settings):
    settings.TRUSTCENTER_CONTROLLER_PHONE = "+47 22 00 00 00"
    event = record(KNOWN, GIVE, Purpose.NEWSLETTER, channel=Channel.WEB)
    client = open_page(visitor(), KNOWN)
    assert not ConsentSeal.objects.filter(event=event).exists()  # appended, not yet in the chain
    response = client.get(f"/en/consent/receipts/{event.pk}/json")
    assert KNOWN.encode() not in response.content  # the person is named by the ledger's identifier
    receipt = receipt_json(client, event)
    seal = ConsentSeal.objects.get(event=event)  # the receipt sealed it, to show its digest
    subject = ConsentSubject.objects.get(email=KNOWN)
    wording = event.version.wordings.get(language="en")

    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["jurisdiction"] == "NO"
    assert receipt["consentTimestamp"] == int(event.occurred_at.timestamp())
    assert receipt["collectionMethod"] == "Given or withdrawn by the person on a web page of the controller."
    assert uuid.UUID(receipt["consentReceiptID"]) == uuid.uuid5(receipts.RECEIPT_NAMESPACE, seal.digest)
    assert "publicKey" not in receipt
    assert receipt["language"] == "en"
    assert receipt["piiPrincipalId"] == str(subject.id)
    assert receipt["piiControllers"] == [
        {
            "piiController": settings.TRUSTCENTER_CONTROLLER_NAME,
            "onBehalf": False,
            "contact": "Privacy contact",
            "address": {
                "streetAddress": settings.TRUSTCENTER_POSTAL_ADDRESS,
                "addressCountry": settings.TRUSTCENTER_CONTROLLER_COUNTRY,
            },
            "email": settings.TRUSTCENTER_PRIVACY_EMAIL,
            "phone": "+47 22 00 00 00",
            "piiControllerUrl": f"{settings.TRUSTCENTER_SITE_URL}/en/",
        }
    ]
    assert receipt["policyUrl"] == f"{settings.TRUSTCENTER_SITE_URL}/en/privacy/"
    assert receipt["services"] == [
        {
            "service": "Newsletter",
            "purposes": [
                {
                    "purpose": wording.title,
                    "purposeCategory": ["Marketing"],
                    "consentType": "EXPLICIT",
                    "piiCategory": ["Contact"],
                    "primaryPurpose": True,
                    "termination": (
                        f"Valid until withdrawn. Withdraw at any time on {settings.TRUSTCENTER_SITE_URL}"
                        f"/en/consent/ or by writing to {settings.TRUSTCENTER_PRIVACY_EMAIL}."
                    ),
                    "thirdPartyDisclosure": False,
                }
            ],
        }
    ]
    assert (receipt["sensitive"], receipt["spiCat"]) == (False, [])
    assert (receipt["action"], receipt["channel"]) == ("give", "web")
    assert receipt["wording"] == {
        "version": event.version.number,
        "language": "en",
        "title": wording.title,
        "text": wording.text,
    }
    ledger = receipt["ledgerEvent"]
    assert (ledger["id"], ledger["digest"], ledger["previousDigest"]) == (
        event.pk,
        seal.digest,
        seal.previous_digest,
    )
    assert datetime.fromisoformat(ledger["occurredAt"]) == event.occurred_at


def test_a_receipt_can_be_checked_against_the_chain():
    record(UNKNOWN, GIVE)
    event = record(KNOWN, WITHDRAW, Purpose.MARKETING_EMAIL, channel=Channel.API)
    receipt = receipt_json(open_page(visitor(), KNOWN), event)
    ledger = receipt["ledgerEvent"]
    assert (
        chain.event_digest(previous=ledger["previousDigest"], fields=ledger["digestCovers"])
        == ledger["digest"]
    )
    assert ledger["digestCovers"]["subject"] == receipt["piiPrincipalId"]
    assert ConsentSeal.objects.get(digest=ledger["digest"]).event_id == event.pk
    assert (receipt["action"], receipt["channel"]) == ("withdraw", "api")
    assert (
        receipt["collectionMethod"] == "Recorded through the consent API by one of the controller's systems."
    )


def test_the_receipt_page_is_readable_in_the_pages_language():
    event = record(KNOWN, GIVE, Purpose.NEWSLETTER)
    client = open_page(visitor(), KNOWN, language="nb")
    page = client.get(f"/nb/consent/receipts/{event.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<html lang="nb">' in text
    norwegian = event.version.wordings.get(language="nb")
    assert '<div lang="nb"' in text and escape(norwegian.text) in text
    assert ConsentSeal.objects.get(event=event).digest in text and str(event.subject_id) in text
    assert f'href="/nb/consent/receipts/{event.pk}/json"' in text
    assert receipt_json(client, event, "nb")["language"] == "nb"
    english = client.get(f"/en/consent/receipts/{event.pk}/").content.decode()
    assert escape(event.version.wordings.get(language="en").text) in english


def test_a_version_without_the_pages_language_shows_the_wording_it_has():
    services.publish_version(
        purpose=purpose(Purpose.NEWSLETTER), wordings={"en": ("Newsletter", "English only.")}
    )
    event = record(KNOWN, GIVE)
    receipt = receipt_json(open_page(visitor(), KNOWN, language="sv"), event, "sv")
    assert (receipt["language"], receipt["wording"]["text"]) == ("en", "English only.")


def test_the_receipt_shows_the_wording_agreed_to_not_the_current_one():
    marketing = purpose(Purpose.MARKETING_EMAIL)
    first = record(KNOWN, GIVE, Purpose.MARKETING_EMAIL)
    agreed = first.version.wordings.get(language="en").text
    services.publish_version(purpose=marketing, wordings={"en": ("Marketing e-mail", "A newer text.")})
    client = open_page(visitor(), KNOWN)
    receipt = receipt_json(client, first)
    assert (receipt["wording"]["version"], receipt["wording"]["text"]) == (1, agreed)
    page = client.get(f"/en/consent/receipts/{first.pk}/").content.decode()
    assert escape(agreed) in page and "A newer text." not in page
    renewed = record(KNOWN, GIVE, Purpose.MARKETING_EMAIL)
    assert receipt_json(client, renewed)["wording"] == {
        "version": 2,
        "language": "en",
        "title": "Marketing e-mail",
        "text": "A newer text.",
    }


def test_another_persons_receipt_is_not_found():
    theirs = record(UNKNOWN, GIVE)
    mine = record(KNOWN, GIVE)
    services.seal_ledger()
    client = open_page(visitor(), KNOWN)
    for url in (f"/en/consent/receipts/{theirs.pk}/", f"/en/consent/receipts/{theirs.pk}/json"):
        response = client.get(url)
        assert response.status_code == 404
        assert ConsentSeal.objects.get(event=theirs).digest.encode() not in response.content
    assert client.get(f"/en/consent/receipts/{mine.pk + 1000}/").status_code == 404
    assert client.get(f"/en/consent/receipts/{mine.pk}/").status_code == 200


def test_a_receipt_without_a_self_service_session_leads_to_the_form():
    event = record(KNOWN, GIVE)
    for url in (f"/en/consent/receipts/{event.pk}/", f"/en/consent/receipts/{event.pk}/json"):
        response = visitor().get(url)
        assert (response.status_code, response["Location"]) == (302, "/en/consent/")


def test_an_erased_subject_has_no_receipts_on_the_page():
    event = record(KNOWN, GIVE)
    client = open_page(visitor(), KNOWN)
    services.erase_subject(subject=event.subject)
    assert client.get(f"/en/consent/receipts/{event.pk}/").status_code == 404
    assert list(selectors.self_service_history(email=KNOWN)) == []


def test_the_receipt_is_a_pure_function_of_its_facts():
    event = receipts.ReceiptEvent(
        event_id=7,
        subject_id="4c5d8f0e-0000-4000-8000-000000000001",
        purpose="recruitment_database",
        service="Recruitment database",
        action="give",
        channel="staff",
        occurred_at=datetime(2026, 12, 6, 10, 30, 15, 123456, tzinfo=UTC),
        digest="ab" * 32,
        previous_digest="0" * 64,
        chain_fields={"subject": "4c5d8f0e-0000-4000-8000-000000000001"},
        wording=receipts.Wording(version=3, language="sv", title="Rekrytering", text="Spara min ansökan."),
    )
    controller = receipts.Controller(
        name="Example AS",
        contact="Privacy",
        street_address="Gata 1",
        country="SE",
        email="p@example.se",
        phone="",
        url="https://x/",
    )
    made = [
        receipts.consent_receipt(
            event=event,
            controller=controller,
            jurisdiction="SE",
            policy_url="https://x/sv/privacy/",
            collection_method="Staff.",
            termination="Until withdrawn.",
        )
        for _ in range(2)
    ]
    assert made[0] == made[1]
    assert made[0]["consentTimestamp"] == 1796553015  # 2026-12-06T10:30:15Z
    assert made[0]["language"] == "sv"
    assert made[0]["services"][0]["purposes"][0]["piiCategory"] == ["Biographical", "Contact", "HR"]
    assert made[0]["consentReceiptID"] == receipts.receipt_id(digest="ab" * 32)
    json.dumps(made[0])  # JSON-ready as it is
