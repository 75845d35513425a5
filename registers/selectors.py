"""What the registry finds for a person (DESIGN.md §2): every declared record their address
names, and every record that belongs to one of those (a case's messages, a consent subject's
events). Access exports and erasure read this; nothing here knows a model by name."""

from django.db.models import Model, Q, QuerySet

from .registry import Declaration, declaration_for, declarations, normalise_email


def email_paths(declaration: Declaration) -> tuple[str, ...]:
    """The lookups from a declaration's model to a subject's address: its own, or its owner's
    through `part_of` (as many steps as it takes)."""
    if declaration.subject_email:
        return declaration.subject_email
    if not declaration.part_of:
        return ()
    owner: type[Model] = declaration.model
    for step in declaration.part_of.split("__"):
        owner = owner._meta.get_field(step).related_model  # type: ignore[assignment]
    owner_declaration = declaration_for(owner)
    if owner_declaration is None:
        return ()
    return tuple(f"{declaration.part_of}__{path}" for path in email_paths(owner_declaration))


def subject_records(*, email: str) -> list[tuple[Declaration, QuerySet]]:
    """Per declaration that can name a subject, the rows that name this address (compared as
    retention compares it)."""
    wanted = normalise_email(email)
    found = []
    for declaration in declarations():
        paths = email_paths(declaration)
        if not paths or not wanted:
            continue
        matches = Q()
        for path in paths:
            matches |= Q(**{f"{path}__iexact": wanted})
        found.append((declaration, declaration.model._default_manager.filter(matches)))
    return found
