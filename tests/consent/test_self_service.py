"""Consent self-service (issue 12, point 6, and point 1's fresh consent): the form that mails a
single-use signed link and answers the same whether or not the address is known; the link's page,
which a GET never spends; the person's page, which gives and withdraws with one button each under
the wording it showed; and every door as a stranger, as staff, and as the right person."""

import hashlib
import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail, signing
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone
from django.utils.html import escape

from consent import selectors, services, views
from consent.defaults import ensure_default_purposes
from consent.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
    ConsentSubject,
    Purpose,
    SelfServiceLink,
)
from tests.conftest import need
from tests.factories import StaffFactory
from trustcenter.models import OutboxMessage

pytestmark = pytest.mark.django_db

GIVE, WITHDRAW = ConsentAction.GIVE, ConsentAction.WITHDRAW
KNOWN = "kari.nordmann@example.no"
UNKNOWN = "ola.nordmann@example.no"
CSRF_VALUE = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def purpose(slug: str) -> ConsentPurpose:
    ensure_default_purposes()  # a transactional test before this one may have emptied the database
    return ConsentPurpose.objects.get(slug=slug)


def record(email: str, action: str, slug: str = Purpose.NEWSLETTER, **kwargs) -> ConsentEvent:
    kwargs.setdefault("channel", Channel.STAFF)
    return services.record_consent(email=email, purpose=purpose(slug), action=action, **kwargs)


def visitor(number: int = 1) -> Client:
    return Client(REMOTE_ADDR=f"192.0.2.{number}")


def mailed_token(email: str) -> str:
    """The token of the latest link mailed to `email`, as the person reads it: in the outbox, or
    in the mail sent (the outbox blanks a body once sent, at once where a test commits)."""
    body = OutboxMessage.objects.filter(recipient=email).latest("pk").body or next(
        str(message.body) for message in reversed(mail.outbox) if message.to == [email]
    )
    link = re.search(r"https?://\S+", body)
    assert link is not None, body
    return parse_qs(urlsplit(link.group()).query)["t"][0]


def new_link(email: str, language: str = "en") -> str:
    services.send_self_service_link(email=email, language=language)
    return mailed_token(email)


def link_url(token: str, language: str = "en") -> str:
    return f"/{language}/consent/link/?t={token}"


def open_page(client: Client, email: str, language: str = "en"):
    """Asks for a link, opens it and presses its button: the client's self-service session."""
    token = new_link(email, language)
    response = client.post(f"/{language}/consent/link/", {"token": token})
    assert response.status_code == 302 and response["Location"] == f"/{language}/consent/mine/"
    return client


def answer(client: Client, slug: str, action: str, *, version: int | None = None, language: str = "en"):
    if version is None:
        version = selectors.current_version(purpose=purpose(slug)).number
    return client.post(
        f"/{language}/consent/mine/answer/", {"purpose": slug, "action": action, "version": version}
    )


# --- The request form ---------------------------------------------------------------------------


def ask(client: Client, email: str, language: str = "en"):
    client.get(f"/{language}/consent/")
    return client.post(f"/{language}/consent/", {"email": email})


def statements(queries) -> list[str]:
    """The SQL of each query with its values taken out: what was done, not to whom."""
    return [re.sub(r"'(?:[^']|'')*'|\b\d+\b|\"s\d+_x\d+\"", "?", query["sql"]) for query in queries]


def test_the_form_answers_a_known_and_an_unknown_address_alike():
    record(KNOWN, GIVE)
    ask(visitor(3), "first.visitor@example.no")  # caches (content types) warmed for both alike
    subjects = ConsentSubject.objects.count()
    answers, work = {}, {}
    for number, email in enumerate((KNOWN, UNKNOWN), start=1):
        client = visitor(number)
        client.get("/en/consent/")
        with CaptureQueriesContext(connection) as queries:
            answers[email] = client.post("/en/consent/", {"email": email})
        work[email] = statements(queries)
    known, unknown = answers[KNOWN], answers[UNKNOWN]
    assert known.status_code == unknown.status_code == 200
    assert CSRF_VALUE.sub(b"", known.content) == CSRF_VALUE.sub(b"", unknown.content)
    assert b"We have sent a link" in known.content
    assert KNOWN.encode() not in known.content
    # The same work, in the same order: a link row and a mail each, and no look into the ledger.
    assert work[KNOWN] == work[UNKNOWN]
    assert not any("consent_consentsubject" in statement for statement in work[KNOWN])
    for email in (KNOWN, UNKNOWN):
        assert SelfServiceLink.objects.filter(email=email).count() == 1
        assert OutboxMessage.objects.filter(recipient=email).count() == 1
    assert ConsentSubject.objects.count() == subjects  # asking makes no subject


def test_the_mail_holds_the_link_and_its_expiry_in_the_persons_language():
    ask(visitor(), " Kari.Nordmann@Example.NO ", language="nb")
    link = SelfServiceLink.objects.get()
    message = OutboxMessage.objects.get()
    assert (link.email, link.language, message.recipient) == (KNOWN, "nb", KNOWN)
    assert link.expires_at - link.created_at == timedelta(hours=1)
    urls = re.findall(r"https?://\S+", message.body)
    assert len(urls) == 1 and urlsplit(urls[0]).path == "/nb/consent/link/"
    assert "Europe/Oslo" in message.body
    assert KNOWN not in message.body


def test_only_the_digest_of_the_token_is_kept_and_the_link_is_signed():
    token = new_link(KNOWN)
    raw = signing.TimestampSigner(salt=services.SELF_SERVICE_LINK_SALT).unsign(token)
    link = SelfServiceLink.objects.get()
    assert link.token_digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(list(SelfServiceLink.objects.values_list()))
    # The same random token signed under another salt (a sign-up link's, say) opens nothing.
    forged = signing.TimestampSigner(salt="consent.sign-up.link").sign(raw)
    assert services.self_service_link_state(token=forged) is services.LinkState.BROKEN


def test_the_hostile_address_gets_a_form_error_and_keeps_what_was_typed():
    client = visitor()
    for typed in (
        "k" * 10_000 + "@example.no",
        "kari\x07@example.no",
        "kari@example.no\r\nBcc: x@example.org",
    ):
        response = ask(client, typed)
        assert response.status_code == 400, typed
        assert b'class="invalid-feedback"' in response.content
        kept = re.search(rb'name="email" value="([^"]*)"', response.content)
        assert kept is not None and kept.group(1).decode() == typed.strip(), typed
    response = ask(client, "kari\x00@example.no")
    assert response.status_code == 400 and b"Null characters are not allowed" in response.content
    assert not SelfServiceLink.objects.exists() and not OutboxMessage.objects.exists()


def test_an_expired_form_token_gives_the_form_back_with_the_address():
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.1")
    response = client.post("/en/consent/", {"email": KNOWN})
    assert response.status_code == 403
    assert b"The page had been open too long" in response.content
    assert f'value="{KNOWN}"'.encode() in response.content
    assert not SelfServiceLink.objects.exists()


def test_an_address_is_sent_a_few_links_an_hour_whoever_asks_and_the_answer_says_nothing():
    for number in range(1, services.LINK_REQUESTS_PER_ADDRESS + 3):
        response = ask(visitor(number), KNOWN)
        assert response.status_code == 200 and b"We have sent a link" in response.content
    assert SelfServiceLink.objects.count() == services.LINK_REQUESTS_PER_ADDRESS
    assert OutboxMessage.objects.count() == services.LINK_REQUESTS_PER_ADDRESS


def test_a_connection_asking_for_too_many_links_is_refused_and_keeps_what_was_typed():
    client = visitor()
    for number in range(services.LINK_REQUESTS_PER_CLIENT):
        assert ask(client, f"person{number}@example.no").status_code == 200
    response = ask(client, "one.more@example.no")
    assert response.status_code == 429
    assert b"Please try again in" in response.content
    assert b'value="one.more@example.no"' in response.content
    assert not SelfServiceLink.objects.filter(email="one.more@example.no").exists()


def test_send_self_service_link_for_other_callers_mails_in_the_language_asked():
    services.send_self_service_link(email=UNKNOWN, language="sv")
    services.send_self_service_link(email=KNOWN, language="klingon")
    assert dict(SelfServiceLink.objects.values_list("email", "language")) == {UNKNOWN: "sv", KNOWN: "en"}
    assert "/sv/consent/link/" in OutboxMessage.objects.get(recipient=UNKNOWN).body
    assert not ConsentSubject.objects.exists()


# --- The link -----------------------------------------------------------------------------------


def test_a_get_of_the_link_spends_nothing():
    token = new_link(KNOWN)
    scanner = visitor(9)
    for _ in range(3):  # a mail scanner, the person's preview, the person
        response = scanner.get(link_url(token))
        assert response.status_code == 200
        assert b"Open my consents" in response.content
        assert f'name="token" value="{token}"'.encode() in response.content
    assert SelfServiceLink.objects.get().spent_at is None
    assert views.SESSION_KEY not in scanner.session
    assert scanner.get("/en/consent/mine/").status_code == 302
    # The link still works for the person.
    person = visitor(1)
    assert person.post("/en/consent/link/", {"token": token}).status_code == 302


def test_the_post_spends_the_link_rotates_the_session_and_a_second_post_is_refused():
    token = new_link(KNOWN)
    person = visitor(1)
    person.get(link_url(token))
    before = person.session.session_key
    response = person.post("/en/consent/link/", {"token": token})
    assert response.status_code == 302 and response["Location"] == "/en/consent/mine/"
    assert person.session.session_key != before
    assert person.session[views.SESSION_KEY]["email"] == KNOWN
    assert SelfServiceLink.objects.get().spent_at is not None
    other = visitor(2)
    again = other.post("/en/consent/link/", {"token": token})
    assert again.status_code == 410 and b"already been used" in again.content
    assert b'href="/en/consent/"' in again.content
    assert views.SESSION_KEY not in other.session
    assert other.get(link_url(token)).status_code == 410


def test_the_conditional_update_lets_one_of_two_spends_win():
    token = new_link(KNOWN)
    first, second = (services.spend_self_service_link(token=token) for _ in range(2))
    assert (first.state, first.email) == (services.LinkState.VALID, KNOWN)
    assert (second.state, second.email) == (services.LinkState.SPENT, None)


@pytest.mark.django_db(transaction=True)
def test_of_eight_posts_at_once_one_wins_on_postgresql():
    need(connection.vendor == "postgresql", "PostgreSQL")
    ensure_default_purposes()
    token = new_link(KNOWN)
    start = threading.Barrier(8)
    results: list = []
    errors: list[BaseException] = []

    def spend() -> None:
        try:
            start.wait()
            results.append(services.spend_self_service_link(token=token))
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(result.state.value for result in results) == ["spent"] * 7 + ["valid"]


def test_an_expired_link_is_refused_and_says_so():
    token = new_link(KNOWN)
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        person = visitor()
        page = person.get(link_url(token))
        assert page.status_code == 410 and b"This link has expired" in page.content
        assert b'href="/en/consent/"' in page.content
        posted = person.post("/en/consent/link/", {"token": token})
        assert posted.status_code == 410 and views.SESSION_KEY not in person.session
    assert SelfServiceLink.objects.get().spent_at is None


def test_a_link_past_its_rows_expiry_is_refused_even_with_a_fresh_signature():
    token = new_link(KNOWN)
    SelfServiceLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert visitor().post("/en/consent/link/", {"token": token}).status_code == 410
    assert SelfServiceLink.objects.get().spent_at is None


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature changed
        lambda token: "x" + token,  # the random part changed
        lambda token: signing.TimestampSigner(salt=services.SELF_SERVICE_LINK_SALT).sign("a" * 43),  # no row
        lambda token: "",
        lambda token: "\x00\u202e" + "z" * 10_000,
    ],
    ids=["signature", "token", "signed-but-never-sent", "empty", "garbage"],
)
def test_a_forged_token_is_refused_and_never_a_server_error(forge):
    forged = forge(new_link(KNOWN))
    person = visitor()
    page = person.get("/en/consent/link/", {"t": forged})
    assert page.status_code == 400 and b"This link does not work" in page.content
    posted = person.post("/en/consent/link/", {"token": forged})
    assert posted.status_code == 400 and views.SESSION_KEY not in person.session
    assert SelfServiceLink.objects.get().spent_at is None


# --- The self-service page ----------------------------------------------------------------------


def test_the_page_needs_a_self_service_session():
    stranger = visitor()
    for method, url in [
        ("get", "/en/consent/mine/"),
        ("post", "/en/consent/mine/answer/"),
        ("get", "/en/consent/receipts/1/"),
        ("get", "/en/consent/receipts/1/json"),
    ]:
        response = getattr(stranger, method)(url, {"purpose": "newsletter", "action": GIVE, "version": 1})
        assert (response.status_code, response["Location"]) == (302, "/en/consent/"), url
    staff = visitor(2)
    staff.force_login(StaffFactory(is_superuser=True))
    assert staff.get("/en/consent/mine/")["Location"] == "/en/consent/"
    assert not ConsentEvent.objects.exists()


def test_the_session_ends_at_its_fixed_time():
    person = open_page(visitor(), KNOWN)
    assert person.get("/en/consent/mine/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=30, seconds=1)):
        response = person.get("/en/consent/mine/", follow=True)
        assert response.redirect_chain == [("/en/consent/", 302)]
        assert b"Your time on your consents page ran out" in response.content
        assert answer(person, Purpose.NEWSLETTER, GIVE).status_code == 302
    assert not ConsentEvent.objects.exists()


def test_the_page_shows_every_purpose_but_the_cookies_with_its_wording_and_state():
    record(KNOWN, GIVE, Purpose.NEWSLETTER)
    record(KNOWN, GIVE, Purpose.LEAD_REGISTRATION)
    record(KNOWN, WITHDRAW, Purpose.LEAD_REGISTRATION)
    page = open_page(visitor(), KNOWN).get("/en/consent/mine/")
    assert page.status_code == 200
    text = page.content.decode()
    rows = {row.purpose: row for row in page.context["rows"]}
    assert list(rows) == [
        Purpose.NEWSLETTER,
        Purpose.MARKETING_EMAIL,
        Purpose.EVENT_FOLLOWUP,
        Purpose.LEAD_REGISTRATION,
        Purpose.RECRUITMENT_DATABASE,
    ]
    for slug in rows:
        wording = selectors.wording(purpose=purpose(slug), language="en")
        assert escape(wording.title) in text and escape(wording.text) in text
    assert 'name="purpose" value="cookies_' not in text  # the cookie banner asks for those
    assert rows[Purpose.NEWSLETTER].state.standing
    assert rows[Purpose.LEAD_REGISTRATION].state.withdrawn_at is not None
    assert rows[Purpose.MARKETING_EMAIL].state.version is None
    today = formats.date_format(timezone.localdate(), "DATE_FORMAT")
    assert f"Given on {today}" in text and f"Withdrawn on {today}" in text
    assert text.count("Never answered") == 3
    assert text.count(">Withdraw consent<") == 1 and text.count(">Give consent<") == 4
    assert KNOWN in text


def test_an_unknown_address_sees_every_purpose_unanswered_and_gets_no_subject():
    page = open_page(visitor(), UNKNOWN).get("/en/consent/mine/")
    assert page.content.decode().count("Never answered") == 5
    assert b"Nothing has been recorded for this address yet." in page.content
    assert not ConsentSubject.objects.exists()


def test_give_and_withdraw_through_the_page_change_the_ledger_and_the_state():
    person = open_page(visitor(), UNKNOWN)
    response = answer(person, Purpose.NEWSLETTER, GIVE)
    assert (response.status_code, response["Location"]) == (302, "/en/consent/mine/")
    given = ConsentEvent.objects.get()
    assert (given.subject.email, given.purpose.slug, given.action, given.channel, given.actor) == (
        UNKNOWN,
        Purpose.NEWSLETTER,
        GIVE,
        Channel.WEB,
        None,
    )
    assert selectors.current_consent(email=UNKNOWN, purpose=Purpose.NEWSLETTER).standing
    page = person.get("/en/consent/mine/")
    assert b"Your consent to \xe2\x80\x9cNewsletter\xe2\x80\x9d is recorded." in page.content
    assert b">Withdraw consent<" in page.content

    answer(person, Purpose.NEWSLETTER, WITHDRAW)
    withdrawn = ConsentEvent.objects.latest("id")
    assert (withdrawn.action, withdrawn.channel, withdrawn.actor) == (WITHDRAW, Channel.WEB, None)
    state = ConsentState.objects.get(subject__email=UNKNOWN, purpose__slug=Purpose.NEWSLETTER)
    assert (state.standing, state.withdrawn_at) == (False, withdrawn.occurred_at)
    page = person.get("/en/consent/mine/")
    assert b"is withdrawn." in page.content and b"Withdrawn on" in page.content
    assert selectors.first_broken_link() is None


def test_a_consent_kept_for_a_time_can_be_renewed_from_the_page():
    first = record(KNOWN, GIVE, Purpose.RECRUITMENT_DATABASE)
    record(KNOWN, GIVE, Purpose.NEWSLETTER)
    with time_machine.travel(timezone.now() + timedelta(days=340)):
        person = open_page(visitor(), KNOWN)
        page = person.get("/en/consent/mine/").content.decode()
        assert page.count(">Renew consent<") == 1  # the recruitment database's, not the newsletter's
        answer(person, Purpose.RECRUITMENT_DATABASE, GIVE)
    renewed = ConsentEvent.objects.latest("id")
    assert (renewed.action, renewed.channel) == (GIVE, Channel.WEB)
    state = ConsentState.objects.get(subject__email=KNOWN, purpose__slug=Purpose.RECRUITMENT_DATABASE)
    assert state.given_at == renewed.occurred_at > first.occurred_at


def test_a_withdrawal_without_a_standing_consent_records_nothing_and_makes_no_subject():
    person = open_page(visitor(), UNKNOWN)
    response = answer(person, Purpose.NEWSLETTER, WITHDRAW)
    assert response.status_code == 302
    assert not ConsentEvent.objects.exists() and not ConsentSubject.objects.exists()
    assert b"There was no consent to withdraw" in person.get("/en/consent/mine/").content


def test_a_purpose_without_wording_in_the_language_is_not_offered():
    services.publish_version(
        purpose=purpose(Purpose.NEWSLETTER), wordings={"en": ("Newsletter", "Only in English now.")}
    )
    person = open_page(visitor(), KNOWN, language="nb")
    page = person.get("/nb/consent/mine/")
    slugs = [row.purpose for row in page.context["rows"]]
    assert Purpose.NEWSLETTER not in slugs and Purpose.MARKETING_EMAIL in slugs
    assert b"Nyhetsbrev" not in page.content and b"Only in English now." not in page.content
    assert answer(person, Purpose.NEWSLETTER, GIVE, language="nb").status_code == 404
    assert not ConsentEvent.objects.exists()
    english = person.get("/en/consent/mine/")
    assert b"Only in English now." in english.content


def test_the_cookie_purposes_and_unknown_ones_cannot_be_answered_here():
    person = open_page(visitor(), KNOWN)
    for slug in (Purpose.COOKIES_FUNCTIONAL, "no_such_purpose"):
        assert answer(person, slug, GIVE, version=1).status_code == 404
    assert (
        person.post("/en/consent/mine/answer/", {"purpose": "newsletter", "action": "maybe"}).status_code
        == 400
    )
    assert not ConsentEvent.objects.exists()


def test_a_new_wording_that_needs_fresh_consent_is_asked_and_the_old_consent_stands_until_answered():
    marketing = purpose(Purpose.MARKETING_EMAIL)
    assert marketing.new_versions_need_fresh_consent
    first = record(KNOWN, GIVE, Purpose.MARKETING_EMAIL)
    services.publish_version(
        purpose=marketing,
        wordings={
            "en": ("Marketing e-mail", "Offers by e-mail, at most twice a month."),
            "nb": ("Markedsføring på e-post", "Tilbud på e-post, høyst to ganger i måneden."),
        },
    )
    person = open_page(visitor(), KNOWN)
    page = person.get("/en/consent/mine/").content.decode()
    assert "The wording has changed." in page
    assert "Offers by e-mail, at most twice a month." in page
    assert "You agreed to version 1" in page and "That consent still stands" in page
    assert escape(first.version.wordings.get(language="en").text) in page  # what was agreed, on request
    assert ">Agree to the new wording<" in page and ">Withdraw<" in page
    # Until the person answers, the earlier consent covers what it agreed to.
    assert selectors.current_consent(email=KNOWN, purpose=Purpose.MARKETING_EMAIL).standing
    assert ConsentState.objects.get(subject__email=KNOWN, purpose=marketing).version == first.version

    answer(person, Purpose.MARKETING_EMAIL, GIVE)
    state = ConsentState.objects.get(subject__email=KNOWN, purpose=marketing)
    assert (state.version.number, state.standing) == (2, True)
    assert "The wording has changed." not in person.get("/en/consent/mine/").content.decode()


def test_withdrawing_instead_of_agreeing_to_the_new_wording_ends_the_old_consent():
    marketing = purpose(Purpose.MARKETING_EMAIL)
    record(KNOWN, GIVE, Purpose.MARKETING_EMAIL)
    services.publish_version(purpose=marketing, wordings={"en": ("Marketing e-mail", "New text.")})
    person = open_page(visitor(), KNOWN)
    answer(person, Purpose.MARKETING_EMAIL, WITHDRAW)
    assert not selectors.current_consent(email=KNOWN, purpose=Purpose.MARKETING_EMAIL).standing
    assert "The wording has changed." not in person.get("/en/consent/mine/").content.decode()


def test_a_new_wording_of_a_purpose_that_needs_no_fresh_consent_asks_nothing():
    newsletter = purpose(Purpose.NEWSLETTER)
    assert not newsletter.new_versions_need_fresh_consent
    record(KNOWN, GIVE)
    services.publish_version(purpose=newsletter, wordings={"en": ("Newsletter", "The newsletter, monthly.")})
    page = open_page(visitor(), KNOWN).get("/en/consent/mine/").content.decode()
    assert "The wording has changed." not in page
    assert "The newsletter, monthly." in page and ">Withdraw consent<" in page


def test_a_give_under_a_wording_the_page_did_not_show_records_nothing():
    person = open_page(visitor(), KNOWN)
    shown = selectors.current_version(purpose=purpose(Purpose.NEWSLETTER)).number
    services.publish_version(purpose=purpose(Purpose.NEWSLETTER), wordings={"en": ("Newsletter", "Changed.")})
    response = answer(person, Purpose.NEWSLETTER, GIVE, version=shown)
    assert response.status_code == 302
    assert not ConsentEvent.objects.exists()
    page = person.get("/en/consent/mine/")
    assert b"changed while the page was open" in page.content and b"Changed." in page.content


def test_the_history_lists_each_event_with_a_link_to_its_receipt():
    events = [
        record(KNOWN, GIVE, Purpose.NEWSLETTER, channel=Channel.IMPORT),
        record(KNOWN, GIVE, Purpose.EVENT_FOLLOWUP, channel=Channel.STAFF),
        record(KNOWN, WITHDRAW, Purpose.NEWSLETTER, channel=Channel.API),
    ]
    record("someone.else@example.no", GIVE)
    page = open_page(visitor(), KNOWN).get("/en/consent/mine/")
    assert [event.pk for event in page.context["history"]] == [event.pk for event in reversed(events)]
    text = page.content.decode()
    for event in events:
        assert f'href="/en/consent/receipts/{event.pk}/"' in text
    for label in ("Import", "Staff", "API", "Given", "Withdrawn", "Kept for future events"):
        assert f"<td>{label}</td>" in text


def test_leave_ends_the_self_service_session():
    person = open_page(visitor(), KNOWN)
    assert person.get("/leave/").status_code == 404  # the language prefix is part of the address
    assert person.get("/en/consent/leave/").status_code == 405
    response = person.post("/en/consent/leave/", follow=True)
    assert response.redirect_chain == [("/en/consent/", 302)]
    assert b"You have left your consents page." in response.content
    assert views.SESSION_KEY not in person.session
    assert person.get("/en/consent/mine/").status_code == 302


def test_the_home_page_links_to_the_form():
    assert b'href="/en/consent/"' in visitor().get("/en/").content


# --- Every self-service page rendered, for tests/test_rendered_templates.py --------------------

# The self-service URL patterns that are not pages of their own, for that walk's NOT_PAGES.
SELF_SERVICE_NOT_PAGES = {
    "<language>/consent/mine/answer/": "POST only; redirects to the self-service page",
    "<language>/consent/leave/": "POST only; redirects to the self-service request form",
    "<language>/consent/receipts/<int:event_id>/json": "a consent receipt as JSON (tests/consent/test_receipts.py)",
}


def self_service_pages(walk) -> None:
    """Every state of the self-service pages for tests/test_rendered_templates.py's Walk: the
    form, refused and sent; the link's page, forged, used and used again; the person's page,
    given to, asking for fresh consent; a receipt; leaving; a page whose session is gone."""
    ensure_default_purposes()
    address = f"walker-{walk.language}@example.com"
    record(address, GIVE, Purpose.MARKETING_EMAIL)
    services.publish_version(
        purpose=purpose(Purpose.MARKETING_EMAIL),
        wordings={
            code: ("Marketing e-mail", f"Offers by e-mail ({code}).") for code in ("en", "nb", "sv", "da")
        },
    )
    person = walk.visitor()
    walk.get("self-service request form", "/consent/", client=person)
    walk.post(
        "self-service request form, refused", "/consent/", {"email": "nonsense"}, client=person, status=400
    )
    walk.post("self-service link sent", "/consent/", {"email": address}, client=person)
    token = mailed_token(address)
    link_page = walk.get("self-service link", f"/consent/link/?t={token}", client=person)
    walk.get("self-service link, forged", "/consent/link/?t=forged", client=person, status=400)
    mine = walk.post(
        "self-service page, asking for fresh consent", "/consent/link/", {}, client=person, form_on=link_page
    )
    walk.post(
        "self-service page, a consent given",
        "/consent/mine/answer/",
        {"action": GIVE},
        client=person,
        form_on=mine,
    )
    event = ConsentEvent.objects.filter(subject__email=address).latest("id")
    walk.get("consent receipt", f"/consent/receipts/{event.pk}/", client=person)
    walk.get("self-service link, used", f"/consent/link/?t={token}", client=person, status=410)
    walk.post("self-service left", "/consent/leave/", {}, client=person, form_on=mine)
    walk.get("self-service page, without a session", "/consent/mine/", client=person)


@pytest.mark.parametrize("language", ["en", "nb", "sv", "da"])
def test_no_template_syntax_reaches_a_self_service_page(language, django_capture_on_commit_callbacks):
    from tests.test_rendered_templates import Walk, template_syntax_in

    walk = Walk(language, django_capture_on_commit_callbacks)
    self_service_pages(walk)
    for message in mail.outbox:
        walk.problems += template_syntax_in(message.subject + message.body)
    assert not walk.problems, walk.problems
    assert {route for route in walk.routes if "consent" in route} == {
        "<language>/consent/",
        "<language>/consent/link/",
        "<language>/consent/mine/",
        "<language>/consent/receipts/<int:event_id>/",
    }
