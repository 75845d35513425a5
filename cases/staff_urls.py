from django.urls import path

from . import breach_views, dashboard_views, staff_views
from .api import token_views

app_name = "staff"
urlpatterns = [
    path("", staff_views.queue, name="queue"),
    path("cases/<int:case_id>/", staff_views.case_detail, name="case"),
    path("cases/<int:case_id>/files/<int:attachment_id>/", staff_views.attachment, name="attachment"),
    path("cases/<int:case_id>/reply/", staff_views.reply, name="reply"),
    path("cases/<int:case_id>/note/", staff_views.note, name="note"),
    path("cases/<int:case_id>/assign/", staff_views.assign, name="assign"),
    path("cases/<int:case_id>/status/", staff_views.status, name="status"),
    path("cases/<int:case_id>/type/", staff_views.reclassify, name="reclassify"),
    path("cases/<int:case_id>/triage/", staff_views.triage, name="triage"),
    path("cases/<int:case_id>/clocks/", staff_views.add_clock, name="add_clock"),
    path("cases/<int:case_id>/extension/", staff_views.extend, name="extend"),
    path("cases/<int:case_id>/exclusions/", staff_views.exclude_handler, name="exclude_handler"),
    path("cases/<int:case_id>/retention/", staff_views.postpone_deletion, name="postpone_deletion"),
    path("cases/<int:case_id>/identities/", staff_views.add_identity, name="add_identity"),
    path("cases/<int:case_id>/collection/", staff_views.collect, name="collect"),
    path("cases/<int:case_id>/exports/", staff_views.request_export, name="request_export"),
    path("cases/<int:case_id>/erasure/", staff_views.erase, name="erase"),
    path("cases/<int:case_id>/objection/", staff_views.object_to_marketing, name="object_to_marketing"),
    path("cases/<int:case_id>/records/", staff_views.found_records, name="found_records"),
    path("cases/<int:case_id>/records/rectify/", staff_views.rectify, name="rectify"),
    path("cases/<int:case_id>/records/restrict/", staff_views.restrict, name="restrict"),
    path("cases/<int:case_id>/exports/<int:export_id>/", staff_views.export_review, name="export_review"),
    path("cases/<int:case_id>/exports/<int:export_id>/withhold/", staff_views.withhold, name="withhold"),
    path(
        "cases/<int:case_id>/exports/<int:export_id>/release/",
        staff_views.release_export,
        name="release_export",
    ),
    path("account/tokens/", token_views.api_tokens, name="api_tokens"),
    path("account/tokens/revoke/", token_views.revoke_api_token, name="revoke_api_token"),
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/export.csv", dashboard_views.dashboard_csv, name="dashboard_csv"),
    path("breaches/", breach_views.register, name="breaches"),
    path("breaches/export.csv", breach_views.register_csv, name="breaches_csv"),
    path("cases/<int:case_id>/breach/facts/", breach_views.breach_facts, name="breach_facts"),
    path("cases/<int:case_id>/breach/decision/", breach_views.breach_decision, name="breach_decision"),
    path(
        "cases/<int:case_id>/breach/notification/",
        breach_views.breach_notification,
        name="breach_notification",
    ),
    path("cases/<int:case_id>/breach/subjects/", breach_views.breach_subjects, name="breach_subjects"),
]
