"""The consent self-service pages (issue 12, points 1, 4 and 6): the form that mails a link, the
link's page, the person's consents, and the receipt of each of their events."""

import functools
import time

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import AnswerForm, LinkRequestForm
from .models import ConsentAction, Purpose

# The self-service session: the address a spent link opened, and until when (a fixed time from
# the link's use, whatever the session's own age).
SESSION_KEY = "consent_self_service"

LINK_REFUSALS = {
    services.LinkState.EXPIRED: 410,
    services.LinkState.SPENT: 410,
    services.LinkState.BROKEN: 400,
}


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


def _self_service_email(request) -> str | None:
    opened = request.session.get(SESSION_KEY)
    if not isinstance(opened, dict):
        return None
    if opened.get("until", 0) <= time.time():
        del request.session[SESSION_KEY]
        return None
    return opened.get("email")


def self_service_required(view):
    """For the pages of a self-service session: the session's address, or the request form."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        had_session = SESSION_KEY in request.session
        email = _self_service_email(request)
        if email is None:
            if had_session:
                messages.info(request, _("Your time on your consents page ran out. Ask for a new link."))
            return redirect("consent:request_link")
        return view(request, email, *args, **kwargs)

    return wrapper


def _request_page(request, form, *, status=200):
    return render(
        request,
        "consent/request_link.html",
        {"form": form, "minutes": _minutes(settings.TRUSTCENTER_SELF_SERVICE_LINK_SECONDS)},
        status=status,
    )


@never_cache
def request_link(request):
    if request.method != "POST":
        return _request_page(request, LinkRequestForm())
    form = LinkRequestForm(request.POST)
    if not form.is_valid():
        return _request_page(request, form, status=400)
    try:
        services.request_self_service_link(
            email=form.cleaned_data["email"], language=request.LANGUAGE_CODE, client_key=request.client_key
        )
    except services.TooManyRequests as refusal:
        form.add_error(
            None,
            _("Many links have been asked for from your connection. Please try again in %(minutes)s minutes.")
            % {"minutes": _minutes(refusal.seconds_left)},
        )
        return _request_page(request, form, status=429)
    except ValidationError as error:
        form.add_error("email", error.messages)
        return _request_page(request, form, status=400)
    # The same page whether or not the address is known to the ledger, and whether or not a link
    # went out (an address's own limit): it names neither.
    return render(
        request,
        "consent/link_sent.html",
        {"minutes": _minutes(settings.TRUSTCENTER_SELF_SERVICE_LINK_SECONDS)},
    )


def _request_link_csrf_failure(request):
    """An expired form token: the form comes back with the address as typed."""
    form = LinkRequestForm(request.POST)
    form.is_valid()
    form.add_error(None, _("The page had been open too long. Please send the form again."))
    return _request_page(request, form, status=403)


request_link.csrf_failure = _request_link_csrf_failure  # type: ignore[attr-defined]  # read by trustcenter.views


def _link_refused(request, state: services.LinkState):
    return render(
        request,
        "consent/link_refused.html",
        {"state": state.value, "minutes": _minutes(settings.TRUSTCENTER_SELF_SERVICE_LINK_SECONDS)},
        status=LINK_REFUSALS[state],
    )


@never_cache
@sensitive_post_parameters("token")
def link(request):
    # A GET only shows a button and spends nothing: mail scanners open links. The token comes in
    # the link's query string and goes back in the form's body.
    if request.method == "POST":
        spent = services.spend_self_service_link(token=request.POST.get("token", ""))
        if spent.state is not services.LinkState.VALID:
            return _link_refused(request, spent.state)
        request.session.cycle_key()
        request.session[SESSION_KEY] = {
            "email": spent.email,
            "until": time.time() + settings.TRUSTCENTER_SELF_SERVICE_SESSION_SECONDS,
        }
        return redirect("consent:mine")
    token = request.GET.get("t", "")
    state = services.self_service_link_state(token=token)
    if state is not services.LinkState.VALID:
        return _link_refused(request, state)
    return render(request, "consent/link.html", {"token": token})


@never_cache
@self_service_required
def mine(request, email: str):
    return render(
        request,
        "consent/mine.html",
        {
            "email": email,
            "rows": selectors.self_service_rows(email=email, language=request.LANGUAGE_CODE),
            "history": selectors.self_service_history(email=email),
            # Consents whose records are kept for a time counted from the give: a renewal
            # (asked for by e-mail before that time ends) is a new give.
            "renewable": services.RENEWAL_PURPOSES,
        },
    )


@never_cache
@require_POST
@self_service_required
def answer(request, email: str):
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return render(request, "400.html", status=400)
    slug, action = form.cleaned_data["purpose"], form.cleaned_data["action"]
    try:
        event = services.answer_on_self_service(
            email=email,
            purpose=slug,
            action=action,
            version=form.cleaned_data["version"],
            language=request.LANGUAGE_CODE,
        )
    except services.NotOffered as error:
        raise Http404 from error
    except services.SelfServiceWordingChanged:
        messages.warning(
            request,
            _("The wording of “%(purpose)s” changed while the page was open. Read it again and answer.")
            % {"purpose": Purpose(slug).label},
        )
        return redirect("consent:mine")
    if event is None:
        messages.info(
            request,
            _("There was no consent to withdraw for “%(purpose)s”.") % {"purpose": Purpose(slug).label},
        )
    elif action == ConsentAction.GIVE:
        messages.success(
            request, _("Your consent to “%(purpose)s” is recorded.") % {"purpose": event.purpose}
        )
    else:
        messages.success(
            request, _("Your consent to “%(purpose)s” is withdrawn.") % {"purpose": event.purpose}
        )
    return redirect("consent:mine")


@require_POST
def leave(request):
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    messages.info(request, _("You have left your consents page."))
    return redirect("consent:request_link")


def _subject_receipt(email: str, event_id: int, language: str) -> tuple:
    """One of the person's events and its receipt (sealed into the chain first if it is not yet)."""
    event = selectors.subject_event(email=email, event_id=event_id)
    if event is None:
        raise Http404
    return event, selectors.consent_receipt(event=event, seal=services.seal_of(event), language=language)


@never_cache
@self_service_required
def receipt(request, email: str, event_id: int):
    event, data = _subject_receipt(email, event_id, request.LANGUAGE_CODE)
    return render(
        request,
        "consent/receipt.html",
        {
            "event": event,
            "receipt": data,
            "controller": data["piiControllers"][0],
            "purpose": data["services"][0]["purposes"][0],
        },
    )


@never_cache
@self_service_required
def receipt_json(request, email: str, event_id: int):
    event, data = _subject_receipt(email, event_id, request.LANGUAGE_CODE)
    response = JsonResponse(
        data,
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{event.pk}.json"'
    return response
