"""The workspace's page of personal API tokens, /<lang>/staff/account/tokens/: thin views over
cases/api/tokens.py."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from cases.views import _add_service_errors
from trustcenter.staff_access import staff_member_required_2fa as staff_required

from . import tokens


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. the script that uses it."),
    )
    days = forms.IntegerField(label=gettext_lazy("Valid for (days)"), min_value=1, initial=30)
    code = forms.CharField(
        label=gettext_lazy("A code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=gettext_lazy("A new code: it proves that you still hold your second factor."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        maximum = settings.TRUSTCENTER_API_TOKEN_MAX_DAYS
        days = self.fields["days"]
        assert isinstance(days, forms.IntegerField)
        days.max_value = maximum
        days.validators.append(MaxValueValidator(maximum))
        days.widget.attrs["max"] = str(maximum)


class RevokeForm(forms.Form):
    token = forms.CharField(max_length=200)


def _page(request, form: TokenForm, *, status: int = 200):
    return render(
        request,
        "cases/staff/api_tokens.html",
        {
            "form": form,
            "tokens": tokens.tokens_of(user=request.user),
            "now": timezone.now(),
            "max_days": settings.TRUSTCENTER_API_TOKEN_MAX_DAYS,
        },
        status=status,
    )


@never_cache
@staff_required
def api_tokens(request):
    if request.method == "GET":
        return _page(request, TokenForm())
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, text = tokens.create_api_token(
                user=request.user,
                name=form.cleaned_data["name"],
                days=form.cleaned_data["days"],
                code=form.cleaned_data["code"],
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            # Shown on this answer alone (never_cache): the database keeps only its hash.
            return render(request, "cases/staff/api_token_created.html", {"token": token, "text": text})
    return _page(request, form, status=400)


@never_cache
@staff_required
def revoke_api_token(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = RevokeForm(request.POST)
    if form.is_valid() and tokens.revoke_api_token(user=request.user, token_id=form.cleaned_data["token"]):
        messages.success(request, _("The token was revoked: it no longer opens the API."))
    return redirect("staff:api_tokens")
