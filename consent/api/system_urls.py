"""/api/v1/consent/: the consent API for the company's other systems (consent/api/views.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("events/", views.Events.as_view(), name="events"),
    path("state/", views.State.as_view(), name="state"),
    path("history/", views.History.as_view(), name="history"),
]
