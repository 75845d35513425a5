"""Public sign-ups with double opt-in (issue 12, point 7): the newsletter and an open application
to the recruitment database with a CV. Nothing is recorded until the e-mailed link's page is
confirmed by a POST; then the ledger has the give (channel web) and, for an application, the
register has the entry with the CV; the sign-up is gone, and unconfirmed ones go with retention."""

import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from cases.uploads import Upload, UploadKind
from consent import selectors, services
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentPurpose, Purpose, SignUp, SignUpKind
from registers.models import RecruitmentEntry
from retention import services as retention_services
from retention.defaults import ensure_default_rules
from retention.models import Trigger
from tests import images, office_files
from tests.conftest import need
from tests.factories import StaffFactory
from trustcenter.models import OutboxMessage
from trustcenter.ratelimit import ClientKey

pytestmark = pytest.mark.django_db

NEWSLETTER = "/en/join/newsletter/"
RECRUITMENT = "/en/join/recruitment/"
CONFIRM = "/en/join/confirm/"
SENT = "/en/join/sent/"
SKILLS = "Ten years of Django; a position in Oslo or Bergen, four days a week."


def purpose(slug: str) -> ConsentPurpose:
    return ConsentPurpose.objects.get(slug=slug)


def cv_file(data: bytes = images.PDF, name: str = "cv.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def application(**fields) -> dict:
    return {
        "full_name": "Kari Nordmann",
        "email": "Kari.Nordmann@Example.com",
        "phone": "+47 912 34 567",
        "skills": SKILLS,
        "cv": cv_file(),
        **fields,
    }


def link_sent_to(address: str) -> str:
    """The confirmation link of the last e-mail to the address: sent, or still in the outbox (a
    sent row keeps no body)."""
    sent = [str(message.body) for message in mail.outbox if address in message.to]
    body = sent[-1] if sent else OutboxMessage.objects.filter(recipient=address).latest("id").body
    return re.search(r"https?://\S+/join/confirm/\?t=\S+", body).group(0)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def confirm_page(client: Client, link: str):
    return client.get(urlsplit(link).path, {"t": token_of(link)})


def confirm(client: Client, link: str, version: int):
    """The POST of the confirmation page that showed wording `version`."""
    return client.post(urlsplit(link).path, {"token": token_of(link), "version": str(version)})


def current_number(slug: str) -> int:
    return selectors.current_version(purpose=purpose(slug)).number


def stored_files() -> list[str]:
    """Every upload file of sign-ups and registers in the storage."""
    return [*retention_services.stored_files(default_storage, "consent")] + [
        *retention_services.stored_files(default_storage, "registers")
    ]


def main_of(response) -> str:
    """The page's own content (the site's header and footer carry per-visit form tokens)."""
    return re.search(r"<main.*</main>", response.content.decode(), re.DOTALL).group(0)


# --- End to end ---------------------------------------------------------------------------------


def test_the_newsletter_is_recorded_only_once_the_link_is_confirmed(
    client, django_capture_on_commit_callbacks
):
    form = client.get(NEWSLETTER)
    assert form.status_code == 200
    assert "Send me the group&#x27;s newsletter by e-mail." in form.content.decode()

    response = client.post(NEWSLETTER, {"email": "Ola@Example.com"})
    assert response.status_code == 302 and response["Location"] == SENT
    pending = SignUp.objects.get()
    assert pending.kind == SignUpKind.NEWSLETTER and pending.email == "ola@example.com"
    assert pending.language == "en"
    assert pending.version == selectors.current_version(purpose=purpose(Purpose.NEWSLETTER))
    link = link_sent_to("ola@example.com")
    assert link.startswith("http") and "/en/join/confirm/?t=" in link
    # Only the token's digest is kept: the link's token is nowhere in the table.
    assert token_of(link) not in pending.token_digest
    assert len(pending.token_digest) == 64

    page = confirm_page(client, link)
    assert page.status_code == 200
    assert "Send me the group&#x27;s newsletter by e-mail." in page.content.decode()
    assert 'name="token"' in page.content.decode()
    confirm_page(client, link)  # a mail scanner's second look spends nothing either
    assert ConsentEvent.objects.count() == 0 and SignUp.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        done = confirm(client, link, current_number(Purpose.NEWSLETTER))
    assert done.status_code == 200
    assert "You are subscribed to the newsletter" in done.content.decode()
    event = ConsentEvent.objects.get()
    assert (event.action, event.channel) == (ConsentAction.GIVE, Channel.WEB)
    assert event.subject.email == "ola@example.com"
    assert event.version == pending.version
    assert selectors.current_consent(email="ola@example.com", purpose=Purpose.NEWSLETTER).standing
    assert not SignUp.objects.exists()
    assert RecruitmentEntry.objects.count() == 0


def test_an_open_application_makes_the_register_entry_only_once_confirmed(
    client, django_capture_on_commit_callbacks
):
    form = client.get(RECRUITMENT)
    page = form.content.decode()
    assert "Keep my open application and CV for 360 days" in page
    assert "We keep your application for 360 days" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RECRUITMENT, application())
    assert response.status_code == 302 and response["Location"] == SENT
    pending = SignUp.objects.get()
    assert (pending.full_name, pending.phone, pending.skills) == ("Kari Nordmann", "+47 912 34 567", SKILLS)
    assert pending.cv.name.startswith("consent/sign-ups/") and pending.cv.name.endswith(".pdf")
    assert "Kari" not in pending.cv.name
    sign_up_file = pending.cv.name
    assert default_storage.open(sign_up_file).read() == images.PDF
    # Nothing in the register or the ledger before the confirmation, however often the page is seen.
    link = link_sent_to("kari.nordmann@example.com")
    for _look in range(2):
        assert confirm_page(client, link).status_code == 200
    assert RecruitmentEntry.objects.count() == 0 and ConsentEvent.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        done = confirm(client, link, current_number(Purpose.RECRUITMENT_DATABASE))
    assert done.status_code == 200
    assert "Your application is in our recruitment database" in done.content.decode()
    entry = RecruitmentEntry.objects.get()
    assert (entry.full_name, entry.email, entry.phone, entry.skills) == (
        "Kari Nordmann",
        "kari.nordmann@example.com",
        "+47 912 34 567",
        SKILLS,
    )
    assert entry.legal_entity is None
    assert entry.cv.name.startswith("registers/recruitmententry/") and entry.cv.name.endswith(".pdf")
    assert entry.cv.name.rsplit("/", 1)[-1] != sign_up_file.rsplit("/", 1)[-1]  # a new random name
    with entry.cv.open("rb") as stored:
        assert stored.read() == images.PDF
    assert not default_storage.exists(sign_up_file)  # moved, not copied
    event = ConsentEvent.objects.get()
    assert (event.purpose.slug, event.action, event.channel) == (
        Purpose.RECRUITMENT_DATABASE,
        ConsentAction.GIVE,
        Channel.WEB,
    )
    assert entry.created_at == event.occurred_at  # the register's clock runs from the consent
    assert selectors.current_consent(email=entry.email, purpose=Purpose.RECRUITMENT_DATABASE).standing
    assert not SignUp.objects.exists()


def test_the_confirmation_mail_goes_out_through_the_outbox_in_the_page_language(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/nb/join/newsletter/", {"email": "kari@example.com"})
    [sent] = mailoutbox
    assert sent.to == ["kari@example.com"]
    assert re.search(r"https?://\S+/nb/join/confirm/\?t=\S+", sent.body)
    assert SignUp.objects.get().language == "nb"


# --- Links that confirm nothing -----------------------------------------------------------------


def test_a_link_confirms_once(client):
    client.post(NEWSLETTER, {"email": "ola@example.com"})
    link = link_sent_to("ola@example.com")
    version = current_number(Purpose.NEWSLETTER)
    assert confirm(client, link, version).status_code == 200
    again = confirm(client, link, version)
    assert again.status_code == 404
    assert "This link has already been used" in again.content.decode()
    assert confirm_page(client, link).status_code == 404
    assert ConsentEvent.objects.count() == 1


def test_two_confirmations_at_once_record_one_consent(transactional_db):
    """Both POSTs of one link at the same moment (a double click, two tabs): the row lock lets one
    through; the other finds the sign-up gone."""
    need(connection.vendor == "postgresql", "PostgreSQL")
    from consent.defaults import ensure_default_purposes

    ensure_default_purposes()
    services.sign_up(kind=SignUpKind.NEWSLETTER, email="ola@example.com", language="en", client_key="test")
    link = link_sent_to("ola@example.com")
    version = current_number(Purpose.NEWSLETTER)
    barrier, outcomes = threading.Barrier(2), []

    def confirm_in_a_thread():
        try:
            barrier.wait()
            services.confirm_sign_up(token=token_of(link), version=version)
            outcomes.append("confirmed")
        except services.SignUpLinkRefused as refusal:
            outcomes.append(refusal.problem)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm_in_a_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["confirmed", "used"]
    assert ConsentEvent.objects.count() == 1
    assert not SignUp.objects.exists()


def test_an_expired_link_is_refused_and_records_nothing(client, settings):
    client.post(RECRUITMENT, application())
    link = link_sent_to("kari.nordmann@example.com")
    version = current_number(Purpose.RECRUITMENT_DATABASE)
    later = timezone.now() + timedelta(hours=settings.TRUSTCENTER_SIGN_UP_HOURS, minutes=1)
    with time_machine.travel(later, tick=False):
        page = confirm_page(client, link)
        posted = confirm(client, link, version)
    assert page.status_code == 410 and posted.status_code == 410
    assert "This link has expired" in posted.content.decode()
    assert ConsentEvent.objects.count() == 0 and RecruitmentEntry.objects.count() == 0
    assert SignUp.objects.count() == 1  # left to retention ("consent.pending")


def test_a_sign_up_older_than_the_setting_is_expired_even_if_the_setting_was_lowered(client, settings):
    client.post(NEWSLETTER, {"email": "ola@example.com"})
    link = link_sent_to("ola@example.com")
    SignUp.objects.update(created_at=timezone.now() - timedelta(hours=2))
    settings.TRUSTCENTER_SIGN_UP_HOURS = 1
    response = confirm(client, link, current_number(Purpose.NEWSLETTER))
    assert response.status_code == 410
    assert ConsentEvent.objects.count() == 0


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "x" * 5000,
        "ünïcødé:☃:🙂",
        signing.dumps("a token", salt="another.salt"),
        signing.dumps(["a", "list"], salt=services.SIGN_UP_LINK_SALT),
    ],
    ids=["empty", "garbage", "very long", "unicode", "another salt", "not a string"],
)
def test_a_forged_link_gets_a_clear_page_and_records_nothing(client, token):
    client.post(NEWSLETTER, {"email": "ola@example.com"})
    for response in (
        client.get(CONFIRM, {"t": token}),
        client.post(CONFIRM, {"token": token, "version": "1"}),
    ):
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    assert ConsentEvent.objects.count() == 0 and SignUp.objects.count() == 1


def test_a_tampered_link_is_forged(client):
    client.post(NEWSLETTER, {"email": "ola@example.com"})
    token = token_of(link_sent_to("ola@example.com"))
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = client.post(CONFIRM, {"token": tampered, "version": "1"})
    assert response.status_code == 404 and "This link does not work" in response.content.decode()
    assert ConsentEvent.objects.count() == 0


def test_a_signed_token_of_no_sign_up_is_refused_as_used(client):
    token = signing.dumps("made-up", salt=services.SIGN_UP_LINK_SALT)
    response = client.post(CONFIRM, {"token": token, "version": "1"})
    assert response.status_code == 404 and "This link has already been used" in response.content.decode()


# --- What was typed, and hostile input ----------------------------------------------------------


def refused_and_kept(response, *, expected: str) -> str:
    page = response.content.decode()
    assert response.status_code == 400, page
    assert expected in page, page
    assert "Kari Nordmann" in page and "Ten years of Django" in page and "+47 912 34 567" in page
    assert not SignUp.objects.exists()
    assert OutboxMessage.objects.count() == 0
    assert stored_files() == []
    return page


def test_a_cv_too_large_is_refused_unstored_and_the_text_kept(client, settings):
    settings.TRUSTCENTER_MAX_FILE_BYTES = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # through the bounded disk handler, as a big file goes
    big = cv_file(b"%PDF-1.4\n" + b"a" * 5000)
    refused_and_kept(client.post(RECRUITMENT, application(cv=big)), expected="cv.pdf is too large")


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (images.WINDOWS_PROGRAM, "cv.pdf", "cv.pdf: This kind of file is not accepted."),
        (images.zip_with_program(), "cv.docx", "cv.docx: This kind of file is not accepted."),
        (b"", "cv.pdf", "cv.pdf: This file is empty."),
        (images.plain_png(), "cv.pdf", "Accepted: PDF, Word (DOCX), OpenDocument text (ODT)."),
        (office_files.xlsx(), "cv.docx", "Accepted: PDF, Word (DOCX), OpenDocument text (ODT)."),
        (office_files.docx_with_forged_size(), "cv.docx", "cv.docx: "),
        (office_files.docx_with_nested_bomb(), "cv.docx", "cv.docx: "),
    ],
    ids=[
        "a program named .pdf",
        "a zip of a program",
        "empty",
        "a picture",
        "a workbook",
        "a docx bomb",
        "a nested bomb",
    ],
)
def test_hostile_and_wrong_cvs_are_refused_and_the_text_kept(client, data, name, expected):
    refused_and_kept(client.post(RECRUITMENT, application(cv=cv_file(data, name))), expected=expected)


def test_a_docx_of_2_gib_of_zeros_is_refused(client, docx_bomb):
    refused_and_kept(
        client.post(RECRUITMENT, application(cv=cv_file(docx_bomb, "cv.docx"))), expected="cv.docx: "
    )


@pytest.fixture(scope="module")
def docx_bomb() -> bytes:
    return office_files.docx_bomb()


@pytest.mark.parametrize(("build", "name"), [(office_files.docx, "cv.docx"), (office_files.odt, "cv.odt")])
def test_word_and_opendocument_cvs_are_taken(client, build, name):
    assert client.post(RECRUITMENT, application(cv=cv_file(build(), name))).status_code == 302
    assert SignUp.objects.get().cv.name.endswith(name.rsplit(".", 1)[-1])


def test_a_refused_form_asks_for_the_file_again_by_name(client):
    response = client.post(RECRUITMENT, application(full_name=""))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Files are not kept when a form is refused. Choose them again: cv.pdf." in page
    assert "Ten years of Django" in page and "kari.nordmann@example.com".lower() in page.lower()
    assert not SignUp.objects.exists()


def test_an_expired_form_token_gives_the_form_back_filled_in():
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(RECRUITMENT, application())
    page = response.content.decode()
    assert response.status_code == 403
    assert "Your sign-up was not sent because the page had been open too long." in page
    assert "Kari Nordmann" in page and "Ten years of Django" in page
    assert not SignUp.objects.exists()
    newsletter = strict.post(NEWSLETTER, {"email": "ola@example.com"})
    assert newsletter.status_code == 403 and "ola@example.com" in newsletter.content.decode()


def test_a_missing_cv_is_asked_for(client):
    data = application()
    del data["cv"]
    assert "Please choose your CV." in client.post(RECRUITMENT, data).content.decode()
    assert not SignUp.objects.exists()


def test_a_name_of_10_kb_is_refused_and_given_back(client):
    name = "Kari " + "N" * 10_240
    response = client.post(RECRUITMENT, application(full_name=name))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters" in page
    assert name in page  # given back to be shortened, not cut
    assert not SignUp.objects.exists()


@pytest.mark.parametrize("address", ["not an address", "a@b", "x" * 250 + "@example.com"])
def test_a_bad_address_is_refused(client, address):
    response = client.post(NEWSLETTER, {"email": address})
    assert response.status_code == 400
    assert not SignUp.objects.exists() and OutboxMessage.objects.count() == 0


def test_the_honeypot_refuses_robots(client):
    response = client.post(NEWSLETTER, {"email": "ola@example.com", "website": "http://spam.example"})
    assert response.status_code == 400
    assert not SignUp.objects.exists()


def test_the_service_trusts_no_callers_kind_of_file():
    lying = Upload(name="cv.pdf", data=images.WINDOWS_PROGRAM, kind=UploadKind("application/pdf", "pdf"))
    with pytest.raises(ValidationError) as raised:
        services.sign_up(
            kind=SignUpKind.RECRUITMENT,
            email="kari@example.com",
            language="en",
            client_key="test",
            full_name="Kari",
            skills="Django",
            cv=lying,
        )
    assert "cv" in raised.value.message_dict
    assert not SignUp.objects.exists() and stored_files() == []


# --- No enumeration, and limits -----------------------------------------------------------------


def test_the_answer_is_the_same_for_an_address_already_subscribed(client):
    services.record_consent(
        email="known@example.com", purpose=purpose(Purpose.NEWSLETTER), action="give", channel=Channel.WEB
    )
    known = client.post(NEWSLETTER, {"email": "known@example.com"})
    unknown = Client().post(NEWSLETTER, {"email": "unknown@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == (302, SENT)
    assert main_of(client.get(known["Location"])) == main_of(Client().get(unknown["Location"]))
    # Both are treated alike: each gets a link (confirming again renews the known consent).
    assert OutboxMessage.objects.filter(recipient="known@example.com").count() == 1
    assert OutboxMessage.objects.filter(recipient="unknown@example.com").count() == 1


def test_an_address_gets_few_links_an_hour_whoever_asks_and_the_answer_does_not_change():
    for visitor in range(services.SIGN_UP_LINKS_PER_ADDRESS + 2):
        response = Client(REMOTE_ADDR=f"192.0.2.{visitor + 1}").post(NEWSLETTER, {"email": "ola@example.com"})
        assert (response.status_code, response["Location"]) == (302, SENT)
    assert (
        OutboxMessage.objects.filter(recipient="ola@example.com").count()
        == services.SIGN_UP_LINKS_PER_ADDRESS
    )
    assert SignUp.objects.count() == services.SIGN_UP_LINKS_PER_ADDRESS


def test_a_connection_past_its_limit_is_refused_with_everything_it_typed(client, settings):
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 2
    for number in range(2):
        assert client.post(NEWSLETTER, {"email": f"person{number}@example.com"}).status_code == 302
    response = client.post(RECRUITMENT, application())
    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many sign-ups have been sent from your connection" in page
    assert "Kari Nordmann" in page and "Ten years of Django" in page
    assert SignUp.objects.count() == 2
    # Another connection is not held back.
    assert Client(REMOTE_ADDR="192.0.2.99").post(NEWSLETTER, {"email": "c@example.com"}).status_code == 302


def test_refused_forms_count_against_the_connection(client, settings):
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 2
    for _attempt in range(2):
        assert client.post(NEWSLETTER, {"email": "nonsense"}).status_code == 400
    assert client.post(NEWSLETTER, {"email": "ola@example.com"}).status_code == 429


# --- Everyone meets the same doors ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["a stranger", "staff without rights"])
def test_no_one_confirms_without_the_link(client, who):
    if who == "staff without rights":
        client.force_login(StaffFactory())
    client.post(NEWSLETTER, {"email": "ola@example.com"})
    for response in (client.get(CONFIRM), client.post(CONFIRM, {"version": "1"})):
        assert response.status_code == 404
    assert ConsentEvent.objects.count() == 0 and SignUp.objects.count() == 1


def test_the_home_page_links_to_both_sign_ups(client):
    page = client.get("/en/").content.decode()
    assert f'href="{NEWSLETTER}"' in page and f'href="{RECRUITMENT}"' in page


# --- The wording: the language rule and new versions --------------------------------------------


def test_a_purpose_is_never_offered_in_a_language_its_current_version_lacks(client):
    services.publish_version(
        purpose=purpose(Purpose.NEWSLETTER), wordings={"en": ("Newsletter", "Version two, in English only.")}
    )
    for response in (
        client.get("/nb/join/newsletter/"),
        client.post("/nb/join/newsletter/", {"email": "o@example.com"}),
    ):
        page = response.content.decode()
        assert response.status_code == 404
        assert 'href="/en/join/newsletter/"' in page  # where it is offered
        assert "Nyhetsbrev" not in page and "Version two" not in page  # no wording in another language
    assert not SignUp.objects.exists()
    assert "Version two, in English only." in client.get(NEWSLETTER).content.decode()
    # The recruitment database is still offered in Norwegian.
    assert client.get("/nb/join/recruitment/").status_code == 200


def test_a_sign_up_whose_language_the_new_version_lacks_confirms_nothing(client):
    client.post("/sv/join/newsletter/", {"email": "olle@example.com"})
    link = link_sent_to("olle@example.com")
    services.publish_version(
        purpose=purpose(Purpose.NEWSLETTER), wordings={"en": ("Newsletter", "Version two, in English only.")}
    )
    response = client.post(urlsplit(link).path, {"token": token_of(link), "version": "2"})
    assert response.status_code == 404
    assert ConsentEvent.objects.count() == 0


def test_a_new_version_published_meanwhile_is_shown_and_confirmed_instead(client):
    client.post(NEWSLETTER, {"email": "ola@example.com"})
    link = link_sent_to("ola@example.com")
    first = selectors.current_version(purpose=purpose(Purpose.NEWSLETTER))
    new_text = {
        language: ("Newsletter", f"Version two ({language}).") for language in ("en", "nb", "sv", "da")
    }
    second = services.publish_version(purpose=purpose(Purpose.NEWSLETTER), wordings=new_text)

    shown = confirm_page(client, link).content.decode()
    assert "Version two (en)." in shown and 'id="wording-newer"' in shown
    assert f'name="version" value="{second.number}"' in shown

    # A POST from a page that showed the first version records nothing and shows the new one.
    stale = confirm(client, link, first.number)
    assert stale.status_code == 409
    assert 'id="wording-changed"' in stale.content.decode() and "Version two (en)." in stale.content.decode()
    assert ConsentEvent.objects.count() == 0 and SignUp.objects.count() == 1

    assert confirm(client, link, second.number).status_code == 200
    assert ConsentEvent.objects.get().version == second


# --- Retention --------------------------------------------------------------------------------


def test_retention_deletes_a_stale_sign_up_and_its_cv(django_capture_on_commit_callbacks):
    ensure_default_rules()
    key = ClientKey.from_address("192.0.2.1")
    cv = Upload(name="cv.pdf", data=images.PDF, kind=UploadKind("application/pdf", "pdf"))
    fields = {"kind": SignUpKind.RECRUITMENT, "language": "en", "client_key": key, "full_name": "Kari"}
    stale = services.sign_up(email="stale@example.com", skills="Old", cv=cv, **fields)
    fresh = services.sign_up(email="fresh@example.com", skills="New", cv=cv, **fields)
    assert stale is not None and fresh is not None
    SignUp.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=8))
    assert default_storage.exists(stale.cv.name)

    with django_capture_on_commit_callbacks(execute=True):
        run = retention_services.run_purge(trigger=Trigger.SCHEDULE, pause_seconds=0)
    assert not SignUp.objects.filter(pk=stale.pk).exists()
    assert not default_storage.exists(stale.cv.name)
    assert SignUp.objects.filter(pk=fresh.pk).exists() and default_storage.exists(fresh.cv.name)
    assert run.steps.filter(category="consent.pending", register="consent.SignUp").get().deleted == 1
