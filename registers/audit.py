"""Audit-logging the registers and the retention configuration: who changed what, when, with the
values of every field the registry declares personal masked (cases.audit does the same for cases)."""

from auditlog.registry import auditlog
from django.db.models import Model

from . import registry


def register_declared(*models: type[Model]) -> None:
    for model in models:
        declaration = registry.declaration_for(model)
        masked = [name for name in (declaration.personal_fields if declaration else ()) if "__" not in name]
        if not auditlog.contains(model):
            auditlog.register(model, mask_fields=masked, mask_callable="cases.audit.mask")
