"""What each case type asks, and which answers it needs: the one schema that the report form,
the services (and later the API's serializer) all read.

Pure data and pure checks: no forms, no ORM. Answers are kept in `Case.details` under the
question's name, dates as ISO text; a data-subject request's right is kept in `Case.subject_right`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise, StrPromise

from .models import CaseType, SubjectRight


class Kind(Enum):
    DATE = "date"  # a day in the past or today (ISO text in Case.details)
    LINE = "line"  # one line of text
    TEXT = "text"  # a few lines of text
    CHOICE = "choice"  # one of `choices`


ONGOING_CHOICES: "tuple[tuple[str, StrPromise], ...]" = (
    ("yes", _("Yes")),
    ("no", _("No")),
    ("unknown", _("I don't know")),
)


@dataclass(frozen=True)
class Question:
    name: str
    kind: Kind
    label: "StrPromise"
    required: bool = False
    help_text: "StrOrPromise" = ""
    max_length: int = 2000
    choices: "tuple[tuple[str, StrOrPromise], ...]" = field(default=())


# The one question whose answer is not kept in Case.details but in Case.subject_right.
SUBJECT_RIGHT = "subject_right"


def _when() -> Question:
    return Question(
        "occurred_on",
        Kind.DATE,
        _("When did it happen?"),
        help_text=_("An approximate date is fine. Leave empty if you don't know."),
    )


def _ongoing(name: str, label: "StrPromise", *, required: bool) -> Question:
    return Question(name, Kind.CHOICE, label, required=required, choices=ONGOING_CHOICES)


QUESTIONS: Mapping[str, tuple[Question, ...]] = {
    CaseType.SUBJECT_REQUEST: (
        Question(
            SUBJECT_RIGHT,
            Kind.CHOICE,
            _("Which right do you want to use?"),
            required=True,
            choices=tuple(SubjectRight.choices),
        ),
    ),
    CaseType.PRIVACY_DEVIATION: (
        _when(),
        Question(
            "data_involved",
            Kind.TEXT,
            _("What personal data is involved?"),
            required=True,
            help_text=_("For example names, e-mail addresses, health data."),
        ),
        _ongoing("ongoing", _("Is it still going on?"), required=True),
    ),
    CaseType.SECURITY_INCIDENT: (
        _when(),
        Question("systems_affected", Kind.TEXT, _("Which systems, devices or services are affected?")),
        _ongoing("ongoing", _("Is it still going on?"), required=True),
    ),
    CaseType.WHISTLEBLOWING: (
        _when(),
        Question(
            "persons_involved",
            Kind.TEXT,
            _("Who is involved?"),
            help_text=_("Names or roles, if you know them and want to tell us."),
        ),
        _ongoing("ongoing", _("Is it still going on?"), required=False),
    ),
    CaseType.HSE: (
        _when(),
        Question("location", Kind.TEXT, _("Where did it happen?"), required=True, max_length=500),
        _ongoing("anyone_hurt", _("Was anyone hurt?"), required=False),
    ),
    CaseType.COMPLAINT: (
        Question(
            "processing_concerned",
            Kind.TEXT,
            _("Which processing of personal data are you complaining about?"),
            required=True,
        ),
    ),
    CaseType.GENERAL_INQUIRY: (Question("topic", Kind.LINE, _("Topic"), max_length=200),),
}


def detail_questions(case_type: str) -> tuple[Question, ...]:
    """The questions whose answers go into Case.details (all but the subject right)."""
    return tuple(question for question in QUESTIONS[case_type] if question.name != SUBJECT_RIGHT)


def answer_errors(
    *, case_type: str, details: Mapping[str, object], subject_right: str, today: date
) -> dict[str, list[str]]:
    """What is wrong with a type's answers, by question name ("__all__" for the whole): empty if
    they may be stored. Answers as stored: dates as ISO text, choices as their values."""
    errors: dict[str, list[str]] = {}

    def refuse(name: str, message: "StrOrPromise") -> None:
        errors.setdefault(name, []).append(str(message))

    if case_type not in QUESTIONS:
        refuse("__all__", _("Choose one of the subjects in the list."))
        return errors
    known = {question.name for question in detail_questions(case_type)}
    for name in details:
        if name not in known:
            refuse("__all__", _("This subject does not ask that question: %(name)s.") % {"name": name})
    asks_for_right = case_type == CaseType.SUBJECT_REQUEST
    if asks_for_right and subject_right not in SubjectRight.values:
        refuse(SUBJECT_RIGHT, _("Please answer this question."))
    if not asks_for_right and subject_right:
        refuse(SUBJECT_RIGHT, _("Only a data-subject request names a right."))
    for question in detail_questions(case_type):
        value = details.get(question.name)
        if value in (None, ""):
            if question.required:
                refuse(question.name, _("Please answer this question."))
            continue
        if not isinstance(value, str):
            refuse(question.name, _("Enter text."))
        elif question.kind is Kind.DATE:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                refuse(question.name, _("Enter a valid date."))
            else:
                if day > today:
                    refuse(question.name, _("This date is in the future."))
        elif question.kind is Kind.CHOICE:
            if value not in {choice for choice, _label in question.choices}:
                refuse(question.name, _("Choose one of the answers in the list."))
        elif len(value) > question.max_length:
            refuse(
                question.name,
                _("Use at most %(limit)s characters.") % {"limit": question.max_length},
            )
    return errors
