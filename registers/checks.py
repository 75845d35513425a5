"""The registry's system check: a model that holds personal data and declares nothing, or a
declaration that names a field the model lacks, stops `manage.py check` (and so start-up, the
migrations and the tests). Third-party models count too: each is declared or exempted."""

import re

from django.apps import apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from . import registry

# CharFields whose name says they hold a person's name, phone number or address.
PERSONAL_NAME = re.compile(r"(^|_)(name|phone|mobile|address|email|e_mail)($|_)")


def looks_personal(field: models.Field) -> bool:
    """E-mail, name, phone, address, free text or a file: what the issue calls personal-data fields."""
    if isinstance(
        field, models.EmailField | models.FileField | models.TextField | models.GenericIPAddressField
    ):
        return True
    return isinstance(field, models.CharField) and bool(PERSONAL_NAME.search(field.name))


def personal_fields_of(model: type[models.Model]) -> list[str]:
    return [
        field.name
        for field in model._meta.get_fields()
        if isinstance(field, models.Field) and looks_personal(field)
    ]


def resolves(model: type[models.Model], path: str) -> bool:
    """Whether a lookup path (`event__ends_on`) names fields that exist."""
    current = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            found = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if index < len(parts) - 1:
            related = getattr(found, "related_model", None)
            if related is None or related == "self":
                return False
            current = related
    return True


@checks.register()
def check_registry(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models(include_auto_created=False):
        label = model._meta.label
        personal = personal_fields_of(model)
        declaration = registry.declaration_for(model)
        if declaration is None:
            if personal and not registry.is_exempt(label):
                errors.append(
                    checks.Error(
                        f"{label} holds personal data ({', '.join(personal)}) and is not in the registry.",
                        hint="Declare it with @registers.registry.personal_data(...) next to the model, "
                        "or exempt it with registers.registry.exempt(label, reason=...).",
                        obj=model,
                        id="registers.E001",
                    )
                )
            continue
        for path, where in declaration.named_fields():
            if not resolves(model, path):
                errors.append(
                    checks.Error(
                        f"{label}'s declaration names {path!r} in {where}, which the model does not have.",
                        obj=model,
                        id="registers.E002",
                    )
                )
        undeclared = sorted(set(personal) - set(declaration.personal_fields))
        if undeclared:
            errors.append(
                checks.Error(
                    f"{label} has personal-data fields its declaration does not list: {', '.join(undeclared)}.",
                    hint="Add them to personal_fields (and say how they are exported and erased).",
                    obj=model,
                    id="registers.E003",
                )
            )
        if not (declaration.retention or declaration.part_of or declaration.kept_because):
            errors.append(
                checks.Error(
                    f"{label}'s declaration says neither how long its records are kept nor why.",
                    obj=model,
                    id="registers.E004",
                )
            )
    for label in (exemption.label for exemption in registry.exemptions()):
        try:
            apps.get_model(label)
        except LookupError:
            errors.append(
                checks.Error(f"The registry exempts {label}, which is not installed.", id="registers.E005")
            )
    return errors
