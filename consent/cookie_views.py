"""The portal's cookie banner and settings (issue 12, point 8), without JavaScript: the banner on
every public page (templates/consent/cookies/_banner.html, through consent.context_processors)
and the settings page post the same form to `choice`, which records what changed in the ledger
and keeps the choice in the signed first-party cookie. And /.well-known/gpc.json."""

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from trustcenter import ratelimit

from . import cookies
from .models import Channel

# Choices recorded from one connection in a minute (the portal's form and the API's alike).
CHOICE_WINDOW_SECONDS = 60


class CookieChoiceForm(forms.Form):
    """One of the banner's three buttons, the boxes ticked, and the page to go back to."""

    choice = forms.ChoiceField(
        choices=[
            (cookies.ACCEPT_ALL, gettext_lazy("Accept all")),
            (cookies.REJECT_ALL, gettext_lazy("Reject all")),
            (cookies.SAVE, gettext_lazy("Save my choices")),
        ],
        error_messages={
            "required": gettext_lazy("Choose one of the buttons: accept all, reject all or save my choices."),
            "invalid_choice": gettext_lazy(
                "Choose one of the buttons: accept all, reject all or save my choices."
            ),
        },
    )
    functional = forms.BooleanField(required=False)
    analytics = forms.BooleanField(required=False)
    marketing = forms.BooleanField(required=False)
    next = forms.CharField(required=False, max_length=2000)


def safe_next(request: HttpRequest, target: str) -> str:
    """`target` if it is a page of this site, else the cookie settings page: never another host."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("cookies:settings")


def _settings_page(
    request: HttpRequest, *, form: CookieChoiceForm | None = None, status: int = 200
) -> HttpResponse:
    site = cookies.portal_site()
    offer = cookies.portal_offer()
    choice = cookies.read_choice(request)
    gpc = cookies.gpc_requested(request.headers)
    if form is not None:
        checked = {category: bool(form.data.get(category)) for category in cookies.CONSENTED}
    else:
        checked = {category: bool(choice and choice.allows(category)) for category in cookies.CONSENTED}
    context = {
        "texts": cookies.BANNER_TEXTS,
        "gpc": gpc,
        "categories": cookies.form_categories(offer=offer, language=get_language(), checked=checked, gpc=gpc),
        "choice": choice,
        "inventory": cookies.inventory(site_id=site.pk) if site is not None else [],
        "form": form,
        "saved": request.GET.get("saved") == "1" and choice is not None,
        "next": reverse("cookies:settings") + "?saved=1",
    }
    return render(request, "consent/cookies/settings.html", context, status=status)


@require_GET
def cookie_settings(request: HttpRequest) -> HttpResponse:
    """Where a visitor changes their choice at any time, and reads what each cookie is for."""
    return _settings_page(request)


@require_POST
def cookie_choice(request: HttpRequest) -> HttpResponse:
    """Records the banner's answer: accept all, reject all, or the boxes ticked. Only what
    changes reaches the ledger; the choice is kept in the signed cookie, and the visitor goes
    back to the page they were on."""
    form = CookieChoiceForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, form=form, status=400)
    attempt = ratelimit.take_attempt(
        scope="cookie-choice",
        client_key=request.client_key,  # type: ignore[attr-defined]
        window_seconds=CHOICE_WINDOW_SECONDS,
        limit=settings.TRUSTCENTER_COOKIE_CHOICES_PER_MINUTE,
    )
    if not attempt.allowed:
        form.add_error(
            None, _("Too many choices were sent from your connection. Please try again in a minute.")
        )
        return _settings_page(request, form=form, status=429)
    gpc = cookies.gpc_requested(request.headers)
    offered = [each.category for each in cookies.offered_in(cookies.portal_offer(), get_language())]
    data = form.cleaned_data
    if not offered:  # nothing here needs consent: there is nothing to record
        return redirect(safe_next(request, data["next"]))
    answers = cookies.answers_for(
        action=data["choice"],
        offered=offered,
        checked=[category for category in cookies.CONSENTED if data[category]],
        gpc=gpc,
    )
    earlier = cookies.read_choice(request)
    recorded = cookies.record_cookie_choice(
        subject_id=earlier.subject if earlier else None, answers=answers, channel=Channel.WEB
    )
    choice = cookies.Choice(
        subject=recorded.subject.pk,
        answers={**(earlier.answers if earlier else {}), **answers},
        versions={**(earlier.versions if earlier else {}), **recorded.versions},
    )
    response = redirect(safe_next(request, data["next"]))
    cookies.set_choice_cookie(response, choice=choice, secure=request.is_secure())
    # The language cookie follows this choice on this very answer (trustcenter.middleware).
    request.cookie_choice = choice  # type: ignore[attr-defined]
    return response


@require_GET
def gpc_support(request: HttpRequest) -> JsonResponse:
    """The Global Privacy Control support resource (https://privacycg.github.io/gpc-spec/):
    this site honours the signal."""
    response = JsonResponse({"gpc": True, "lastUpdate": cookies.GPC_LAST_UPDATE})
    patch_cache_control(response, public=True, max_age=24 * 3600)
    return response
