import re

import pytest

from cases import services
from tests.factories import submit

pytestmark = pytest.mark.django_db


def test_leaving_the_receipt_needs_the_saved_confirmation_and_shows_the_code_again(client):
    case, code = submit()
    response = client.post("/en/report/receipt/", {"receipt_code": code})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Please confirm that you have saved your receipt code" in page
    assert " ".join(code[i : i + 4] for i in range(0, 20, 4)) in page
    assert "no-store" in response["Cache-Control"]


def test_confirming_the_receipt_opens_the_case_page(client):
    case, code = submit()
    response = client.post("/en/report/receipt/", {"receipt_code": code, "saved": "on"})
    assert response.status_code == 302 and response["Location"] == "/en/follow-up/case/"
    assert case.reference in client.get("/en/follow-up/case/").content.decode()


def test_a_forged_receipt_confirmation_opens_nothing(client):
    submit()
    response = client.post("/en/report/receipt/", {"receipt_code": "1" * 20, "saved": "on"})
    assert response["Location"] == "/en/follow-up/"
    assert "followup_case_id" not in client.session


def test_the_proof_of_submission_names_the_case_but_not_the_code(client):
    case, code = submit(message="What I reported")
    response = client.post("/en/report/proof/", {"receipt_code": code})
    text = response.content.decode()
    assert response["Content-Disposition"] == f'attachment; filename="proof-{case.reference}.txt"'
    assert case.reference in text and case.content_digest in text
    assert code not in text and "What I reported" not in text


def test_a_proof_checks_out_on_the_public_page_and_a_changed_one_does_not(client):
    case, _code = submit()
    proof = services.proof_of_submission(case=case)
    page = client.post("/en/proof/", {"proof": proof}).content.decode()
    assert "This proof is genuine" in page and case.reference in page and case.content_digest in page
    tampered = re.sub(r"^.", lambda m: "a" if m.group(0) != "a" else "b", proof)
    assert "This proof is not valid" in client.post("/en/proof/", {"proof": tampered}).content.decode()


def test_the_digest_changes_with_what_was_sent():
    first, _ = submit(message="one")
    second, _ = submit(message="two")
    third, _ = submit(message="one")
    assert first.content_digest != second.content_digest
    assert first.content_digest == third.content_digest


def test_a_proof_still_checks_out_after_the_secret_key_is_rotated(client, settings):
    case, _code = submit()
    old_key = settings.SECRET_KEY
    proof = services.proof_of_submission(case=case)
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50
    assert "This proof is not valid" in client.post("/en/proof/", {"proof": proof}).content.decode()
    settings.SECRET_KEY_FALLBACKS = [old_key]  # DJANGO_SECRET_KEY_FALLBACKS
    assert "This proof is genuine" in client.post("/en/proof/", {"proof": proof}).content.decode()
