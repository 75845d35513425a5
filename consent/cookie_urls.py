"""/<lang>/cookies/: the portal's cookie banner and settings, without JavaScript."""

from django.urls import path

from . import cookie_views

app_name = "cookies"
urlpatterns = [
    path("", cookie_views.cookie_settings, name="settings"),
    path("choice/", cookie_views.cookie_choice, name="choice"),
]
