"""Audit-logging the registers, the consent state and retention's holds: who changed what, when,
with the values of every field the registry declares personal masked (cases.audit does the same
for cases, whose entries follow the case door)."""

from auditlog.registry import auditlog
from django.db.models import Model

from . import registry

# The apps whose declared models are logged here; cases log their own (cases.audit), and the
# outbox's sends would only be noise.
LOGGED_APPS = ("registers", "consent", "retention")


def register(model: type[Model]) -> None:
    declaration = registry.declaration_for(model)
    masked = [name for name in (declaration.personal_fields if declaration else ()) if "__" not in name]
    if not auditlog.contains(model):
        auditlog.register(model, mask_fields=masked, mask_callable="cases.audit.mask")


def register_declared_models() -> None:
    for declaration in registry.declarations():
        # A declared model with nothing personal of its own (the consent ledger's events,
        # append-only and hash-chained: their own proof) has nothing for the log to add.
        if declaration.model._meta.app_label in LOGGED_APPS and declaration.personal_fields:
            register(declaration.model)
