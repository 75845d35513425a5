import uuid

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from cases import services
from cases.models import CaseType


class StaffFactory(factory.django.DjangoModelFactory):
    """A staff account with no permission at all: it may log in to the admin and see nothing."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password("correct-horse-battery-staple")


class CaseHandlerFactory(StaffFactory):
    """A staff member with the rights to read and change cases, in every default team unless
    `teams` names some (CaseHandlerFactory(teams=["privacy"]))."""

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def case_permissions(self, create, extracted, **kwargs):
        self.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="cases", codename__in=["view_case", "change_case"]
            )
        )

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        in_teams(self, extracted if extracted is not None else list(services.DEFAULT_TEAMS))


def in_teams(user, team_slugs):
    """Puts a user in the named default teams (made where a test emptied the database)."""
    services.ensure_default_teams()
    services.add_to_teams(user=user, team_slugs=team_slugs)
    return user


# The answers each type requires (cases/questions.py): submit() gives them unless told otherwise.
REQUIRED_ANSWERS = {
    CaseType.PRIVACY_DEVIATION: {"data_involved": "Names", "ongoing": "no"},
    CaseType.SECURITY_INCIDENT: {"ongoing": "no"},
    CaseType.HSE: {"location": "Loading dock"},
    CaseType.COMPLAINT: {"processing_concerned": "Newsletters"},
}


def submit(**overrides):
    """A case sent through the real service, as the form sends it. Returns (case, receipt code).

    Each call comes from a client of its own, so that tests never meet the hourly limit unless
    they give a `client_key` of their choosing.
    """
    arguments = {
        "client_key": f"test-client-{uuid.uuid4().hex}",
        "case_type": CaseType.GENERAL_INQUIRY,
        "language": "en",
        "is_anonymous": True,
        "details": {},
        "message": "How long do you keep CVs?",
        "uploads": [],
    }
    arguments.update(overrides)
    if "details" not in overrides:
        arguments["details"] = dict(REQUIRED_ANSWERS.get(arguments["case_type"], {}))
    services.ensure_default_clock_policies()
    submitted = services.submit_case(**arguments)
    return submitted.case, submitted.receipt_code


def submit_subject_request(**overrides):
    """A confirmed requester's data-subject request (access), through the real service."""
    arguments = {
        "case_type": CaseType.SUBJECT_REQUEST,
        "is_anonymous": False,
        "subject_right": "access",
        "reporter_name": "Kari",
        "reporter_email": "kari@example.com",
    }
    arguments.update(overrides)
    return submit(**arguments)


def reply_as_staff(*, case, message: str, status=None, actor=None):
    """A staff member's reply (and status change) through the real service."""
    services.update_case(case=case, actor=actor or CaseHandlerFactory(), reply=message, status=status)


def confirmed_subject_request(**overrides):
    """A data-subject request whose requester has confirmed their address (as the e-mail's code
    or link would), ready to be fulfilled. Returns (case, receipt code)."""
    from django.utils import timezone

    from cases.models import Case

    case, code = submit_subject_request(**overrides)
    Case.objects.filter(pk=case.pk).update(email_confirmed_at=timezone.now())
    case.refresh_from_db()
    return case, code
