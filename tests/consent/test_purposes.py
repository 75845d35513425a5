"""Consent purposes with versioned wording in four languages (issue 12, point 1): a new version
never changes what an earlier one said, and a purpose is offered only in the languages its
current version is written in."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from consent import selectors, services
from consent.defaults import ensure_default_purposes
from consent.models import ConsentPurpose, Purpose, PurposeVersion, PurposeWording
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _purposes():
    ensure_default_purposes()  # a transactional test before this one emptied the database


def test_every_purpose_of_the_design_starts_with_a_version_in_four_languages():
    purposes = ConsentPurpose.objects.all()
    assert {purpose.slug for purpose in purposes} == set(Purpose.values)
    for purpose in purposes:
        assert selectors.offered_languages(purpose=purpose) == {"en", "nb", "sv", "da"}
        assert selectors.current_version(purpose=purpose).number == 1


def test_a_new_version_leaves_the_earlier_wording_as_it_was():
    purpose = ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER)
    first = selectors.wording(purpose=purpose, language="nb")
    first_text = first.text
    second = services.publish_version(
        purpose=purpose,
        wordings={"en": ("Newsletter", "Monthly news."), "nb": ("Nyhetsbrev", "Månedlige nyheter.")},
    )
    assert second.number == 2
    first.refresh_from_db()
    assert first.text == first_text and first.version.number == 1
    assert selectors.wording(purpose=purpose, language="nb").text == "Månedlige nyheter."


def test_a_purpose_is_not_offered_in_a_language_its_current_version_lacks():
    purpose = ConsentPurpose.objects.get(slug=Purpose.MARKETING_EMAIL)
    services.publish_version(
        purpose=purpose, wordings={"en": ("Offers", "Offers by e-mail."), "nb": ("Tilbud", "Tilbud.")}
    )
    assert selectors.offered_languages(purpose=purpose) == {"en", "nb"}
    assert selectors.wording(purpose=purpose, language="sv") is None  # not the older Swedish either


@pytest.mark.parametrize(
    "wordings",
    [{}, {"en": ("", "text")}, {"en": ("Title", "   ")}, {"xx": ("Title", "Text")}],
    ids=["none", "no title", "no text", "unknown language"],
)
def test_a_version_without_a_complete_wording_is_refused(wordings):
    purpose = ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER)
    with pytest.raises(ValidationError):
        services.publish_version(purpose=purpose, wordings=wordings)
    assert purpose.versions.count() == 1


def test_the_admin_publishes_a_new_version_and_never_edits_one(client):
    admin_user: Any = StaffFactory(is_superuser=True)
    client.force_login(admin_user)
    purpose = ConsentPurpose.objects.get(slug=Purpose.EVENT_FOLLOWUP)
    response = client.post(
        "/admin/consent/purposeversion/add/",
        {
            "purpose": purpose.pk,
            "wordings-TOTAL_FORMS": "1",
            "wordings-INITIAL_FORMS": "0",
            "wordings-MIN_NUM_FORMS": "0",
            "wordings-MAX_NUM_FORMS": "4",
            "wordings-0-language": "en",
            "wordings-0-title": "Future events",
            "wordings-0-text": "Keep me for the next course.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    second = PurposeVersion.objects.get(purpose=purpose, number=2)
    assert list(second.wordings.values_list("language", "text")) == [("en", "Keep me for the next course.")]

    first = PurposeVersion.objects.get(purpose=purpose, number=1)
    wording = first.wordings.get(language="en")
    client.post(
        f"/admin/consent/purposeversion/{first.pk}/change/",
        {
            "purpose": purpose.pk,
            "wordings-TOTAL_FORMS": "4",
            "wordings-INITIAL_FORMS": "4",
            "wordings-0-id": wording.pk,
            "wordings-0-language": "en",
            "wordings-0-title": "Changed",
            "wordings-0-text": "Changed",
        },
    )
    assert PurposeWording.objects.get(pk=wording.pk).text != "Changed"
