"""Issue point 3: the demo data bin/start loads holds cases of every type in several states, and
a staff login to see them with."""

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from cases import selectors
from cases.models import Case, CaseType

pytestmark = pytest.mark.django_db


def load_demo_data() -> str:
    output = io.StringIO()
    call_command("load_demo_data", stdout=output)
    return output.getvalue()


def staff_password(output: str) -> str:
    match = re.search(r"Staff login: staff / (\S+)", output)
    assert match, output
    return match.group(1)


def test_it_loads_cases_of_every_type_in_several_states():
    load_demo_data()
    assert set(Case.objects.values_list("case_type", flat=True)) == set(CaseType.values)
    assert Case.objects.values("status").distinct().count() > 1
    assert (
        Case.objects.filter(is_anonymous=True).exists() and Case.objects.filter(is_anonymous=False).exists()
    )


def test_each_receipt_code_it_prints_opens_its_case():
    output = load_demo_data()
    printed = re.findall(r"demo case (TC-\d{4}-\d{5}): receipt code (\d+)", output)
    assert len(printed) == Case.objects.count()
    for reference, code in printed:
        assert selectors.case_for_receipt_code(typed_code=code).reference == reference


def test_the_staff_login_it_prints_lets_staff_in():
    user = authenticate(username="staff", password=staff_password(load_demo_data()))
    assert user is not None and user.is_staff and user.is_active


def test_running_it_again_adds_no_cases_and_resets_the_staff_login():
    first = load_demo_data()
    cases = sorted(Case.objects.values_list("reference", "receipt_hash"))
    second = load_demo_data()
    assert sorted(Case.objects.values_list("reference", "receipt_hash")) == cases
    assert get_user_model().objects.filter(username="staff").count() == 1
    assert authenticate(username="staff", password=staff_password(second)) is not None
    assert authenticate(username="staff", password=staff_password(first)) is None
