"""/<lang>/consent/: the self-service page and consent receipts."""

from django.urls import path

from . import views

app_name = "consent"
urlpatterns = [
    path("", views.request_link, name="request_link"),
    path("link/", views.link, name="link"),
    path("mine/", views.mine, name="mine"),
    path("mine/answer/", views.answer, name="answer"),
    path("leave/", views.leave, name="leave"),
    path("receipts/<int:event_id>/", views.receipt, name="receipt"),
    path("receipts/<int:event_id>/json", views.receipt_json, name="receipt_json"),
]
