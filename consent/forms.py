from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ConsentAction


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class AnswerForm(forms.Form):
    """One button of the self-service page: a give or a withdrawal, for one purpose, under the
    version of its wording the page showed."""

    purpose = forms.CharField(max_length=40)
    action = forms.ChoiceField(choices=ConsentAction.choices)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1)
