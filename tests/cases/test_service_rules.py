"""The services check what they are given and keep the limits themselves, whoever calls them
(the form today; the API, tasks and commands later)."""

import pytest
from django.core.exceptions import ValidationError

from cases import services
from cases.models import Case, CaseType
from cases.uploads import Upload, UploadKind, identify_upload
from tests import images
from tests.factories import submit, submit_subject_request

pytestmark = pytest.mark.django_db


def refused_fields(**overrides) -> set[str]:
    with pytest.raises(ValidationError) as refused:
        submit(**overrides)
    assert not Case.objects.exists()
    return set(refused.value.message_dict)


def test_it_refuses_an_unknown_case_type():
    assert refused_fields(case_type="gossip") == {"case_type"}


def test_it_refuses_an_anonymous_data_subject_request():
    assert "is_anonymous" in refused_fields(case_type=CaseType.SUBJECT_REQUEST, subject_right="access")


def test_a_data_subject_request_names_its_right_as_an_argument_of_its_own():
    assert refused_fields(
        case_type=CaseType.SUBJECT_REQUEST,
        is_anonymous=False,
        reporter_name="Kari",
        reporter_email="kari@example.com",
        details={"subject_right": "access"},
    ) == {"__all__", "subject_right"}
    case, _code = submit_subject_request()
    assert case.subject_right == "access" and case.details == {}


def test_only_a_data_subject_request_names_a_right():
    assert refused_fields(subject_right="erasure") == {"subject_right"}


def test_it_applies_the_question_schema_the_form_reads():
    assert refused_fields(case_type=CaseType.HSE, details={}) == {"location"}
    assert refused_fields(case_type=CaseType.HSE, details={"location": "Dock", "anyone_hurt": "maybe"}) == {
        "anyone_hurt"
    }
    assert refused_fields(case_type=CaseType.HSE, details={"location": "x" * 501}) == {"location"}
    assert refused_fields(
        case_type=CaseType.HSE, details={"location": "Dock", "occurred_on": "2999-01-01"}
    ) == {"occurred_on"}


def test_it_refuses_an_empty_message_an_unknown_language_and_a_bad_address():
    assert refused_fields(message="  ") == {"message"}
    assert refused_fields(language="fr") == {"language"}
    assert refused_fields(is_anonymous=False, reporter_name="Ola", reporter_email="not an address") == {
        "reporter_email"
    }


def test_it_identifies_every_file_again_and_does_not_trust_the_kind_it_is_told():
    forged = Upload(name="x.png", data=images.PDF, kind=UploadKind("image/png", "png"))
    with pytest.raises(ValidationError):
        submit(uploads=[forged])
    assert not Case.objects.exists()
    honest = Upload(name="x.pdf", data=images.PDF, kind=identify_upload(images.PDF))
    case, _code = submit(uploads=[honest])
    assert case.attachments.get().content_type == "application/pdf"


def test_the_message_limit_holds_for_any_caller(settings):
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 2
    for _ in range(2):
        submit(client_key="one-client")
    with pytest.raises(services.TooManyMessages) as refused:
        submit(client_key="one-client")
    assert refused.value.seconds_left > 0
    case = Case.objects.first()
    with pytest.raises(services.TooManyMessages):
        services.add_reporter_message(case=case, client_key="one-client", message="More", uploads=[])
    assert Case.objects.count() == 2
    submit(client_key="another-client")  # others are not held back


def test_invalid_submissions_count_against_the_limit_too(settings):
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 2
    for _ in range(2):
        with pytest.raises(ValidationError):
            submit(client_key="one-client", message="")
    with pytest.raises(services.TooManyMessages):
        submit(client_key="one-client")


def test_receipt_codes_are_counted_by_the_service_whoever_asks():
    case, code = submit()
    for wrong in range(5):
        assert services.open_case_with_code(typed_code=f"{wrong}" * 20, client_key="guesser") is None
    with pytest.raises(services.TooManyWrongCodes):
        services.open_case_with_code(typed_code=code, client_key="guesser")
    assert services.open_case_with_code(typed_code=code, client_key="the-reporter") == case


def test_new_confirmation_codes_are_capped_in_the_service(django_capture_on_commit_callbacks):
    case, _code = submit_subject_request()
    for _ in range(services.NEW_CONFIRMATION_CODES_PER_WINDOW):
        services.resend_email_confirmation(case=case)
    with pytest.raises(services.TooManyConfirmationCodes):
        services.resend_email_confirmation(case=case)
