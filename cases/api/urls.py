"""/api/v1/: the staff workspace as JSON (cases/api/views.py), its schema and its Swagger UI."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views


class SwaggerUI(SpectacularSwaggerSplitView):
    """The docs page. GET only: DRF would answer OPTIONS with its metadata, which this view's
    HTML renderer has no template for (a 500)."""

    http_method_names = ["get", "head"]


app_name = "api"
urlpatterns = [
    path("cases/", views.CaseList.as_view(), name="cases"),
    path("cases/<int:case_id>/", views.CaseDetail.as_view(), name="case"),
    path("cases/<int:case_id>/messages/", views.CaseMessages.as_view(), name="messages"),
    path("cases/<int:case_id>/reply/", views.Reply.as_view(), name="reply"),
    path("cases/<int:case_id>/note/", views.Note.as_view(), name="note"),
    path("cases/<int:case_id>/status/", views.ChangeStatus.as_view(), name="status"),
    path("cases/<int:case_id>/assign/", views.Assign.as_view(), name="assign"),
    path("cases/<int:case_id>/type/", views.Reclassify.as_view(), name="reclassify"),
    path("cases/<int:case_id>/extension/", views.Extension.as_view(), name="extension"),
    path("cases/<int:case_id>/breach/decision/", views.BreachDecisionView.as_view(), name="breach_decision"),
    path(
        "cases/<int:case_id>/attachments/<int:attachment_id>/",
        views.AttachmentDownload.as_view(),
        name="attachment",
    ),
    path("breaches/", views.BreachList.as_view(), name="breaches"),
    path("dashboard/", views.Dashboard.as_view(), name="dashboard"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the site's CSP allows no inline script.
    path(
        "docs/",
        SwaggerUI.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
]
