import factory
from django.contrib.auth import get_user_model

from cases import services
from cases.models import CaseType


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password("correct-horse-battery-staple")


def submit(**overrides):
    """A case sent through the real service, as the form sends it. Returns (case, receipt code)."""
    arguments = {
        "case_type": CaseType.GENERAL_INQUIRY,
        "language": "en",
        "is_anonymous": True,
        "details": {},
        "message": "How long do you keep CVs?",
        "uploads": [],
    }
    arguments.update(overrides)
    submitted = services.submit_case(**arguments)
    return submitted.case, submitted.receipt_code
