"""The consent API for the company's other systems (issue 12, point 9): a token per system made in
the admin (shown once, kept as a digest, revocable) with its scopes; give, withdraw, state and
history by e-mail address in the body; a rate limit per system; hostile input refused with
nothing recorded; and none of it open to staff sessions or personal tokens."""

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
import yaml
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from cases.audit import visible_entries
from consent import selectors, services
from consent.api.authentication import new_client_token, token_digest
from consent.defaults import ensure_default_purposes
from consent.models import (
    Channel,
    ConsentApiClient,
    ConsentEvent,
    ConsentPurpose,
    ConsentSeal,
    ConsentState,
    ConsentSubject,
    Purpose,
    PurposeVersion,
    PurposeWording,
)
from registers.models import SuppressedAddress
from registers.registry import identity_digest
from tests.api.conftest import token_for
from tests.factories import CaseHandlerFactory, StaffFactory

pytestmark = pytest.mark.django_db

EVENTS, STATE, HISTORY = "/api/v1/consent/events/", "/api/v1/consent/state/", "/api/v1/consent/history/"
CLIENTS = "/admin/consent/consentapiclient/"
KARI = "kari.nordmann@example.no"


@pytest.fixture(autouse=True)
def purposes():
    ensure_default_purposes()


def make_client(
    name: str = "CRM", *, can_read: bool = True, can_record: bool = True
) -> tuple[ConsentApiClient, str]:
    text, prefix, digest = new_client_token()
    client = ConsentApiClient.objects.create(
        name=name, token_prefix=prefix, token_digest=digest, can_read=can_read, can_record=can_record
    )
    return client, text


def api_with(text: str, scheme: str = "Bearer") -> APIClient:
    api = APIClient()
    api.raise_request_exception = False  # a 500 is an answer these tests see, not an error
    api.credentials(HTTP_AUTHORIZATION=f"{scheme} {text}")
    return api


@pytest.fixture
def crm() -> APIClient:
    _client, text = make_client()
    return api_with(text)


def post(api: APIClient, url: str, body) -> object:
    return api.post(url, body, format="json")


def purpose_state(response, slug: str) -> dict:
    return next(row for row in response.json()["purposes"] if row["purpose"] == slug)


def said_why(response) -> bool:
    """The answer is JSON that says in words what was wrong: DRF's `detail`, or messages by field."""
    errors = response.json()
    return bool(errors) and all(
        isinstance(said, str) or (bool(said) and all(isinstance(message, str) for message in said))
        for said in errors.values()
    )


def nothing_recorded() -> bool:
    return not ConsentEvent.objects.exists() and not ConsentSubject.objects.exists()


# --- Give, withdraw, state and history -------------------------------------------------------------


def test_a_system_gives_and_withdraws_and_the_state_and_history_follow():
    client, text = make_client("CRM")
    api = api_with(text)

    given = post(
        api, EVENTS, {"email": " Kari.Nordmann@Example.no", "purpose": "marketing_email", "action": "give"}
    )
    assert given.status_code == 201, given.content
    event = ConsentEvent.objects.get()
    subject = ConsentSubject.objects.get()
    assert subject.email == KARI
    assert given.json() == {
        "id": event.pk,
        "subject": str(subject.pk),
        "purpose": "marketing_email",
        "version": 1,
        "action": "give",
        "channel": "api",
        "occurred_at": given.json()["occurred_at"],
        "digest": None,  # sealed into the chain after the answer (within a minute)
    }
    assert (event.channel, event.actor) == (Channel.API, None)

    state = post(api, STATE, {"email": KARI})
    assert state.status_code == 200
    marketing = purpose_state(state, "marketing_email")
    assert marketing["standing"] is True and marketing["answer"] == "given"
    assert (marketing["version"], marketing["current_version"], marketing["needs_fresh_answer"]) == (
        1,
        1,
        False,
    )
    assert marketing["withdrawn_at"] is None and marketing["given_at"] is not None
    assert purpose_state(state, "newsletter")["answer"] == "never_answered"

    withdrawn = post(api, EVENTS, {"email": KARI, "purpose": "marketing_email", "action": "withdraw"})
    assert withdrawn.status_code == 201 and withdrawn.json()["action"] == "withdraw"
    marketing = purpose_state(post(api, STATE, {"email": KARI}), "marketing_email")
    assert marketing["standing"] is False and marketing["answer"] == "withdrawn"
    assert marketing["withdrawn_at"] is not None

    services.seal_ledger()
    history = post(api, HISTORY, {"email": KARI})
    assert history.status_code == 200
    assert [row["digest"] for row in history.json()["events"]] == [
        seal.digest for seal in ConsentSeal.objects.filter(event__subject=subject).order_by("event")
    ]
    assert [(row["action"], row["purpose"], row["channel"]) for row in history.json()["events"]] == [
        ("give", "marketing_email", "api"),
        ("withdraw", "marketing_email", "api"),
    ]
    # Neither answer holds the address, or a digest of another person's event.
    assert b"kari" not in history.content.lower() and b"kari" not in state.content.lower()
    assert "previous_digest" not in history.json()["events"][0]

    # The chain holds, and the audit log names the system that recorded each event.
    assert selectors.first_broken_link() is None
    entries = LogEntry.objects.filter(object_pk__in=[str(e.pk) for e in ConsentEvent.objects.all()])
    assert entries.count() == 2
    assert all(
        entry.additional_data["consent_api_client"] == {"id": client.pk, "name": "CRM"} for entry in entries
    )
    assert all(entry.actor is None and "kari" not in entry.object_repr.lower() for entry in entries)

    # Staff who may view the ledger find those entries in the admin's audit log; others do not.
    reader = StaffFactory(username="ledger-reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_consentevent"))
    assert set(visible_entries(user=reader)) >= set(entries)
    assert not set(visible_entries(user=StaffFactory(username="no-rights"))) & set(entries)


def test_marketing_e_mail_is_answered_by_the_state_a_person_gave_elsewhere(crm):
    ensure_default_purposes()
    services.record_consent(
        email=KARI,
        purpose=ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER),
        action="give",
        channel=Channel.WEB,
    )
    state = post(crm, STATE, {"email": KARI}).json()
    assert {row["purpose"]: row["standing"] for row in state["purposes"]} == {
        slug: slug == Purpose.NEWSLETTER for slug in Purpose.values
    }


def test_an_unknown_address_has_every_purpose_never_answered_and_a_read_records_nothing(crm):
    state = post(crm, STATE, {"email": "nobody@example.no"})
    assert state.status_code == 200
    assert [row["purpose"] for row in state.json()["purposes"]] == sorted(Purpose.values)
    assert all(
        (row["answer"], row["standing"], row["version"], row["current_version"])
        == ("never_answered", False, None, 1)
        for row in state.json()["purposes"]
    )
    history = post(crm, HISTORY, {"email": "nobody@example.no"})
    assert history.status_code == 200 and history.json() == {"events": []}
    assert nothing_recorded()


def test_a_new_wording_that_needs_fresh_consent_is_flagged_while_the_earlier_consent_stands(crm):
    assert (
        post(crm, EVENTS, {"email": KARI, "purpose": "marketing_email", "action": "give"}).status_code == 201
    )
    purpose = ConsentPurpose.objects.get(slug=Purpose.MARKETING_EMAIL)
    assert purpose.new_versions_need_fresh_consent
    services.publish_version(
        purpose=purpose, wordings={"en": ("Marketing e-mail", "Offers, now by text too.")}
    )
    marketing = purpose_state(post(crm, STATE, {"email": KARI}), "marketing_email")
    assert (marketing["standing"], marketing["version"], marketing["current_version"]) == (True, 1, 2)
    assert marketing["needs_fresh_answer"] is True
    post(crm, EVENTS, {"email": KARI, "purpose": "marketing_email", "action": "give"})
    marketing = purpose_state(post(crm, STATE, {"email": KARI}), "marketing_email")
    assert (marketing["version"], marketing["needs_fresh_answer"]) == (2, False)


def test_an_import_is_placed_where_it_happened(crm):
    published = timezone.now() - timedelta(days=30)
    PurposeVersion.objects.filter(purpose__slug=Purpose.NEWSLETTER).update(published_at=published)
    assert post(crm, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"}).status_code == 201
    earlier = (published + timedelta(days=1)).isoformat()
    imported = post(
        crm, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "withdraw", "occurred_at": earlier}
    )
    assert imported.status_code == 201, imported.content
    # The withdrawal happened before the give: the consent stands.
    assert purpose_state(post(crm, STATE, {"email": KARI}), "newsletter")["standing"] is True
    history = post(crm, HISTORY, {"email": KARI}).json()["events"]
    assert [row["action"] for row in history] == ["withdraw", "give"]
    assert selectors.first_broken_link() is None


# --- Who may call it -------------------------------------------------------------------------------


def test_a_read_only_client_cannot_record_and_a_record_only_client_cannot_read():
    _reader, reader_token = make_client("Reports", can_read=True, can_record=False)
    reader = api_with(reader_token)
    refused = post(reader, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"})
    assert refused.status_code == 403 and "may not record" in refused.json()["detail"]
    assert nothing_recorded()
    assert post(reader, STATE, {"email": KARI}).status_code == 200

    _writer, writer_token = make_client("Shop", can_read=False, can_record=True)
    writer = api_with(writer_token)
    assert post(writer, STATE, {"email": KARI}).status_code == 403
    assert post(writer, HISTORY, {"email": KARI}).status_code == 403
    assert post(writer, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"}).status_code == 201


def test_a_revoked_token_is_refused_with_401():
    client, text = make_client()
    api = api_with(text)
    assert post(api, STATE, {"email": KARI}).status_code == 200
    ConsentApiClient.objects.filter(pk=client.pk).update(revoked_at=timezone.now())
    for url, body in (
        (STATE, {"email": KARI}),
        (EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"}),
    ):
        response = post(api, url, body)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["detail"] == "This token was revoked."
    assert nothing_recorded()


def test_no_token_is_403_and_a_wrong_or_malformed_one_401():
    make_client()
    anonymous = APIClient()
    for url in (EVENTS, STATE, HISTORY):
        assert (
            post(anonymous, url, {"email": KARI, "purpose": "newsletter", "action": "give"}).status_code
            == 403
        )
    for header in (
        "Bearer wrong-token",
        "Bearer",
        "Bearer two words",
        "bearer " + "x" * 101,
        "Basic a2FyaTpzZWNyZXQ=",
    ):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=header)
        response = post(api, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"})
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == 'Bearer realm="consent"'
    raw = APIClient()
    raw.raise_request_exception = False
    response = raw.generic(
        "POST",
        STATE,
        json.dumps({"email": KARI}),
        content_type="application/json",
        HTTP_AUTHORIZATION=b"Bearer \xff\xfe",
    )
    assert response.status_code == 401
    assert nothing_recorded()


def test_staff_sessions_and_personal_tokens_do_not_open_it(settings):
    superuser = StaffFactory(is_superuser=True, username="consent-superuser")
    handler = CaseHandlerFactory(teams=["privacy"])
    session = APIClient(enforce_csrf_checks=False)
    session.force_login(superuser)
    body = {"email": KARI, "purpose": "newsletter", "action": "give"}
    for url in (EVENTS, STATE, HISTORY):
        assert post(session, url, body).status_code == 403, url
        for user in (superuser, handler):
            response = post(api_with(token_for(user), scheme="Token"), url, body)
            assert response.status_code == 401, (url, user)
    assert nothing_recorded()
    # And a client's token opens none of the staff API.
    _client, text = make_client()
    assert api_with(text).get("/api/v1/cases/").status_code in (401, 403)
    assert api_with(text).get("/api/v1/schema/").status_code in (401, 403)


def test_the_last_use_is_written_at_most_once_a_minute(django_assert_num_queries):
    client, text = make_client()
    api = api_with(text)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post(api, STATE, {"email": KARI})
        client.refresh_from_db()
        first = client.last_used_at
        assert first is not None
        traveller.shift(timedelta(seconds=30))
        post(api, STATE, {"email": KARI})
        client.refresh_from_db()
        assert client.last_used_at == first
        traveller.shift(timedelta(seconds=31))
        post(api, STATE, {"email": KARI})
        client.refresh_from_db()
        assert client.last_used_at > first


def test_the_rate_limit_is_per_system_and_answers_429_with_retry_after(settings):
    settings.TRUSTCENTER_CONSENT_API_RATE = "3/min"
    _busy, busy_token = make_client("Busy")
    _other, other_token = make_client("Other")
    busy = api_with(busy_token)
    statuses = [post(busy, STATE, {"email": KARI}).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = post(busy, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"})
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 60
    assert not ConsentEvent.objects.exists()
    assert post(api_with(other_token), STATE, {"email": KARI}).status_code == 200


# --- Hostile input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a" * 10_000 + "@example.no", "purpose": "newsletter", "action": "give"}, "email"),
        ({"email": "not an address", "purpose": "newsletter", "action": "give"}, "email"),
        ({"email": 42, "purpose": "newsletter", "action": "give"}, "email"),
        ({"email": None, "purpose": "newsletter", "action": "give"}, "email"),
        ({"email": ["kari@example.no"], "purpose": "newsletter", "action": "give"}, "email"),
        ({"email": "kari\x00@example.no", "purpose": "newsletter", "action": "give"}, "email"),
        ({"email": "\ud800@example.no", "purpose": "newsletter", "action": "give"}, None),
        ({"email": KARI, "purpose": "cookies", "action": "give"}, "purpose"),
        ({"email": KARI, "purpose": "", "action": "give"}, "purpose"),
        ({"email": KARI, "purpose": {"slug": "newsletter"}, "action": "give"}, "purpose"),
        ({"email": KARI, "purpose": "newsletter", "action": "maybe"}, "action"),
        ({"email": KARI, "purpose": "newsletter", "action": "GIVE"}, "action"),
        ({"email": KARI, "purpose": "newsletter"}, "action"),
        (
            {"email": KARI, "purpose": "newsletter", "action": "give", "occurred_at": "2999-01-01T00:00:00Z"},
            "occurred_at",
        ),
        (
            {"email": KARI, "purpose": "newsletter", "action": "give", "occurred_at": "1970-01-01T00:00:00Z"},
            "occurred_at",
        ),
        (
            {"email": KARI, "purpose": "newsletter", "action": "give", "occurred_at": "yesterday"},
            "occurred_at",
        ),
        (
            {"email": KARI, "purpose": "newsletter", "action": "give", "occurred_at": 1700000000},
            "occurred_at",
        ),
        ([], None),
        ("give", None),
        (None, None),
    ],
    ids=lambda value: json.dumps(value)[:40],
)
def test_wrong_input_is_a_400_by_field_and_records_nothing(crm, body, field):
    # json.dumps escapes what the test client's own encoder cannot (a lone surrogate: \\ud800).
    response = crm.post(EVENTS, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    errors = response.json()
    if field is not None:
        assert isinstance(errors[field], list) and all(isinstance(message, str) for message in errors[field])
    assert nothing_recorded()


def test_the_errors_say_what_is_wrong(crm):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    response = post(crm, EVENTS, {"email": "x" * 10_000, "purpose": "cookies", "action": "maybe"})
    assert response.json() == {
        "email": ["Ensure this field has no more than 254 characters.", "Enter a valid email address."],
        "purpose": ['"cookies" is not a valid choice.'],
        "action": ['"maybe" is not a valid choice.'],
    }
    response = post(
        crm, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give", "occurred_at": future}
    )
    assert response.json() == {"occurred_at": ["This time is in the future."]}
    response = post(
        crm,
        EVENTS,
        {"email": KARI, "purpose": "newsletter", "action": "give", "occurred_at": "2000-01-01T00:00:00Z"},
    )
    assert "before the purpose's current wording was published" in response.json()["occurred_at"][0]
    assert nothing_recorded()


def test_a_purpose_without_published_wording_records_nothing(crm):
    # A purpose an admin added and has not published a wording for yet.
    PurposeWording.objects.filter(version__purpose__slug=Purpose.NEWSLETTER).delete()
    PurposeVersion.objects.filter(purpose__slug=Purpose.NEWSLETTER).delete()
    response = post(crm, EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"})
    assert response.status_code == 400
    assert response.json() == {"purpose": ["This purpose has no published wording to agree to."]}
    assert nothing_recorded()


def test_an_address_on_the_suppression_list_is_not_given_again_but_may_still_withdraw(crm):
    SuppressedAddress.objects.create(digest=identity_digest(KARI), why="objection")

    given = post(crm, EVENTS, {"email": KARI.upper(), "purpose": "marketing_email", "action": "give"})

    assert given.status_code == 400
    assert given.json() == {
        "email": [
            "This address is on the suppression list (erased, or objected to direct marketing): it is "
            "not added again."
        ]
    }
    assert nothing_recorded()
    withdrawn = post(crm, EVENTS, {"email": KARI, "purpose": "marketing_email", "action": "withdraw"})
    assert withdrawn.status_code == 201
    # The person themselves, on the portal's pages, may give it again.
    services.record_consent(
        email=KARI, purpose=ConsentPurpose.objects.get(slug="newsletter"), action="give", channel=Channel.WEB
    )
    for occurred_at in (None, timezone.now() - timedelta(days=3)):  # one statement; an import's replay
        with pytest.raises(services.Suppressed):
            services.record_consent(
                email=KARI,
                purpose=ConsentPurpose.objects.get(slug="newsletter"),
                action="give",
                channel=Channel.IMPORT,
                occurred_at=occurred_at,
            )
    assert ConsentEvent.objects.filter(channel=Channel.IMPORT).count() == 0


@pytest.mark.parametrize("url", [EVENTS, STATE, HISTORY])
@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("email=kari%40example.no&purpose=newsletter&action=give", "application/x-www-form-urlencoded", 415),
        ("email=kari@example.no", "text/plain", 415),
        ("<email>kari@example.no</email>", "application/xml", 415),
        ("", "application/json", 400),
        ("{", "application/json", 400),
        ('{"email": NaN}', "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        ('{"a":' * 3_000, "application/json", 400),  # deeper than Python's recursion allows
    ],
    ids=lambda value: str(value)[:30],
)
def test_bodies_that_are_not_json_are_refused(crm, url, content, content_type, status):
    response = crm.generic("POST", url, content, content_type=content_type)
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert said_why(response)
    assert nothing_recorded()


@pytest.mark.parametrize("url", [EVENTS, STATE, HISTORY])
@pytest.mark.parametrize("size", [16 * 1024, 3 * 1024 * 1024, 12 * 1024 * 1024])
def test_a_huge_body_is_refused_unread_in_json(crm, url, size):
    # 12 MiB is past Django's DATA_UPLOAD_MAX_MEMORY_SIZE, whose refusal would be an HTML page.
    huge = "x" * size
    response = post(crm, url, {"email": huge + "@example.no", "purpose": huge, "action": huge})
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The body is too large: a call to the consent API needs less than 16 KiB."
    }
    assert nothing_recorded()


def test_a_body_just_under_the_limit_is_read(crm):
    email = "a" * (16 * 1024 - 100) + "@example.no"
    response = post(crm, STATE, {"email": email})
    assert response.status_code == 400 and "email" in response.json()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_only_post_is_answered_and_no_address_goes_in_a_url(crm, method):
    response = getattr(crm, method)(f"{STATE}?email={KARI}")
    assert response.status_code == 405
    assert nothing_recorded()


# --- The admin -------------------------------------------------------------------------------------


def consent_admin(*codenames: str):
    user: Any = StaffFactory(username=f"staff-{'-'.join(codenames) or 'none'}")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="consent", codename__in=codenames)
    )
    return user


def test_staff_recording_a_give_for_a_suppressed_address_is_told_and_nothing_is_recorded(client):
    SuppressedAddress.objects.create(digest=identity_digest(KARI), why="erasure")
    client.force_login(consent_admin("add_consentevent", "view_consentstate"))
    newsletter = ConsentPurpose.objects.get(slug="newsletter")

    refused = client.post(
        "/admin/consent/consentstate/record/", {"email": KARI, "purpose": newsletter.pk, "action": "give"}
    )

    assert refused.status_code == 200
    assert "This address is on the suppression list" in refused.content.decode()
    assert nothing_recorded()
    recorded = client.post(
        "/admin/consent/consentstate/record/",
        {"email": "ola@example.no", "purpose": newsletter.pk, "action": "give"},
    )
    assert recorded.status_code == 302 and ConsentEvent.objects.get().channel == Channel.STAFF


def test_creating_a_client_shows_its_token_once_and_keeps_only_the_digest(client):
    client.force_login(
        consent_admin("add_consentapiclient", "change_consentapiclient", "view_consentapiclient")
    )
    made = client.post(f"{CLIENTS}add/", {"name": "Newsletter tool", "can_read": "on"})
    assert made.status_code == 200, made.content[:500]
    assert "no-cache" in made["Cache-Control"]
    page = made.content.decode()
    api_client = ConsentApiClient.objects.get()
    assert (api_client.name, api_client.can_read, api_client.can_record) == ("Newsletter tool", True, False)
    text = page.split('id="consent-api-token"')[1].split('value="')[1].split('"')[0]
    assert len(text) >= 40
    assert api_client.token_prefix == text[:8] and api_client.token_digest == token_digest(text)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM consent_consentapiclient")
        row = cursor.fetchone()
    assert not any(text in str(value) for value in row)
    # The client's page and the list never show it again, nor let the digest be changed.
    change = client.get(f"{CLIENTS}{api_client.pk}/change/").content.decode()
    assert text not in change and api_client.token_digest not in change
    assert text not in client.get(CLIENTS).content.decode()
    client.post(
        f"{CLIENTS}{api_client.pk}/change/", {"name": "Renamed", "can_read": "on", "token_digest": "0" * 64}
    )
    api_client.refresh_from_db()
    assert api_client.name == "Renamed" and api_client.token_digest == token_digest(text)
    # The token works, for reading only.
    assert post(api_with(text), STATE, {"email": KARI}).status_code == 200
    assert (
        post(api_with(text), EVENTS, {"email": KARI, "purpose": "newsletter", "action": "give"}).status_code
        == 403
    )


def test_the_revoke_action_stops_the_token(client):
    client.force_login(consent_admin("change_consentapiclient", "view_consentapiclient"))
    api_client, text = make_client()
    response = client.post(CLIENTS, {"action": "revoke", "_selected_action": [api_client.pk]}, follow=True)
    assert "1 token was revoked." in response.content.decode()
    api_client.refresh_from_db()
    assert api_client.revoked_at is not None
    assert post(api_with(text), STATE, {"email": KARI}).status_code == 401
    assert client.post(f"{CLIENTS}{api_client.pk}/delete/").status_code == 403, "revoked, never deleted"
    in_use, _token = make_client("Still in use")
    revoked_list = client.get(f"{CLIENTS}?token=revoked").content.decode()
    active_list = client.get(f"{CLIENTS}?token=active").content.decode()
    assert api_client.name in revoked_list and in_use.name not in revoked_list
    assert in_use.name in active_list and f">{api_client.name}<" not in active_list


def test_strangers_and_staff_without_rights_cannot_open_the_client_admin(client):
    api_client, _text = make_client()
    pages = [CLIENTS, f"{CLIENTS}add/", f"{CLIENTS}{api_client.pk}/change/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url
    client.force_login(consent_admin())
    for url in pages:
        assert client.get(url).status_code == 403, url
    assert client.post(f"{CLIENTS}add/", {"name": "Sneaky", "can_record": "on"}).status_code == 403
    assert client.post(CLIENTS, {"action": "revoke", "_selected_action": [api_client.pk]}).status_code == 403
    client.force_login(consent_admin("view_consentapiclient"))
    assert client.get(CLIENTS).status_code == 200
    assert client.post(f"{CLIENTS}add/", {"name": "Sneaky", "can_record": "on"}).status_code == 403
    client.post(CLIENTS, {"action": "revoke", "_selected_action": [api_client.pk]})
    assert ConsentApiClient.objects.get().revoked_at is None
    assert ConsentApiClient.objects.count() == 1 and not ConsentState.objects.exists()


# --- The schema ------------------------------------------------------------------------------------


def test_the_schema_describes_the_consent_api_behind_the_system_token_alone(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = yaml.safe_load((tmp_path / "schema.yml").read_text())
    assert schema["components"]["securitySchemes"]["consentClientToken"]["scheme"] == "bearer"
    for url in (EVENTS, STATE, HISTORY):
        operation = schema["paths"][url]["post"]
        assert list(schema["paths"][url]) == ["post"], "the address goes in a body, never in a URL"
        assert operation["security"] == [{"consentClientToken": []}]
        assert {"200", "201"} & set(operation["responses"])
        assert {"400", "401", "403", "413", "429"} <= set(operation["responses"])
    assert "may I send marketing e-mail" in schema["paths"][STATE]["post"]["description"]
    staff_schemes = {
        name
        for operation in schema["paths"]["/api/v1/cases/"].values()
        for entry in operation["security"]
        for name in entry
    }
    assert "consentClientToken" not in staff_schemes
