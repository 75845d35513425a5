from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("report/", views.report, name="report"),
    path("report/receipt/", views.receipt_saved, name="receipt_saved"),
    path("report/proof/", views.receipt_proof, name="receipt_proof"),
    path("follow-up/", views.followup, name="followup"),
    path("follow-up/case/", views.followup_case, name="followup_case"),
    path("follow-up/case/files/<int:attachment_id>/", views.followup_attachment, name="followup_attachment"),
    path("follow-up/case/proof/", views.followup_proof, name="followup_proof"),
    path("follow-up/case/confirm-email/", views.followup_confirm_email, name="followup_confirm_email"),
    path("follow-up/case/new-code/", views.followup_resend_confirmation, name="followup_resend_confirmation"),
    path("follow-up/leave/", views.followup_leave, name="followup_leave"),
    path("confirm/", views.confirm_email_link, name="confirm_email_link"),
    path("proof/", views.proof_check, name="proof_check"),
    path("my-data/", views.export_download, name="export_download"),
]
