from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .models import CaseType, SubjectRight
from .uploads import ALLOWED_DESCRIPTION, UploadKind, identify_upload, strip_image_metadata

CASE_TYPE_DESCRIPTIONS = {
    CaseType.SUBJECT_REQUEST: _(
        "Use a right you have under the GDPR: to see, correct, delete, restrict or move the personal "
        "data we hold about you, to object to how we use it, or to withdraw a consent."
    ),
    CaseType.PRIVACY_DEVIATION: _(
        "Personal data has been lost, leaked, changed or seen by someone who should not see it, "
        "or is handled against the rules."
    ),
    CaseType.SECURITY_INCIDENT: _(
        "Something is wrong with information security: phishing, malware, a lost device, a weak "
        "spot in a system."
    ),
    CaseType.WHISTLEBLOWING: _(
        "Censurable conditions at the company, such as corruption, fraud, harassment or danger to "
        "life and health, also when employees are involved."
    ),
    CaseType.HSE: _(
        "Health, safety and the environment: an accident, a near miss, a dangerous situation or pollution."
    ),
    CaseType.COMPLAINT: _("You are unhappy with how we process personal data about you."),
    CaseType.GENERAL_INQUIRY: _("Any other question, for example about our privacy statement."),
}

ANONYMOUS_TYPES = {choice for choice in CaseType.values if choice != CaseType.SUBJECT_REQUEST}

ONGOING_CHOICES = [("yes", _("Yes")), ("no", _("No")), ("unknown", _("I don't know"))]


def _when() -> forms.DateField:
    return forms.DateField(
        label=_("When did it happen?"),
        help_text=_("An approximate date is fine. Leave empty if you don't know."),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


def _ongoing(label) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=ONGOING_CHOICES, widget=forms.RadioSelect, required=False)


def _text(label, help_text="", max_length=2000) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# What each type asks, and which answers it needs: (question, field, required). The answers are
# kept in Case.details under the question's name.
def type_questions() -> dict[str, list[tuple[str, forms.Field, bool]]]:
    return {
        CaseType.SUBJECT_REQUEST: [
            (
                "subject_right",
                forms.ChoiceField(
                    label=_("Which right do you want to use?"),
                    choices=SubjectRight.choices,
                    widget=forms.RadioSelect,
                    required=False,
                ),
                True,
            ),
        ],
        CaseType.PRIVACY_DEVIATION: [
            ("occurred_on", _when(), False),
            (
                "data_involved",
                _text(
                    _("What personal data is involved?"),
                    _("For example names, e-mail addresses, health data."),
                ),
                True,
            ),
            ("ongoing", _ongoing(_("Is it still going on?")), True),
        ],
        CaseType.SECURITY_INCIDENT: [
            ("occurred_on", _when(), False),
            ("systems_affected", _text(_("Which systems, devices or services are affected?")), False),
            ("ongoing", _ongoing(_("Is it still going on?")), True),
        ],
        CaseType.WHISTLEBLOWING: [
            ("occurred_on", _when(), False),
            (
                "persons_involved",
                _text(_("Who is involved?"), _("Names or roles, if you know them and want to tell us.")),
                False,
            ),
            ("ongoing", _ongoing(_("Is it still going on?")), False),
        ],
        CaseType.HSE: [
            ("occurred_on", _when(), False),
            ("location", _text(_("Where did it happen?"), max_length=500), True),
            ("anyone_hurt", _ongoing(_("Was anyone hurt?")), False),
        ],
        CaseType.COMPLAINT: [
            (
                "processing_concerned",
                _text(_("Which processing of personal data are you complaining about?")),
                True,
            ),
        ],
        CaseType.GENERAL_INQUIRY: [
            ("topic", forms.CharField(label=_("Topic"), max_length=200, required=False), False),
        ],
    }


def question_field_name(case_type: str, question: str) -> str:
    return f"{case_type}__{question}"


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    kind: UploadKind
    # An image's pixels alone, made while the form is checked, so that a picture that cannot be
    # decoded is refused at its field; kept in place of `data` if the reporter is anonymous.
    data_without_metadata: bytes | None = None
    metadata_removed: bool = False


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files, each checked by its content and size, and their sum against the limit."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        uploads, errors, total = [], [], 0
        for uploaded in files:
            if uploaded.size > settings.TRUSTCENTER_MAX_FILE_BYTES:
                errors.append(
                    ValidationError(
                        _("%(name)s is too large (%(size)s); the limit is %(limit)s a file.")
                        % {
                            "name": uploaded.name,
                            "size": filesizeformat(uploaded.size),
                            "limit": filesizeformat(settings.TRUSTCENTER_MAX_FILE_BYTES),
                        }
                    )
                )
                continue
            total += uploaded.size
            if total > settings.TRUSTCENTER_MAX_SUBMISSION_BYTES:
                continue  # reported once below; no need to read what cannot be accepted
            data_bytes = uploaded.read()
            try:
                kind = identify_upload(data_bytes)
                without_metadata = strip_image_metadata(data_bytes, kind) if kind.is_image else None
            except ValidationError as error:
                errors.append(ValidationError(f"{uploaded.name}: {' '.join(error.messages)}"))
                continue
            uploads.append(
                Upload(
                    name=uploaded.name[:255],
                    data=data_bytes,
                    kind=kind,
                    data_without_metadata=without_metadata,
                )
            )
        if total > settings.TRUSTCENTER_MAX_SUBMISSION_BYTES:
            errors.append(
                ValidationError(
                    _("Together the files are too large; the limit is %(limit)s.")
                    % {"limit": filesizeformat(settings.TRUSTCENTER_MAX_SUBMISSION_BYTES)}
                )
            )
        if errors:
            raise ValidationError(errors)
        return uploads


def attachments_field() -> AttachmentsField:
    return AttachmentsField(
        label=_("Attachments"),
        required=False,
        help_text=_("Several files allowed, up to %(file)s each and %(total)s together. Accepted: %(types)s.")
        % {
            "file": filesizeformat(settings.TRUSTCENTER_MAX_FILE_BYTES),
            "total": filesizeformat(settings.TRUSTCENTER_MAX_SUBMISSION_BYTES),
            "types": ALLOWED_DESCRIPTION,
        },
    )


def message_field(label) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=settings.TRUSTCENTER_MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 8}),
    )


class IdentityChoice:
    ANONYMOUS = "anonymous"
    IDENTIFIED = "identified"


class HoneypotForm(forms.Form):
    """A form that people send with a field hidden from them (templates/cases/_honeypot.html),
    which robots fill in."""

    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise ValidationError(_("This field must stay empty."))
        return ""


class TrustMessageForm(HoneypotForm):
    # Type-specific fields are hidden by CSS until their type is picked, so the browser must not
    # insist on them: every requirement is checked here, on the server.
    use_required_attribute = False

    case_type = forms.ChoiceField(
        label=_("What is your message about?"),
        choices=CaseType.choices,
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": _("Choose one of the subjects in the list."),
            "required": _("Choose what your message is about."),
        },
    )
    identity = forms.ChoiceField(
        label=_("Who are you?"),
        choices=[
            (IdentityChoice.ANONYMOUS, _("I want to stay anonymous")),
            (IdentityChoice.IDENTIFIED, _("I give my name and e-mail address")),
        ],
        widget=forms.RadioSelect,
        initial=IdentityChoice.ANONYMOUS,
    )
    reporter_name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    reporter_email = forms.EmailField(label=_("Your e-mail address"), max_length=254, required=False)
    wants_notices = forms.BooleanField(
        label=_("E-mail me when there is news on my case (the e-mail says only that there is news)"),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = type_questions()
        for case_type, questions in self.questions.items():
            for question, field, required in questions:
                if required:
                    field.label = format_lazy("{} {}", field.label, _("(required)"))
                self.fields[question_field_name(case_type, question)] = field
        self.fields["message"] = message_field(_("Your message"))
        self.fields["attachments"] = attachments_field()
        self.order_fields(["case_type"])

    def question_fields(self, case_type: str):
        return [
            self[question_field_name(case_type, question)] for question, _f, _r in self.questions[case_type]
        ]

    def _forget_hidden_fields(self, cleaned: dict, *, case_type: str | None, anonymous: bool) -> None:
        """What the page hides (other types' questions; name and e-mail when anonymous) is
        neither kept nor complained about: an error there could not be seen or fixed."""
        hidden = [
            question_field_name(other_type, question)
            for other_type, questions in self.questions.items()
            if other_type != case_type
            for question, _field, _required in questions
        ]
        if anonymous:
            hidden += ["reporter_name", "reporter_email", "wants_notices"]
        for name in hidden:
            cleaned.pop(name, None)
            self.errors.pop(name, None)

    def clean(self):
        cleaned = super().clean()
        case_type = cleaned.get("case_type")
        anonymous = cleaned.get("identity") == IdentityChoice.ANONYMOUS
        self._forget_hidden_fields(cleaned, case_type=case_type, anonymous=anonymous)
        if not case_type:
            return cleaned
        for question, _field, required in self.questions[case_type]:
            name = question_field_name(case_type, question)
            if required and not cleaned.get(name) and name not in self.errors:
                self.add_error(name, ValidationError(_("Please answer this question."), code="required"))
            value = cleaned.get(name)
            if question == "occurred_on" and value and value > timezone.localdate():
                self.add_error(name, _("This date is in the future."))
        if anonymous and case_type not in ANONYMOUS_TYPES:
            self.add_error(
                "identity",
                _(
                    "A data-subject request cannot be anonymous: we must confirm who you are before we "
                    "show or delete any data."
                ),
            )
        elif not anonymous:
            if not cleaned.get("reporter_name", "").strip():
                self.add_error("reporter_name", _("Please give your name, or choose to stay anonymous."))
            if not cleaned.get("reporter_email") and "reporter_email" not in self.errors:
                self.add_error(
                    "reporter_email", _("Please give your e-mail address, or choose to stay anonymous.")
                )
        return cleaned

    def answers(self) -> dict:
        """The chosen type's answers, as stored in Case.details (dates as ISO text)."""
        case_type = self.cleaned_data["case_type"]
        details = {}
        for question, _field, _required in self.questions[case_type]:
            value = self.cleaned_data.get(question_field_name(case_type, question))
            if value:
                details[question] = value.isoformat() if hasattr(value, "isoformat") else value
        return details


class FollowUpCodeForm(forms.Form):
    receipt_code = forms.CharField(
        label=_("Your receipt code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}),
    )
    # A message typed on the case page after its session ended, carried back to it (views.py).
    draft = forms.CharField(
        label=_("Your message, not sent yet"),
        required=False,
        max_length=settings.TRUSTCENTER_MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class FollowUpMessageForm(HoneypotForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["message"] = message_field(_("Your message"))
        self.fields["attachments"] = attachments_field()


class ReceiptSavedForm(forms.Form):
    receipt_code = forms.CharField(widget=forms.HiddenInput, max_length=40)
    saved = forms.BooleanField(
        label=_("I have written down or saved my receipt code"),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        error_messages={
            "required": _("Please confirm that you have saved your receipt code: you cannot see it again.")
        },
    )


class ConfirmationCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Confirmation code from the e-mail"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ProofCheckForm(forms.Form):
    proof = forms.CharField(
        label=_("Proof of submission"),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        max_length=4000,
    )
