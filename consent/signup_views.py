"""The public sign-up pages (issue 12, point 7): a form for the newsletter and one for an open
application to the recruitment database; the page that says to check one's e-mail; and the page
the e-mailed link opens, whose button (a POST: mail scanners that open links spend nothing)
confirms the sign-up."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from . import services
from .models import SignUpKind
from .signup_forms import NewsletterForm, RecruitmentForm

LANGUAGE_NAMES = dict(settings.LANGUAGES)
FORMS: dict[str, tuple[type[NewsletterForm | RecruitmentForm], str]] = {
    SignUpKind.NEWSLETTER: (NewsletterForm, "consent/signup/newsletter.html"),
    SignUpKind.RECRUITMENT: (RecruitmentForm, "consent/signup/recruitment.html"),
}
# The status of each page a link that confirms nothing opens.
LINK_PROBLEM_STATUS = {
    services.LinkProblem.FORGED: 404,
    services.LinkProblem.USED: 404,
    services.LinkProblem.EXPIRED: 410,
    services.LinkProblem.NOT_OFFERED: 404,
}


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


def _form_page(request, kind: str, form, offer: services.SignUpOffer, *, status: int = 200):
    context = {"form": form, "offer": offer, "hours": settings.TRUSTCENTER_SIGN_UP_HOURS}
    if kind == SignUpKind.RECRUITMENT:
        context["term"] = services.recruitment_database_term()
    return render(request, FORMS[kind][1], context, status=status)


def _not_offered(request, kind: str):
    """The sign-up is not offered in this language: the page says so, in it, and names the
    languages it is offered in."""
    elsewhere = []
    for code in services.sign_up_languages(kind=kind):
        with translation.override(code):
            elsewhere.append((code, LANGUAGE_NAMES[code], reverse(f"signup:{kind}")))
    return render(
        request, "consent/signup/not_offered.html", {"kind": kind, "elsewhere": elsewhere}, status=404
    )


def _too_many(form, seconds_left: int) -> None:
    form.add_error(
        None,
        _(
            "Too many sign-ups have been sent from your connection. Please try again in %(minutes)s "
            "minutes. Everything you typed is still here."
        )
        % {"minutes": _minutes(seconds_left)},
    )


def _sign_up_page(request, kind: str):
    form_class, _template = FORMS[kind]
    offer = services.sign_up_offer(kind=kind, language=request.LANGUAGE_CODE)
    if offer is None:
        return _not_offered(request, kind)
    if request.method != "POST":
        return _form_page(request, kind, form_class(), offer)
    # Past the connection's limit the form is given back as typed; its file is not even read.
    seconds_left = services.sign_up_limit_reached(client_key=request.client_key)
    if seconds_left is not None:
        form = form_class(request.POST)
        form.is_valid()
        _too_many(form, seconds_left)
        return _form_page(request, kind, form, offer, status=429)
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        services.count_refused_sign_up(client_key=request.client_key)
        return _form_page(request, kind, form, offer, status=400)
    try:
        services.sign_up(
            kind=kind, language=request.LANGUAGE_CODE, client_key=request.client_key, **form.sign_up_fields()
        )
    except services.TooManyRequests as refusal:
        _too_many(form, refusal.seconds_left)
        return _form_page(request, kind, form, offer, status=429)
    except services.SignUpNotOffered:
        return _not_offered(request, kind)
    except ValidationError as error:
        for name, refusals in error.message_dict.items():
            form.add_error(name if name in form.fields else None, refusals)
        if isinstance(form, RecruitmentForm):
            form.ask_for_the_file_again()
        return _form_page(request, kind, form, offer, status=400)
    # The same answer whether or not the address signed up before, or was sent a link at all.
    return redirect("signup:sent")


@never_cache
def newsletter(request):
    return _sign_up_page(request, SignUpKind.NEWSLETTER)


@never_cache
def recruitment(request):
    return _sign_up_page(request, SignUpKind.RECRUITMENT)


def _rescued_from_an_expired_form_token(kind: str):
    """An expired form token (trustcenter.views.csrf_failure): the form comes back filled in."""

    def rescue(request):
        offer = services.sign_up_offer(kind=kind, language=request.LANGUAGE_CODE)
        if offer is None:
            return _not_offered(request, kind)
        form = FORMS[kind][0](request.POST)
        form.is_valid()
        form.add_error(
            None,
            _(
                "Your sign-up was not sent because the page had been open too long. Everything you "
                "typed is still here: check it, choose any file again, and send it."
            ),
        )
        return _form_page(request, kind, form, offer, status=403)

    return rescue


newsletter.csrf_failure = _rescued_from_an_expired_form_token(SignUpKind.NEWSLETTER)  # type: ignore[attr-defined]
recruitment.csrf_failure = _rescued_from_an_expired_form_token(SignUpKind.RECRUITMENT)  # type: ignore[attr-defined]


@require_GET
def sent(request):
    return render(request, "consent/signup/sent.html", {"hours": settings.TRUSTCENTER_SIGN_UP_HOURS})


def _link_refused(request, refusal: services.SignUpLinkRefused):
    return render(
        request,
        "consent/signup/link_refused.html",
        {"problem": refusal.problem, "kind": refusal.kind, "hours": settings.TRUSTCENTER_SIGN_UP_HOURS},
        status=LINK_PROBLEM_STATUS[refusal.problem],
    )


def _confirm_page(request, token: str, *, status: int = 200, wording_changed: bool = False):
    try:
        pending = services.pending_sign_up(token=token)
    except services.SignUpLinkRefused as refusal:
        return _link_refused(request, refusal)
    return render(
        request,
        "consent/signup/confirm.html",
        {"token": token, "pending": pending, "wording_changed": wording_changed},
        status=status,
    )


def _version_number(posted: str) -> int:
    """The wording version the confirmation page showed (0, matching none, if it is not one)."""
    return int(posted) if posted.isascii() and posted.isdigit() and len(posted) < 10 else 0


@never_cache
@sensitive_post_parameters("token")
def confirm(request):
    # A GET only shows the wording and a button. The token comes in the link's query string
    # (which no access log keeps) and goes back in the form's body.
    if request.method != "POST":
        return _confirm_page(request, request.GET.get("t", ""))
    token = request.POST.get("token", "")
    shown = request.POST.get("version", "")
    try:
        confirmed = services.confirm_sign_up(token=token, version=_version_number(shown))
    except services.SignUpLinkRefused as refusal:
        return _link_refused(request, refusal)
    except services.WordingChanged:
        return _confirm_page(request, token, status=409, wording_changed=True)
    return render(request, "consent/signup/confirmed.html", {"kind": confirmed.kind})
