"""/api/v1/consent/cookies/: the banner of the group's other web sites (consent/api/cookie_views.py)."""

from django.urls import path

from . import cookie_views

urlpatterns = [
    path("config/", cookie_views.CookieBannerConfig.as_view(), name="cookie_config"),
    path("choice/", cookie_views.CookieChoice.as_view(), name="cookie_choice"),
]
