import functools

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import fulfilment, receipts, selectors, services
from .downloads import attachment_download
from .forms import (
    CASE_TYPE_DESCRIPTIONS,
    ConfirmationCodeForm,
    ExportCodeForm,
    FollowUpCodeForm,
    FollowUpMessageForm,
    IdentityChoice,
    ProofCheckForm,
    ReceiptSavedForm,
    TrustMessageForm,
)
from .models import Case, CaseType

FOLLOWUP_SESSION_KEY = "followup_case_id"
# A message typed on the case page after its session ended, kept until the code is entered again.
DRAFT_SESSION_KEY = "followup_draft"


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


def _report_page(request, form, *, status=200, unknown_type=False):
    return render(
        request,
        "cases/report.html",
        {
            "form": form,
            "type_sections": [
                (value, label, CASE_TYPE_DESCRIPTIONS[value], form.question_fields(value))
                for value, label in CaseType.choices
            ],
            "unknown_type": unknown_type,
        },
        status=status,
    )


def _receipt_page(request, *, case: Case, code: str, saved_form=None, status=200):
    response = render(
        request,
        "cases/receipt.html",
        {
            "case": case,
            "grouped_code": receipts.group_code(code),
            "saved_form": saved_form or ReceiptSavedForm(initial={"receipt_code": code}),
        },
        status=status,
    )
    return response


def _too_many_messages(form, seconds_left: int) -> None:
    form.add_error(
        None,
        _(
            "Too many messages have been sent from your connection. Please try again in %(minutes)s "
            "minutes. Everything you typed is still here."
        )
        % {"minutes": _minutes(seconds_left)},
    )


def _add_service_errors(form, error: ValidationError) -> None:
    """What the service refused, at the form's fields where it can be shown, else above them."""
    for name, refusals in error.message_dict.items():
        form.add_error(name if name in form.fields else None, refusals)


def _checked_message_form(request, form_class):
    """A posted message form (report or follow-up), checked: the form, and the status to refuse
    it with (429 past the client's limit, 400 if invalid, and counted), or None if it is valid.

    Past the limit, files are not even looked at: what was typed comes back. (Without files the
    form costs little, and the service counts and refuses a message past the limit.)
    """
    seconds_left = services.message_limit_reached(client_key=request.client_key) if request.FILES else None
    if seconds_left is not None:
        form = form_class(request.POST)
        form.is_valid()
        _too_many_messages(form, seconds_left)
        return form, 429
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        services.count_refused_message(client_key=request.client_key)
        return form, 400
    return form, None


@never_cache
def report(request):
    if request.method != "POST":
        requested_type = request.GET.get("type", "")
        known = requested_type in CaseType.values
        form = TrustMessageForm(initial={"case_type": requested_type if known else None})
        return _report_page(request, form, unknown_type=bool(requested_type) and not known)

    form, refused_status = _checked_message_form(request, TrustMessageForm)
    if refused_status:
        return _report_page(request, form, status=refused_status)
    data = form.cleaned_data
    identified = data["identity"] == IdentityChoice.IDENTIFIED
    try:
        submitted = services.submit_case(
            client_key=request.client_key,
            case_type=data["case_type"],
            language=request.LANGUAGE_CODE,
            is_anonymous=not identified,
            subject_right=form.subject_right(),
            details=form.answers(),
            message=data["message"],
            uploads=data["attachments"],
            reporter_name=data["reporter_name"] if identified else "",
            reporter_email=data["reporter_email"] if identified else "",
            wants_notices=data["wants_notices"] if identified else False,
            submission_token=data["submission_token"],
            excluded_handler_ids=form.excluded_handler_ids(),
        )
    except services.AlreadySubmitted:
        return render(request, "cases/already_received.html", status=409)
    except services.TooManyMessages as refusal:
        _too_many_messages(form, refusal.seconds_left)
        return _report_page(request, form, status=429)
    except ValidationError as error:
        _add_service_errors(form, error)
        return _report_page(request, form, status=400)
    return _receipt_page(request, case=submitted.case, code=submitted.receipt_code)


def _report_csrf_failure(request):
    """An expired form token: the report form comes back with everything typed still in it."""
    form = TrustMessageForm(request.POST)
    form.is_valid()
    form.add_error(
        None,
        _(
            "Your message was not sent because the page had been open too long. Everything you "
            "typed is still here: check it, attach any files again, and send it."
        ),
    )
    return _report_page(request, form, status=403)


report.csrf_failure = _report_csrf_failure  # type: ignore[attr-defined]  # read by trustcenter.views


def _start_followup_session(request, case: Case) -> None:
    request.session.cycle_key()
    request.session[FOLLOWUP_SESSION_KEY] = case.pk


def _too_many_wrong_codes(request, seconds_left: int, form=None):
    return render(
        request,
        "cases/followup_login.html",
        {
            "form": form or FollowUpCodeForm(),
            "refusal": _("Too many wrong codes. Please try again in %(minutes)s minutes.")
            % {"minutes": _minutes(seconds_left)},
        },
        status=429,
    )


def with_posted_receipt_case(view):
    """For the receipt page's forms: the case named by the posted code, under the same limit."""

    @functools.wraps(view)
    @sensitive_post_parameters("receipt_code")
    def wrapper(request):
        try:
            case = services.open_case_with_code(
                typed_code=request.POST.get("receipt_code", ""), client_key=request.client_key
            )
        except services.TooManyWrongCodes as refusal:
            return _too_many_wrong_codes(request, refusal.seconds_left)
        if case is None:
            return redirect("cases:followup")
        return view(request, case)

    return wrapper


@never_cache
@require_POST
@with_posted_receipt_case
def receipt_saved(request, case: Case):
    form = ReceiptSavedForm(request.POST)
    if not form.is_valid():
        return _receipt_page(
            request,
            case=case,
            code=receipts.normalise_code(request.POST["receipt_code"]) or "",
            saved_form=form,
            status=400,
        )
    _start_followup_session(request, case)
    return redirect("cases:followup_case")


def _proof_download(case: Case) -> HttpResponse:
    proof = services.proof_of_submission(case=case)
    body = _(
        "Proof of submission\n\nReference: %(reference)s\nReceived: %(received)s (UTC)\nType: %(type)s\n"
        "Digest of what was sent (SHA-256): %(digest)s\n\nSigned proof (check it on %(check_url)s):\n%(proof)s\n"
    ) % {
        "reference": case.reference,
        "received": case.received_at.strftime("%Y-%m-%d %H:%M:%S"),
        "type": case.get_case_type_display(),
        "digest": case.content_digest,
        "check_url": settings.TRUSTCENTER_SITE_URL + reverse("cases:proof_check"),
        "proof": proof,
    }
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="proof-{case.reference}.txt"'
    return response


@never_cache
@require_POST
@with_posted_receipt_case
def receipt_proof(request, case: Case):
    return _proof_download(case)


@never_cache
@sensitive_post_parameters("receipt_code")
def followup(request):
    form = FollowUpCodeForm(request.POST or None)
    if request.method != "POST":
        return render(request, "cases/followup_login.html", {"form": form})
    if form.is_valid():
        try:
            case = services.open_case_with_code(
                typed_code=form.cleaned_data["receipt_code"], client_key=request.client_key
            )
        except services.TooManyWrongCodes as refusal:
            return _too_many_wrong_codes(request, refusal.seconds_left, form)
        if case is not None:
            _start_followup_session(request, case)
            if form.cleaned_data["draft"]:
                request.session[DRAFT_SESSION_KEY] = form.cleaned_data["draft"]
            return redirect("cases:followup_case")
        form.add_error(
            "receipt_code", _("We could not open a case with this code. Check the code and try again.")
        )
    return render(request, "cases/followup_login.html", {"form": form}, status=400)


def _followup_case_or_none(request) -> Case | None:
    return selectors.followup_case(case_id=request.session.get(FOLLOWUP_SESSION_KEY))


def _followup_case_page(request, case: Case, *, form=None, confirm_form=None, status=200):
    return render(
        request,
        "cases/followup_case.html",
        {
            "case": case,
            "case_messages": selectors.case_messages(case=case),
            "extension": selectors.answer_extension(case=case),
            "form": form
            or FollowUpMessageForm(initial={"message": request.session.pop(DRAFT_SESSION_KEY, "")}),
            "confirm_form": confirm_form or ConfirmationCodeForm(),
        },
        status=status,
    )


def _session_ended(request):
    """A message posted after the follow-up session ended is not lost: the code form keeps it."""
    form = FollowUpCodeForm(initial={"draft": request.POST.get("message", "")})
    return render(request, "cases/followup_login.html", {"form": form, "session_ended": True}, status=403)


@never_cache
def followup_case(request):
    case = _followup_case_or_none(request)
    if case is None:
        if request.method == "POST" and request.POST.get("message", "").strip():
            return _session_ended(request)
        return redirect("cases:followup")
    if request.method != "POST":
        return _followup_case_page(request, case)
    form, refused_status = _checked_message_form(request, FollowUpMessageForm)
    if refused_status:
        return _followup_case_page(request, case, form=form, status=refused_status)
    try:
        services.add_reporter_message(
            case=case,
            client_key=request.client_key,
            message=form.cleaned_data["message"],
            uploads=form.cleaned_data["attachments"],
            submission_token=form.cleaned_data["submission_token"],
        )
    except services.AlreadySubmitted:
        messages.info(request, _("This message had already been added to the case."))
        return redirect("cases:followup_case")
    except services.TooManyMessages as refusal:
        _too_many_messages(form, refusal.seconds_left)
        return _followup_case_page(request, case, form=form, status=429)
    except ValidationError as error:
        _add_service_errors(form, error)
        return _followup_case_page(request, case, form=form, status=400)
    messages.success(request, _("Your message has been added to the case."))
    return redirect("cases:followup_case")


def _followup_case_csrf_failure(request):
    """An expired form token on the case page: the page comes back with the message in it."""
    case = _followup_case_or_none(request)
    if case is None:
        return (
            _session_ended(request) if request.POST.get("message", "").strip() else redirect("cases:followup")
        )
    form = FollowUpMessageForm(request.POST)
    form.is_valid()
    form.add_error(
        None,
        _(
            "Your message was not sent because the page had been open too long. It is still here: "
            "attach any files again, and send it."
        ),
    )
    return _followup_case_page(request, case, form=form, status=403)


followup_case.csrf_failure = _followup_case_csrf_failure  # type: ignore[attr-defined]


@never_cache
def followup_attachment(request, attachment_id: int):
    case = _followup_case_or_none(request)
    if case is None:
        raise Http404
    return attachment_download(case=case, attachment_id=attachment_id)


@never_cache
def followup_proof(request):
    case = _followup_case_or_none(request)
    if case is None:
        return redirect("cases:followup")
    return _proof_download(case)


CONFIRMATION_ERRORS = {
    services.ConfirmationResult.WRONG: gettext_lazy("That code is not right. Please try again."),
    services.ConfirmationResult.EXPIRED: gettext_lazy("That code has expired. Ask for a new one below."),
    services.ConfirmationResult.TOO_MANY_TRIES: gettext_lazy(
        "Too many wrong codes. Ask for a new one below."
    ),
}


@never_cache
@require_POST
@sensitive_post_parameters("code")
def followup_confirm_email(request):
    case = _followup_case_or_none(request)
    if case is None:
        return redirect("cases:followup")
    form = ConfirmationCodeForm(request.POST)
    if form.is_valid():
        result = services.confirm_email_with_code(case=case, code=form.cleaned_data["code"])
        if result == services.ConfirmationResult.CONFIRMED:
            messages.success(request, _("Thank you: your e-mail address is confirmed."))
            return redirect("cases:followup_case")
        form.add_error("code", CONFIRMATION_ERRORS[result])
    return _followup_case_page(request, case, confirm_form=form, status=400)


@never_cache
@require_POST
def followup_resend_confirmation(request):
    case = _followup_case_or_none(request)
    if case is None:
        return redirect("cases:followup")
    try:
        services.resend_email_confirmation(case=case)
    except services.TooManyConfirmationCodes as refusal:
        messages.error(
            request,
            _("You have asked for many new codes. Please try again in %(minutes)s minutes.")
            % {"minutes": _minutes(refusal.seconds_left)},
        )
        return redirect("cases:followup_case")
    messages.success(request, _("We have sent you a new code."))
    return redirect("cases:followup_case")


@require_POST
def followup_leave(request):
    request.session.flush()
    return redirect("cases:followup")


@never_cache
@sensitive_post_parameters("token")
def confirm_email_link(request):
    # A GET only shows a button: mail scanners that open links must not confirm anything. The
    # token comes in the link's query string and goes back in the form's body.
    if request.method == "POST":
        case = services.confirm_email_with_link(token=request.POST.get("token", ""))
        return render(request, "cases/confirm_email_done.html", {"confirmed": case is not None})
    token = request.GET.get("t", "")
    if not token:
        return render(request, "cases/confirm_email_done.html", {"confirmed": False})
    return render(request, "cases/confirm_email.html", {"token": token})


def proof_check(request):
    form = ProofCheckForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = services.check_proof(proof=form.cleaned_data["proof"]) or False
        if result:
            result["case_type_label"] = dict(CaseType.choices).get(result.get("case_type"), "")
    return render(request, "cases/proof_check.html", {"form": form, "result": result})


# --- A requester's access export, behind the link in their e-mail (fulfilment) -------------------


def _export_gone(request):
    return render(request, "cases/export_gone.html", status=410)


def _stream_once(export):
    """The file, in chunks; deleted once sent, or when the response is closed early."""
    try:
        with export.file.open("rb") as stored:
            while chunk := stored.read(64 * 1024):
                yield chunk
    finally:
        fulfilment.delete_export_file(export_id=export.pk)


@never_cache
@sensitive_post_parameters("receipt_code", "token")
def export_download(request):
    """A GET shows the form only: a mail scanner that follows the link spends nothing. The POST
    with the case's receipt code spends the link and sends the file. The token comes in the
    link's query string, which no access log keeps, and goes back in the form's body."""
    token = request.POST.get("token", "") if request.method == "POST" else request.GET.get("t", "")
    if not token or fulfilment.export_for_link(token=token) is None:
        return _export_gone(request)
    form = ExportCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            export = fulfilment.spend_download(
                token=token, typed_code=form.cleaned_data["receipt_code"], client_key=request.client_key
            )
        except services.TooManyWrongCodes as refusal:
            form.add_error(
                None,
                _("Too many wrong codes. Please try again in %(minutes)s minutes.")
                % {"minutes": _minutes(refusal.seconds_left)},
            )
            return render(request, "cases/export_download.html", {"form": form, "token": token}, status=429)
        except fulfilment.WrongCode:
            form.add_error(
                "receipt_code", _("This is not the receipt code of the request. Check it and try again.")
            )
        except fulfilment.ExportRefused:
            return _export_gone(request)
        else:
            response = StreamingHttpResponse(_stream_once(export), content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="my-data-{export.case.reference}.zip"'
            return response
    if request.method == "POST":
        status = 400
    return render(request, "cases/export_download.html", {"form": form, "token": token}, status=status)
