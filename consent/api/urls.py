"""/api/v1/consent/: the consent API for the company's other systems (system_urls) and the
cookie banner of the company's other web sites (cookie_urls)."""

from django.urls import include, path

app_name = "consent_api"
urlpatterns = [
    path("cookies/", include("consent.api.cookie_urls")),
    path("", include("consent.api.system_urls")),
]
