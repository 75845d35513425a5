"""/<lang>/join/: sign-ups with double opt-in (the newsletter, the recruitment database)."""

from django.urls import path

from . import signup_views

app_name = "signup"
urlpatterns = [
    path("newsletter/", signup_views.newsletter, name="newsletter"),
    path("recruitment/", signup_views.recruitment, name="recruitment"),
    path("sent/", signup_views.sent, name="sent"),
    # The token is in the query string (?t=), which no access log keeps (gunicorn.conf.py).
    path("confirm/", signup_views.confirm, name="confirm"),
]
