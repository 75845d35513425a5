import secrets

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from . import questions, selectors, uploads
from .models import CaseType
from .uploads import ALLOWED_DESCRIPTION, check_files

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


def question_field(question: questions.Question) -> forms.Field:
    """The form field that asks a question of the schema (cases/questions.py)."""
    field: forms.Field
    if question.kind is questions.Kind.DATE:
        field = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    elif question.kind is questions.Kind.CHOICE:
        field = forms.ChoiceField(required=False, choices=question.choices, widget=forms.RadioSelect)
    elif question.kind is questions.Kind.LINE:
        field = forms.CharField(required=False, max_length=question.max_length)
    else:
        field = forms.CharField(
            required=False, max_length=question.max_length, widget=forms.Textarea(attrs={"rows": 2})
        )
    # Never required by the field: the page hides other types' questions, and the schema's
    # rules decide (TrustMessageForm.clean).
    field.label = question.label
    field.help_text = question.help_text
    return field


def question_field_name(case_type: str, question: str) -> str:
    return f"{case_type}__{question}"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files, judged by `uploads.check_files` (count, sizes, content, pixels together).

    Nothing is decoded here: the form decodes images (`uploads.decode_images`) once all its
    other fields are valid, so that an invalid report costs no decoding.
    """

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return check_files(files)


def attachments_field() -> AttachmentsField:
    return AttachmentsField(
        label=_("Attachments"),
        required=False,
        help_text=_("Up to %(count)s files, up to %(file)s each and %(total)s together. Accepted: %(types)s.")
        % {
            "count": settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION,
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


def new_submission_token() -> str:
    return secrets.token_urlsafe(24)


class MessageForm(HoneypotForm):
    """A message with files, sent once: the base of the report form and the follow-up form.

    Images are decoded (the costly part of checking them) only once everything else holds, and
    when the form is refused the attachments field names the files that must be chosen again,
    since a browser never sends them back.
    """

    # A hidden one-time token: the same form sent twice (a reload, a double click) is one message.
    submission_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["submission_token"].initial = new_submission_token
        self.fields["message"] = message_field(_("Your message"))
        self.fields["attachments"] = attachments_field()

    def full_clean(self):
        super().full_clean()
        if not self.is_bound:
            return
        if not self._errors and self.cleaned_data.get("attachments"):
            try:
                self.cleaned_data["attachments"] = uploads.decode_images(self.cleaned_data["attachments"])
            except ValidationError as error:
                self.add_error("attachments", error)
        chosen = [uploaded.name for uploaded in self.files.getlist(self.add_prefix("attachments"))]
        if self._errors and chosen:
            self.add_error(
                "attachments",
                ValidationError(
                    _("Files are not kept when a form is refused. Choose them again: %(names)s.")
                    % {"names": ", ".join(chosen)},
                    code="choose_again",
                ),
            )


# The whistleblowing team's handlers a reporter names as not to see the report.
EXCLUDED_HANDLERS = question_field_name(CaseType.WHISTLEBLOWING, "excluded_handlers")


class HandlerChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class TrustMessageForm(MessageForm):
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
        self.whistleblowing_handlers = selectors.handlers_of_type(case_type=CaseType.WHISTLEBLOWING)
        self.fields[EXCLUDED_HANDLERS] = HandlerChoiceField(
            queryset=self.whistleblowing_handlers,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            label=_("Is there anyone among those who handle these reports who must not see yours?"),
            help_text=_(
                "Tick anyone with a conflict of interest, for example someone your report is about. "
                "They will not see your report."
            ),
        )
        self.order_fields(["case_type"])

    def question_fields(self, case_type: str):
        fields = [
            self[question_field_name(case_type, question.name)] for question in questions.QUESTIONS[case_type]
        ]
        if case_type == CaseType.WHISTLEBLOWING and self.whistleblowing_handlers.exists():
            fields.append(self[EXCLUDED_HANDLERS])
        return fields

    def _forget_hidden_fields(self, cleaned: dict, *, case_type: str | None, anonymous: bool) -> None:
        """What the page hides (other types' questions; name and e-mail when anonymous) is
        neither kept nor complained about: an error there could not be seen or fixed."""
        hidden = [
            question_field_name(other_type, question.name)
            for other_type, type_questions in questions.QUESTIONS.items()
            if other_type != case_type
            for question in type_questions
        ]
        if case_type != CaseType.WHISTLEBLOWING:
            hidden.append(EXCLUDED_HANDLERS)
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
        # The schema's rules, the same the services apply (cases/questions.py), on the answers
        # whose fields could be read.
        problems = questions.answer_errors(
            case_type=case_type,
            details=self.answers(),
            subject_right=self.subject_right(),
            today=timezone.localdate(),
        )
        for question_name, messages in problems.items():
            name = question_field_name(case_type, question_name)
            if name not in self.errors:
                for message in messages:
                    self.add_error(name, ValidationError(message, code="invalid"))
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

    def _answer(self, question_name: str):
        return self.cleaned_data.get(question_field_name(self.cleaned_data["case_type"], question_name))

    def answers(self) -> dict:
        """The chosen type's answers, as stored in Case.details (dates as ISO text)."""
        details = {}
        for question in questions.detail_questions(self.cleaned_data["case_type"]):
            value = self._answer(question.name)
            if value:
                details[question.name] = value.isoformat() if hasattr(value, "isoformat") else value
        return details

    def excluded_handler_ids(self) -> tuple[int, ...]:
        return tuple(handler.pk for handler in self.cleaned_data.get(EXCLUDED_HANDLERS) or ())

    def subject_right(self) -> str:
        if self.cleaned_data["case_type"] != CaseType.SUBJECT_REQUEST:
            return ""
        return self._answer(questions.SUBJECT_RIGHT) or ""


# Every type's questions, made once from the schema like fields declared on the class: each form
# gets its own copies (Django copies base_fields), and a report costs no field construction.
for _case_type, _type_questions in questions.QUESTIONS.items():
    for _question in _type_questions:
        _field = question_field(_question)
        if _question.required:
            _field.label = format_lazy("{} {}", _field.label, _("(required)"))
        TrustMessageForm.base_fields[question_field_name(_case_type, _question.name)] = _field


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


class ExportCodeForm(forms.Form):
    """The second factor behind an access export's link: the receipt code of the request."""

    receipt_code = forms.CharField(
        label=_("Your receipt code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}),
    )


class FollowUpMessageForm(MessageForm):
    pass


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
