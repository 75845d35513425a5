"""The staff workspace under /<lang>/staff/: thin views over cases.services and cases.selectors.

Every view reads its case through `selectors.access_case` (403 otherwise); each action is one
POST to one service function. A form that fails comes back on the case page with what was typed.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from registers.exports import exported_records
from registers.registry import declarations
from registers.selectors import owning_declaration
from trustcenter.models import TeamMembership
from trustcenter.staff_access import staff_member_required_2fa as staff_required

from . import audit, fulfilment, questions, selectors, services
from .deadlines import ClockState, clock_state
from .downloads import staff_attachment_download
from .models import (
    Case,
    CaseClock,
    CaseEventKind,
    CaseStatus,
    CaseType,
    ClockKind,
    ClockPolicy,
    ExportStatus,
    IdentityKind,
)
from .staff_forms import (
    STAFF_STATUS_NAMES,
    AddClockForm,
    AssignForm,
    CollectForm,
    EraseForm,
    ExcludeHandlerForm,
    ExtendForm,
    NoteForm,
    ObjectionForm,
    PostponeDeletionForm,
    ProvenIdentityForm,
    QueueFilterForm,
    ReclassifyForm,
    RectifyForm,
    ReplyForm,
    RestrictForm,
    StatusForm,
    TriageForm,
    WithholdForm,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

QUEUE_PAGE_SIZES = (25, 50, 100)
QUEUE_PAGE_SIZE = 50
AUDIT_TRAIL_SHOWN = 100
QUEUE_COUNT_CAP = 1000


class QueuePaginator(Paginator):
    """Counts at most QUEUE_COUNT_CAP + 1 cases. A count of every open case grows with the table
    (it was half of the page's time at 100,000 cases, bench/queue.py); a queue past a thousand
    cases is narrowed with its filters rather than paged through to the end."""

    cap = QUEUE_COUNT_CAP

    @cached_property
    def count(self) -> int:
        cases = cast(QuerySet, self.object_list)
        return cases.order_by().values("pk")[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


# The staff action that meets each clock, as the case page says it.
MET_BY: dict[str, "StrPromise"] = {
    ClockKind.ACKNOWLEDGEMENT: gettext_lazy("The first reply to the reporter"),
    ClockKind.FEEDBACK: gettext_lazy("A reply marked as feedback"),
    ClockKind.BREACH_NOTIFICATION: gettext_lazy(
        "Notifying the supervisory authority, or recording why it is not notified"
    ),
    ClockKind.TRIAGE: gettext_lazy("Recording the triage"),
    ClockKind.ANSWER: gettext_lazy("A reply marked as the answer, or closing the case as answered"),
}

STATE_NAMES = {
    ClockState.OPEN: gettext_lazy("Running"),
    ClockState.AT_RISK: gettext_lazy("At risk"),
    ClockState.BREACHED: gettext_lazy("Breached"),
    ClockState.MET_ON_TIME: gettext_lazy("Met on time"),
    ClockState.MET_LATE: gettext_lazy("Met late"),
}


@dataclass
class ClockRow:
    clock: CaseClock
    state: ClockState
    state_name: str
    met_by: str

    @property
    def state_code(self) -> str:
        return self.state.value


def clock_row(clock: CaseClock, *, now: datetime) -> ClockRow:
    state = clock_state(now=now, due=clock.due_at, at_risk=clock.at_risk_at, met=clock.met_at)
    return ClockRow(
        clock=clock, state=state, state_name=str(STATE_NAMES[state]), met_by=str(MET_BY[clock.kind])
    )


@never_cache
@staff_required
def queue(request):
    now = timezone.now()
    data = request.GET.copy()
    data.setdefault("per_page", str(QUEUE_PAGE_SIZE))
    filters = QueueFilterForm(data, user=request.user)
    selection = filters.selection()
    cases = (
        selectors.queue(user=request.user, now=now, **selection)
        if selection is not None
        else Case.objects.none()
    )
    per_page = request.GET.get("per_page", "")
    size = int(per_page) if per_page.isdigit() and int(per_page) in QUEUE_PAGE_SIZES else QUEUE_PAGE_SIZE
    page = QueuePaginator(cases, size).get_page(request.GET.get("page"))
    team_names = selectors.team_names_by_type()
    rows = []
    for case in page.object_list:
        clocks = [clock_row(clock, now=now) for clock in case.running_clocks]
        rows.append(
            {
                "case": case,
                "team": team_names.get(case.case_type, ""),
                "status": STAFF_STATUS_NAMES.get(case.status, case.status),
                "clock": clocks[0] if clocks else None,
                "reminded": any(
                    row.clock.at_risk_reminded_at or row.clock.breached_reminded_at for row in clocks
                ),
                "waiting_for_requester": case.needs_email_confirmation,
            }
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/staff/queue.html",
        {"filters": filters, "page": page, "rows": rows, "query": query.urlencode()},
    )


def _report_answers(case: Case) -> list[tuple[str, str]]:
    """The report's answers labelled with the questions the form asked, in the reader's language."""
    answers = []
    if case.case_type == CaseType.SUBJECT_REQUEST and case.subject_right:
        answers.append((_("Which right do you want to use?"), case.get_subject_right_display()))
    for question in questions.detail_questions(case.case_type):
        value = case.details.get(question.name)
        if value in (None, ""):
            continue
        shown = str(dict(question.choices).get(value, value)) if question.choices else str(value)
        answers.append((str(question.label), shown))
    known = {question.name for question in questions.detail_questions(case.case_type)}
    # Answers to questions of the case's former type, after a reclassification.
    answers += [(name, str(value)) for name, value in case.details.items() if name not in known]
    return answers


def _history(case: Case) -> list[dict]:
    events = list(case.events.select_related("actor"))
    user_ids = {
        event.data.get(key)
        for event in events
        for key in ("from", "to", "handler")
        if event.kind in _NAMES_USERS
    }
    names = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(pk__in={pk for pk in user_ids if isinstance(pk, int)})
    }
    clock_names, type_names = dict(ClockKind.choices), dict(CaseType.choices)
    lines = []
    for event in events:
        data = event.data
        if event.kind in (CaseEventKind.STATUS_CHANGED, CaseEventKind.REOPENED_BY_REPORTER):
            detail = f"{STAFF_STATUS_NAMES.get(data.get('from'), '-')} → {STAFF_STATUS_NAMES.get(data.get('to'), '-')}"
        elif event.kind == CaseEventKind.ASSIGNED:
            detail = f"{names.get(data.get('from'), '-')} → {names.get(data.get('to'), '-')}"
        elif event.kind == CaseEventKind.HANDLER_EXCLUDED:
            detail = names.get(data.get("handler"), "-")
        elif event.kind == CaseEventKind.RECLASSIFIED:
            detail = f"{type_names.get(data.get('from'), '-')} → {type_names.get(data.get('to'), '-')}"
        elif "clock" in data:
            detail = str(clock_names.get(data["clock"], data["clock"]))
        else:
            detail = ""
        if event.kind == CaseEventKind.STATUS_CHANGED and data.get("outcome"):
            detail += f" ({Case(outcome=data['outcome']).get_outcome_display()})"
        lines.append({"event": event, "detail": detail})
    return lines


_NAMES_USERS = (CaseEventKind.ASSIGNED, CaseEventKind.HANDLER_EXCLUDED)


def _is_lead_for(user, case: Case) -> bool:
    return TeamMembership.objects.filter(
        user=user, is_lead=True, team__routings__case_type=case.case_type
    ).exists()


def _extendable(case: Case, clocks: list[CaseClock], now: datetime) -> bool:
    policy = ClockPolicy.objects.filter(
        case_type=case.case_type, kind=ClockKind.ANSWER, is_active=True
    ).first()
    return bool(
        policy
        and policy.extension_length
        and any(
            clock.kind == ClockKind.ANSWER
            and clock.met_at is None
            and clock.dropped_at is None
            and clock.extended_at is None
            and now < clock.due_at
            for clock in clocks
        )
    )


def _fulfilment(case: Case) -> dict | None:
    """The data-subject request panel: the requester's identities and what the latest collection
    found. None for other case types."""
    if case.case_type != CaseType.SUBJECT_REQUEST:
        return None
    collection = case.collections.select_related("collected_by").first()
    try:
        fulfilment.check_fulfillable(case=case)
        refusal = ""
    except ValidationError as error:
        refusal = " ".join(error.messages)
    lines = fulfilment.collection_lines(collection=collection) if collection else []
    erasure = case.erasures.first()
    return {
        "erasure": erasure,
        "erasure_lines": fulfilment.erasure_lines(erasure=erasure) if erasure else [],
        "refusal": refusal,
        "export": case.access_exports.first(),
        "identities": list(case.proven_identities.select_related("added_by")),
        "collection": collection,
        "lines": lines,
        "empty_registers": [
            line.name for line in lines if not (line.found or line.answered_elsewhere or line.unreachable)
        ],
    }


def _case_page(request, case: Case, *, bound: dict | None = None, status: int = 200, draft: str = ""):
    now = timezone.now()
    clocks = list(case.clocks.select_related("met_by", "added_by").order_by("dropped_at", "due_at"))
    running_kinds = {clock.kind for clock in clocks if clock.met_at is None and clock.dropped_at is None}
    forms = {
        "reply": ReplyForm(initial={"body": draft, "is_answer": True}) if draft else ReplyForm(),
        "note": NoteForm(),
        "assign": AssignForm(case=case, initial={"assignee": case.assignee_id}),
        "status": StatusForm(
            initial={"status": case.status, "outcome": case.outcome, "expected_status": case.status}
        ),
        "reclassify": ReclassifyForm(initial={"case_type": case.case_type}),
        "triage": TriageForm(initial={"severity": case.severity}),
        "add_clock": AddClockForm(),
        "extend": ExtendForm(),
        "exclude": ExcludeHandlerForm(case=case),
        "postpone": PostponeDeletionForm(),
        "identity": ProvenIdentityForm(initial={"kind": IdentityKind.EMAIL}),
        "collect": CollectForm(),
        "export": CollectForm(prefix="export"),
        "erase": EraseForm(),
        "objection": ObjectionForm(),
    }
    forms.update(bound or {})
    bound_names = set(bound or {})
    if ClockKind.ANSWER not in running_kinds:
        forms["reply"].fields.pop("is_answer", None)
    if ClockKind.FEEDBACK not in running_kinds:
        forms["reply"].fields.pop("is_feedback", None)
    trail = audit.case_audit_trail(case=case)
    context = {
        "case": case,
        "team": selectors.team_names_by_type().get(case.case_type, ""),
        "status_name": STAFF_STATUS_NAMES.get(case.status, case.status),
        "answers": _report_answers(case),
        "clocks": [clock_row(clock, now=now) for clock in clocks if clock.dropped_at is None],
        "dropped_clocks": [clock for clock in clocks if clock.dropped_at is not None],
        "case_messages": selectors.staff_case_messages(case=case),
        "history": _history(case),
        # Every view adds an entry: the page shows the latest, the admin's log holds them all.
        "audit_entries": trail[:AUDIT_TRAIL_SHOWN],
        "audit_total": trail.count(),
        "forms": forms,
        # A form sent back with its errors is shown even where it would not be offered now.
        "shows_triage": case.case_type == CaseType.SECURITY_INCIDENT
        or ClockKind.TRIAGE in running_kinds
        or "triage" in bound_names,
        "shows_extension": _extendable(case, clocks, now) or "extend" in bound_names,
        "is_lead": _is_lead_for(request.user, case) or "exclude" in bound_names,
        "time_zone": timezone.get_current_timezone_name(),
        "retention": selectors.case_retention(case=case),
        "fulfilment": _fulfilment(case),
    }
    from .breach_views import breach_context

    context.update(breach_context(case=case))
    return render(request, "cases/staff/case.html", context, status=status)


@never_cache
@staff_required
def case_detail(request, case_id: int):
    case = selectors.access_case(user=request.user, case_id=case_id)
    audit.record_case_view(case=case, user=request.user)
    # "Draft the answer": the reply form filled from what was done, for staff to edit and send.
    wants_draft = request.GET.get("draft") == "answer" and case.case_type == CaseType.SUBJECT_REQUEST
    return _case_page(request, case, draft=fulfilment.draft_answer(case=case) if wants_draft else "")


@never_cache
@staff_required
def attachment(request, case_id: int, attachment_id: int):
    case = selectors.access_case(user=request.user, case_id=case_id)
    return staff_attachment_download(case=case, attachment_id=attachment_id, user=request.user)


def _act(request, case_id: int, *, name: str, form, action, done: str):
    """One action on the case page: the form's data to one service call, then back to the case;
    what failed comes back on the page with what was typed (400)."""
    case = selectors.access_case(user=request.user, case_id=case_id)  # before the method: 403, not 405
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = form(case)
    if form.is_valid():
        try:
            action(case, form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        except services.StaleCase:
            form.add_error(None, _("Someone changed this case at the same moment: check it again."))
        except services.ExtensionRefused as refusal:
            form.add_error(None, refusal.message)
        except services.NotTeamLead:
            form.add_error(None, _("Only the team's lead may exclude a handler."))
        else:
            messages.success(request, done)
            return redirect("staff:case", case_id=case.pk)
    return _case_page(request, case, bound={name: form}, status=400)


@staff_required
def reply(request, case_id: int):
    return _act(
        request,
        case_id,
        name="reply",
        form=lambda case: ReplyForm(request.POST, request.FILES),
        action=lambda case, data: services.reply_to_reporter(
            case=case,
            actor=request.user,
            body=data["body"],
            uploads=data["attachments"],
            is_answer=data.get("is_answer", False),
            is_feedback=data.get("is_feedback", False),
        ),
        done=_("Your reply was sent. The reporter reads it at follow-up."),
    )


@staff_required
def note(request, case_id: int):
    return _act(
        request,
        case_id,
        name="note",
        form=lambda case: NoteForm(request.POST, request.FILES),
        action=lambda case, data: services.add_internal_note(
            case=case, actor=request.user, body=data["body"], uploads=data["attachments"]
        ),
        done=_("The internal note was added."),
    )


@staff_required
def assign(request, case_id: int):
    return _act(
        request,
        case_id,
        name="assign",
        form=lambda case: AssignForm(request.POST, case=case),
        action=lambda case, data: services.assign_case(
            case=case, actor=request.user, assignee=data["assignee"]
        ),
        done=_("The assignment was saved."),
    )


@staff_required
def status(request, case_id: int):
    return _act(
        request,
        case_id,
        name="status",
        form=lambda case: StatusForm(request.POST),
        action=lambda case, data: services.change_status(
            case=case,
            actor=request.user,
            status=data["status"],
            expected_status=data["expected_status"],
            outcome=data["outcome"] if data["status"] == CaseStatus.CLOSED else "",
        ),
        done=_("The status was saved."),
    )


@staff_required
def reclassify(request, case_id: int):
    return _act(
        request,
        case_id,
        name="reclassify",
        form=lambda case: ReclassifyForm(request.POST),
        action=lambda case, data: services.reclassify_case(
            case=case, actor=request.user, case_type=data["case_type"]
        ),
        done=_("The type was changed; the case runs the clocks of its new type."),
    )


@staff_required
def triage(request, case_id: int):
    return _act(
        request,
        case_id,
        name="triage",
        form=lambda case: TriageForm(request.POST),
        action=lambda case, data: services.record_triage(
            case=case, actor=request.user, severity=data["severity"], note=data["note"]
        ),
        done=_("The triage was recorded."),
    )


@staff_required
def add_clock(request, case_id: int):
    return _act(
        request,
        case_id,
        name="add_clock",
        form=lambda case: AddClockForm(request.POST),
        action=lambda case, data: services.add_clock(
            case=case, actor=request.user, kind=data["kind"], starts_at=data["starts_at"]
        ),
        done=_("The clock was added."),
    )


@staff_required
def extend(request, case_id: int):
    return _act(
        request,
        case_id,
        name="extend",
        form=lambda case: ExtendForm(request.POST),
        action=lambda case, data: services.extend_deadline(
            case=case, actor=request.user, reason=data["reason"]
        ),
        done=_("The deadline was extended, and the requester is told by e-mail."),
    )


@staff_required
def exclude_handler(request, case_id: int):
    return _act(
        request,
        case_id,
        name="exclude",
        form=lambda case: ExcludeHandlerForm(request.POST, case=case),
        action=lambda case, data: services.exclude_handler(
            case=case, actor=request.user, handler=data["handler"], reason=data["reason"]
        ),
        done=_("The handler was excluded from this case."),
    )


@staff_required
def postpone_deletion(request, case_id: int):
    return _act(
        request,
        case_id,
        name="postpone",
        form=lambda case: PostponeDeletionForm(request.POST),
        action=lambda case, data: services.postpone_deletion(
            case=case, actor=request.user, until=data["until"], reason=data["reason"]
        ),
        done=_("The case will be kept until the day you chose."),
    )


@staff_required
def add_identity(request, case_id: int):
    return _act(
        request,
        case_id,
        name="identity",
        form=lambda case: ProvenIdentityForm(request.POST),
        action=lambda case, data: fulfilment.add_proven_identity(
            case=case,
            actor=request.user,
            kind=data["kind"],
            value=data["value"],
            how_proven=data["how_proven"],
        ),
        done=_("The identity was added; the next collection looks for it too."),
    )


@staff_required
def collect(request, case_id: int):
    return _act(
        request,
        case_id,
        name="collect",
        form=lambda case: CollectForm(request.POST),
        action=lambda case, data: fulfilment.collect_subject_data(case=case, actor=request.user),
        done=_("What is held on the requester was collected."),
    )


@staff_required
def request_export(request, case_id: int):
    return _act(
        request,
        case_id,
        name="export",
        form=lambda case: CollectForm(request.POST, prefix="export"),
        action=lambda case, data: fulfilment.request_access_export(case=case, actor=request.user),
        done=_("The access export is being built; this page shows how far it has come."),
    )


def _export_of(request, case_id: int, export_id: int):
    case = selectors.access_case(user=request.user, case_id=case_id)
    export = case.access_exports.filter(pk=export_id).first()
    if export is None:
        raise Http404
    return case, export


def _review_page(request, case: Case, export, *, withhold_form=None, release_form=None, status: int = 200):
    contents = (
        fulfilment.export_contents(export=export)
        if export.file and export.status == ExportStatus.REVIEW
        else None
    )
    return render(
        request,
        "cases/staff/export_review.html",
        {
            "case": case,
            "export": export,
            "contents": contents,
            "withheld": list(export.withheld_items.select_related("withheld_by")),
            "withhold_form": withhold_form or WithholdForm(),
            "release_form": release_form or CollectForm(prefix="release"),
        },
        status=status,
    )


@never_cache
@staff_required
def export_review(request, case_id: int, export_id: int):
    case, export = _export_of(request, case_id, export_id)
    return _review_page(request, case, export)


@staff_required
def withhold(request, case_id: int, export_id: int):
    case, export = _export_of(request, case_id, export_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = WithholdForm(request.POST)
    if form.is_valid():
        try:
            fulfilment.withhold_item(export=export, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, _("The item is withheld; the export is being built again without it."))
            return redirect("staff:case", case_id=case.pk)
    return _review_page(request, case, export, withhold_form=form, status=400)


@staff_required
def release_export(request, case_id: int, export_id: int):
    case, export = _export_of(request, case_id, export_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CollectForm(request.POST, prefix="release")
    try:
        fulfilment.release_access_export(export=export, actor=request.user)
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _review_page(request, case, export, release_form=form, status=400)
    messages.success(request, _("The requester is sent a link to download the export, valid for 7 days."))
    return redirect("staff:case", case_id=case.pk)


@staff_required
def erase(request, case_id: int):
    return _act(
        request,
        case_id,
        name="erase",
        form=lambda case: EraseForm(request.POST),
        action=lambda case, data: fulfilment.erase_requester_data(case=case, actor=request.user),
        done=_("The requester's data was erased, except what is kept and why, as listed."),
    )


def _records_page(request, case: Case, *, rectify_form=None, status: int = 200):
    fulfilment.check_fulfillable(case=case)
    registers = []
    identities = fulfilment.requester_identities(case=case)
    for declaration in declarations():
        if owning_declaration(declaration) is not declaration or not declaration.personal_fields:
            continue
        exported = exported_records(declaration, identities)
        if exported:
            registers.append(
                {
                    "label": declaration.label,
                    "name": declaration.verbose_name_plural,
                    "records": exported,
                    "fields": fulfilment.rectifiable_fields(declaration),
                }
            )
    return render(
        request,
        "cases/staff/found_records.html",
        {
            "case": case,
            "registers": registers,
            "rectify_form": rectify_form or RectifyForm(),
            # What was typed into a correction that failed, given back in its record's form.
            "typed": {
                name: rectify_form.data.get(f"rectify-{name}", "")
                for name in ("register", "record_key", "field", "value")
            }
            if rectify_form is not None
            else {},
        },
        status=status,
    )


@never_cache
@staff_required
def found_records(request, case_id: int):
    case = selectors.access_case(user=request.user, case_id=case_id)
    try:
        return _records_page(request, case)
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
        return redirect("staff:case", case_id=case.pk)


def _record_action(request, case_id: int, *, form_class, action, done: str):
    case = selectors.access_case(user=request.user, case_id=case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(case, form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, done)
            return redirect("staff:found_records", case_id=case.pk)
    try:
        return _records_page(
            request, case, rectify_form=form if form_class is RectifyForm else None, status=400
        )
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
        return redirect("staff:case", case_id=case.pk)


@staff_required
def rectify(request, case_id: int):
    return _record_action(
        request,
        case_id,
        form_class=RectifyForm,
        action=lambda case, data: fulfilment.rectify_record(case=case, actor=request.user, **data),
        done=_("The record was corrected; the register's recipients are told."),
    )


@staff_required
def restrict(request, case_id: int):
    return _record_action(
        request,
        case_id,
        form_class=RestrictForm,
        action=lambda case, data: fulfilment.restrict_record(case=case, actor=request.user, **data),
        done=_("The record is restricted: only the privacy team sees it now."),
    )


@staff_required
def object_to_marketing(request, case_id: int):
    return _act(
        request,
        case_id,
        name="objection",
        form=lambda case: ObjectionForm(request.POST),
        action=lambda case, data: fulfilment.object_to_direct_marketing(case=case, actor=request.user),
        done=_(
            "The objection is recorded: marketing consents withdrawn, prospects erased, the address suppressed."
        ),
    )
