"""The registry's system check (registers.checks.check_registry): the project passes it, and a
model that holds personal data without saying so, or a declaration that names what is not
there, stops `manage.py check`."""

import pytest
from django.apps import apps
from django.core import checks as django_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import models
from django.test.utils import isolate_apps

from registers import checks, registry
from registers.registry import Notice, Retention

NOTICE = Notice(
    purpose="Testing", legal_basis="None", data_subjects="Nobody", source="Tests", recipients="None"
)


class IsolatedModel(models.Model):
    """What the test models share: a label in an installed app and a text of their own."""

    class Meta:
        abstract = True
        app_label = "registers"

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


@pytest.fixture
def isolated_apps():
    """An app registry of the test's own: the models a test defines are in it and nowhere else."""
    with isolate_apps("registers") as isolated:
        yield isolated


@pytest.fixture
def isolated_registry(monkeypatch):
    """The registry's declarations and exemptions as they are, in copies a test may add to."""
    monkeypatch.setattr(registry, "_declarations", dict(registry._declarations))
    monkeypatch.setattr(registry, "_exemptions", dict(registry._exemptions))


def errors_about(model, isolated_apps, monkeypatch) -> list[django_checks.CheckMessage]:
    """The check's errors about one model, run over an app registry that holds only it."""
    monkeypatch.setattr(checks, "apps", isolated_apps)
    return [error for error in checks.check_registry() if error.obj is model]


def test_the_project_passes_the_check():
    assert checks.check_registry() == []
    call_command("check")  # raises SystemCheckError on any error


def test_the_check_is_registered_with_django():
    assert checks.check_registry in django_checks.registry.registry.get_checks()


def test_an_email_field_without_a_declaration_fails(isolated_registry, isolated_apps, monkeypatch):
    class Newsletter(IsolatedModel):
        address = models.EmailField()

    errors = errors_about(Newsletter, isolated_apps, monkeypatch)
    assert [error.id for error in errors] == ["registers.E001"]
    assert "address" in errors[0].msg


@pytest.mark.parametrize(
    "field",
    [
        models.CharField(max_length=100, name="contact_name"),
        models.CharField(max_length=100, name="phone"),
        models.CharField(max_length=100, name="postal_address"),
        models.TextField(name="notes"),
        models.FileField(name="document"),
        models.GenericIPAddressField(name="client"),
    ],
    ids=["name", "phone", "address", "free text", "file", "ip address"],
)
def test_every_kind_of_personal_field_needs_a_declaration(
    field, isolated_registry, isolated_apps, monkeypatch
):
    model = type("Holder", (IsolatedModel,), {"__module__": __name__, field.name: field})
    assert [error.id for error in errors_about(model, isolated_apps, monkeypatch)] == ["registers.E001"]


def test_an_exempt_model_passes_and_a_model_without_personal_fields_needs_nothing(
    isolated_registry, isolated_apps, monkeypatch
):
    class Mailbox(IsolatedModel):
        email = models.EmailField()

    class Counter(IsolatedModel):
        value = models.IntegerField()
        company = models.CharField(max_length=100)

    registry.exempt("registers.Mailbox", reason="A shared mailbox, not a person's.")
    isolated = isolated_apps
    assert errors_about(Mailbox, isolated, monkeypatch) == []
    assert errors_about(Counter, isolated, monkeypatch) == []


def test_a_declaration_naming_a_missing_field_fails(isolated_registry, isolated_apps, monkeypatch):
    class Applicant(IsolatedModel):
        email = models.EmailField()
        applied_on = models.DateField()

    registry.declare(
        Applicant,
        personal_fields=("email",),
        notice=NOTICE,
        retention=(Retention(category="applicants", clock="applied_at", clock_label="applied"),),
        subject_email=("email",),
        exported=("email", "cv"),
    )
    errors = errors_about(Applicant, isolated_apps, monkeypatch)
    assert sorted(error.id for error in errors) == ["registers.E002", "registers.E002"]
    messages = " ".join(error.msg for error in errors)
    assert "'applied_at' in retention.clock" in messages
    assert "'cv' in exported" in messages


def test_a_declaration_naming_a_missing_related_field_fails(isolated_registry, isolated_apps, monkeypatch):
    class Meeting(IsolatedModel):
        title = models.CharField(max_length=100)

    class Attendee(IsolatedModel):
        meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE)
        email = models.EmailField()

    registry.declare(
        Attendee,
        personal_fields=("email",),
        notice=NOTICE,
        retention=(Retention(category="attendees", clock="meeting__ends_on", clock_label="meeting end"),),
    )
    isolated = isolated_apps
    assert [error.id for error in errors_about(Attendee, isolated, monkeypatch)] == ["registers.E002"]


def test_an_undeclared_personal_field_fails(isolated_registry, isolated_apps, monkeypatch):
    class Visitor(IsolatedModel):
        email = models.EmailField()
        full_name = models.CharField(max_length=100)
        notes = models.TextField()

    registry.declare(Visitor, personal_fields=("email",), notice=NOTICE, kept_because="Tests")
    errors = errors_about(Visitor, isolated_apps, monkeypatch)
    assert [error.id for error in errors] == ["registers.E003"]
    assert "full_name" in errors[0].msg and "notes" in errors[0].msg


def test_a_declaration_that_says_neither_how_long_nor_why_fails(
    isolated_registry, isolated_apps, monkeypatch
):
    class Note(IsolatedModel):
        email = models.EmailField()

    registry.declare(Note, personal_fields=("email",), notice=NOTICE)
    errors = errors_about(Note, isolated_apps, monkeypatch)
    assert [error.id for error in errors] == ["registers.E004"]


def test_an_exemption_of_a_model_that_is_not_installed_fails(isolated_registry):
    registry.exempt("registers.NoSuchModel", reason="Gone.")
    assert [error.id for error in checks.check_registry()] == ["registers.E005"]


def test_the_check_stops_manage_py_check(isolated_registry):
    registry.exempt("registers.NoSuchModel", reason="Gone.")
    with pytest.raises(SystemCheckError):
        call_command("check")


def test_an_exemption_needs_a_reason(isolated_registry):
    with pytest.raises(ValueError):
        registry.exempt("registers.Anything", reason="  ")


def test_every_exemption_has_a_reason():
    assert registry.exemptions()
    for exemption in registry.exemptions():
        assert len(exemption.reason.strip()) >= 15, exemption


def test_every_model_with_personal_looking_fields_is_declared_or_exempt():
    undeclared = [
        model._meta.label
        for model in apps.get_models()
        if checks.personal_fields_of(model)
        and registry.declaration_for(model) is None
        and not registry.is_exempt(model._meta.label)
    ]
    assert undeclared == []


@pytest.mark.parametrize(
    "label",
    [
        "auth.User",
        "sessions.Session",
        "auditlog.LogEntry",
        "axes.AccessAttempt",
        "axes.AccessLog",
        "axes.AccessFailureLog",
        "trustcenter.ApiToken",
    ],
)
def test_third_party_models_are_declared_or_exempt_with_a_reason(label):
    apps.get_model(label)  # installed
    assert registry.is_exempt(label) or registry.declaration_for(apps.get_model(label)) is not None


@pytest.mark.parametrize(
    "label",
    [
        "registers.EventParticipant",
        "registers.Lead",
        "registers.Inquiry",
        "registers.CustomerContact",
        "registers.SupplierContact",
        "registers.JobApplication",
        "registers.RecruitmentEntry",
        "registers.AccountingRecord",
        "registers.VisitorRegistration",
        "cases.Case",
        "cases.CaseMessage",
        "cases.Attachment",
        "cases.EmailConfirmation",
        "trustcenter.OutboxMessage",
        "consent.ConsentState",
    ],
)
def test_the_models_the_issue_names_are_declared_with_a_notice(label):
    declaration = registry.declaration_for(apps.get_model(label))
    assert declaration is not None
    notice = declaration.notice
    for text in (notice.purpose, notice.legal_basis, notice.data_subjects, notice.source, notice.recipients):
        assert str(text).strip()
    assert declaration.retention or declaration.part_of or declaration.kept_because


def test_every_register_category_has_a_default_rule():
    from retention.defaults import DEFAULT_RULES

    assert set(registry.categories()) <= set(DEFAULT_RULES)
