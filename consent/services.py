"""Consent purposes and their wording (issue 12). Each change is one function with keyword-only
arguments and one transaction."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from .models import ConsentPurpose, PurposeVersion, PurposeWording


def next_version_number(*, purpose: ConsentPurpose) -> int:
    """The next version's number, with the purpose locked until the caller's transaction ends:
    two publishers at once get consecutive numbers, never the same one."""
    ConsentPurpose.objects.select_for_update().get(pk=purpose.pk)
    return (purpose.versions.aggregate(last=Max("number"))["last"] or 0) + 1


def publish_version(*, purpose: ConsentPurpose, wordings: dict[str, tuple[str, str]]) -> PurposeVersion:
    """Publishes the next version of a purpose's wording: `wordings` maps a language to its
    (title, text). Earlier versions stay as they were, so what an earlier consent agreed to
    never changes."""
    known = {code for code, _name in settings.LANGUAGES}
    if not wordings:
        raise ValidationError(_("A version needs its wording in at least one language."))
    for language, (title, text) in wordings.items():
        if language not in known:
            raise ValidationError(_("%(language)s is not a language of this site.") % {"language": language})
        if not title.strip() or not text.strip():
            raise ValidationError(_("Each language needs a title and a text."))
    with transaction.atomic():
        version = PurposeVersion.objects.create(purpose=purpose, number=next_version_number(purpose=purpose))
        PurposeWording.objects.bulk_create(
            PurposeWording(version=version, language=language, title=title.strip(), text=text.strip())
            for language, (title, text) in wordings.items()
        )
    return version
