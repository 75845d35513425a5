"""The public sign-up forms (issue 12, point 7): the newsletter, and an open application to the
recruitment database with a CV. The CV is judged as a report's files are (cases.uploads: size,
content, every part of an office document) and must then be a document a CV can be."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from cases.forms import HoneypotForm
from cases.uploads import Upload, check_files

from . import services

# The browser's file picker offers these first; what is accepted is decided by content.
CV_ACCEPT = ",".join(
    [".pdf", ".docx", ".odt", *sorted(services.CV_CONTENT_TYPES)],
)


def _cv_help_text() -> str:
    return _("One file, up to %(size)s: %(types)s.") % {
        "size": filesizeformat(settings.TRUSTCENTER_MAX_FILE_BYTES),
        "types": services.cv_types_text(),
    }


class CVField(forms.FileField):
    """One file, checked by `cases.uploads.check_files` (size, kind by content, the parts of an
    office document) and then by what a CV may be; cleaned to an `Upload`."""

    widget = forms.FileInput

    def clean(self, data, initial=None) -> Upload:
        if not data:
            raise ValidationError(_("Please choose your CV."), code="required")
        [upload] = check_files([data])
        refusal = services.cv_refusal(upload)
        if refusal is not None:
            raise refusal
        return upload


def email_field() -> forms.EmailField:
    return forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class NewsletterForm(HoneypotForm):
    email = email_field()

    def sign_up_fields(self) -> dict:
        return {"email": self.cleaned_data["email"]}


class RecruitmentForm(HoneypotForm):
    full_name = forms.CharField(
        label=_("Your name"),
        max_length=services.MAX_NAME_CHARS,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = email_field()
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=services.MAX_PHONE_CHARS,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    skills = forms.CharField(
        label=_("Your skills and wishes"),
        max_length=services.MAX_SKILLS_CHARS,
        help_text=_("What you know and can do, and the kind of position and place you are looking for."),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    cv = CVField(
        label=_("Your CV"),
        help_text=lazy(_cv_help_text, str)(),
        widget=forms.FileInput(attrs={"accept": CV_ACCEPT}),
    )

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self._errors:
            self.ask_for_the_file_again()

    def ask_for_the_file_again(self) -> None:
        """A refused form comes back without its file (a browser never sends one back): says so
        at the CV field, naming the file, unless the field already says what is wrong with it."""
        chosen = [uploaded.name or "" for uploaded in self.files.getlist(self.add_prefix("cv"))]
        if chosen and "cv" not in self.errors:
            self.add_error(
                "cv",
                ValidationError(
                    _("Files are not kept when a form is refused. Choose them again: %(names)s.")
                    % {"names": ", ".join(chosen)},
                    code="choose_again",
                ),
            )

    def sign_up_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "email": data["email"],
            "full_name": data["full_name"],
            "phone": data["phone"],
            "skills": data["skills"],
            "cv": data["cv"],
        }
