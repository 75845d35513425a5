"""The REST API under /api/v1/: thin views over cases.services and cases.selectors, as the
workspace's pages (cases/staff_views.py) are. A case is read through `selectors.access_case`
(403 otherwise) and lists through `selectors.visible_cases`; the filters are checked by the
pages' own forms, so that both answer alike."""

from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import audit, selectors, services
from cases.breach_forms import BreachRegisterFilterForm
from cases.breach_views import REGISTER_PAGE_SIZE
from cases.dashboard_views import filtered_dashboard
from cases.downloads import staff_attachment_download
from cases.models import CaseStatus
from cases.staff_forms import QueueFilterForm
from cases.staff_views import QUEUE_PAGE_SIZE, QueuePaginator

from . import serializers as shapes

CLOCK_EXAMPLE = {
    "id": 90,
    "kind": "answer",
    "starts_at": "2026-03-02T09:00:00Z",
    "due_at": "2026-04-01T21:59:59Z",
    "at_risk_at": "2026-03-29T21:59:59Z",
    "met_at": None,
    "met_action": "",
    "first_due_at": None,
    "extended_at": None,
    "extension_reason": "",
}
MESSAGE_EXAMPLE = {
    "id": 311,
    "author": "staff",
    "staff_user": {"id": 7, "name": "Pia Privacy"},
    "body": "We have received your request and will answer within a month.",
    "created_at": "2026-03-03T08:15:00Z",
    "is_internal": False,
    "is_answer": False,
    "is_feedback": False,
    "attachments": [],
}
BREACH_EXAMPLE = {
    "case": 43,
    "reference": "TC-2026-00043",
    "aware_at": "2026-03-04T10:20:00Z",
    "nature": "A spreadsheet of salaries was e-mailed to an internal list.",
    "data_categories": "Names, salaries",
    "subjects_affected": 120,
    "effects": "Colleagues may learn each other's salaries.",
    "remedial_action": "The e-mail was recalled; the recipients were asked to delete it.",
    "decision": "notify",
    "reasons_not_to_notify": "",
    "decided_at": "2026-03-04T13:00:00Z",
    "subjects_informed": "informed",
    "subjects_not_informed_reason": "",
    "notifications": [
        {
            "authority": "NO",
            "notified_at": "2026-03-04T14:00:00Z",
            "authority_reference": "24/01234",
            "summary": "First notification; the number of recipients who opened it follows.",
            "delay_reasons": "",
        }
    ],
}


def _errors(form) -> ValidationError:
    return ValidationError({field: list(messages) for field, messages in form.errors.items()})


def _valid(input_class, request) -> dict:
    given = input_class(data=request.data)
    given.is_valid(raise_exception=True)
    return dict(given.validated_data)


# The service's own words for a handler who cannot see the case.
ASSIGNEE_REFUSED = _("Choose a handler of the team that handles this case.")


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="The errors, by field, in the caller's language."),
    401: OpenApiResponse(
        OpenApiTypes.OBJECT, description="No session or token, or a token that is not valid."
    ),
    403: OpenApiResponse(
        OpenApiTypes.OBJECT, description="Not allowed, or a case of a team not the caller's."
    ),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such page or file."),
    429: OpenApiResponse(OpenApiTypes.OBJECT, description="Too many requests: wait and try again."),
}
LIST_ERRORS = {code: ERRORS[code] for code in (400, 401, 403, 404, 429)}
CASE_ERRORS = {code: ERRORS[code] for code in (401, 403, 404, 429)}
ACTION_ERRORS = {
    **{code: ERRORS[code] for code in (400, 401, 403, 404, 429)},
    409: OpenApiResponse(OpenApiTypes.OBJECT, description="Someone changed the case at the same moment."),
}

CASE_EXAMPLE = {
    "id": 42,
    "reference": "TC-2026-00042",
    "case_type": "subject_request",
    "status": "in_progress",
    "outcome": "",
    "language": "nb",
    "is_anonymous": False,
    "received_at": "2026-03-02T09:00:00Z",
    "closed_at": None,
    "next_due_at": "2026-04-02T22:00:00Z",
    "assignee": {"id": 7, "name": "Pia Privacy"},
    "team": "Privacy",
    "waiting_for_requester": False,
}


class QueuePagination(PageNumberPagination):
    """The queue's pages: 25, 50 (the default) or 100 cases; the count stops past a thousand
    (a `count` of 1001 means "more than 1000"), as the workspace's."""

    django_paginator_class = QueuePaginator
    page_size = QUEUE_PAGE_SIZE
    page_size_query_param = "per_page"
    max_page_size = 100


class RegisterPagination(PageNumberPagination):
    django_paginator_class = Paginator
    page_size = REGISTER_PAGE_SIZE


class CaseList(GenericAPIView):
    serializer_class = shapes.CaseSummarySerializer
    pagination_class = QueuePagination

    @extend_schema(
        summary="The queue",
        description="The open cases of the caller's teams, nearest deadline first, with the "
        "workspace's filters and search.",
        parameters=[shapes.QueueQuery],
        responses={200: shapes.CaseSummarySerializer(many=True), **LIST_ERRORS},
        examples=[OpenApiExample("A page of the queue", value=CASE_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        data = request.query_params.copy()
        data.setdefault("per_page", str(QUEUE_PAGE_SIZE))
        filters = QueueFilterForm(data, user=request.user)
        selection = filters.selection()
        if selection is None:
            raise _errors(filters)
        cases = selectors.queue(user=request.user, now=timezone.now(), **selection)
        page = self.paginate_queryset(cases)
        rows = shapes.CaseSummarySerializer(
            page, many=True, context={"team_names": selectors.team_names_by_type()}
        )
        return self.get_paginated_response(rows.data)


class CaseView(APIView):
    """A view of one case: the door (`selectors.access_case`) answers before the method does, so
    a case the caller may not see is refused (403) whatever the method, as in the workspace."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        selectors.access_case(user=request.user, case_id=kwargs["case_id"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def options(self, request, *args, **kwargs):
        # DRF answers OPTIONS itself, with the view's description: through the door too.
        selectors.access_case(user=request.user, case_id=kwargs["case_id"])
        return super().options(request, *args, **kwargs)


class CaseDetail(CaseView):
    @extend_schema(
        summary="A case",
        responses={200: shapes.CaseSerializer, **CASE_ERRORS},
        description="Reading a case is recorded in the audit log, as opening its page is.",
        examples=[
            OpenApiExample(
                "A data-subject request",
                value={
                    **CASE_EXAMPLE,
                    "severity": "",
                    "subject_right": "access",
                    "details": {},
                    "reporter_name": "Kari Nordmann",
                    "reporter_email": "kari@example.com",
                    "clocks": [CLOCK_EXAMPLE],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        audit.record_case_view(case=case, user=request.user)
        return Response(
            shapes.CaseSerializer(case, context={"team_names": selectors.team_names_by_type()}).data
        )


class CaseMessages(CaseView):
    @extend_schema(
        summary="The conversation",
        description="Every message of the case, the team's internal notes included, oldest first.",
        responses={200: shapes.MessageSerializer(many=True), **CASE_ERRORS},
        examples=[OpenApiExample("A staff reply", value=[MESSAGE_EXAMPLE], response_only=True)],
    )
    def get(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        messages = selectors.staff_case_messages(case=case)
        return Response(shapes.MessageSerializer(messages, many=True).data)


class Reply(CaseView):
    @extend_schema(
        summary="Reply to the reporter",
        description="The reporter reads it at follow-up and is told by e-mail if they asked to be. "
        "Text only: replies with files are sent from the workspace.",
        request=shapes.ReplyInput,
        responses={201: shapes.MessageSerializer, **ACTION_ERRORS},
        examples=[
            OpenApiExample(
                "A reply that answers",
                value={"body": "Attached is the copy of your data you asked for.", "is_answer": True},
                request_only=True,
            ),
            OpenApiExample(
                "A field refused",
                value={"body": ["This field is required."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        data = _valid(shapes.ReplyInput, request)
        message = services.reply_to_reporter(
            case=case,
            actor=request.user,
            body=data["body"],
            is_answer=data["is_answer"],
            is_feedback=data["is_feedback"],
        )
        return Response(shapes.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class Note(CaseView):
    @extend_schema(
        summary="Add an internal note",
        description="For the team: the reporter never sees it, and it sends nothing. Text only.",
        request=shapes.NoteInput,
        responses={201: shapes.MessageSerializer, **ACTION_ERRORS},
        examples=[
            OpenApiExample("A note", value={"body": "Asked HR for the personnel file."}, request_only=True)
        ],
    )
    def post(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        data = _valid(shapes.NoteInput, request)
        message = services.add_internal_note(case=case, actor=request.user, body=data["body"])
        return Response(shapes.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class ChangeStatus(CaseView):
    @extend_schema(
        summary="Change the status",
        description="Closing needs an outcome; closing as answered meets the answer clock. With "
        "`expected_status`, a change made by someone else since is refused (409).",
        request=shapes.StatusInput,
        responses={204: None, **ACTION_ERRORS},
        examples=[
            OpenApiExample(
                "Close as answered",
                value={"status": "closed", "outcome": "answered", "expected_status": "in_progress"},
                request_only=True,
            )
        ],
    )
    def post(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        data = _valid(shapes.StatusInput, request)
        services.change_status(
            case=case,
            actor=request.user,
            status=data["status"],
            expected_status=data.get("expected_status"),
            outcome=data["outcome"] if data["status"] == CaseStatus.CLOSED else "",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class Assign(CaseView):
    @extend_schema(
        summary="Assign the case",
        description="To a handler of the team that handles it, or to no one (null).",
        request=shapes.AssignInput,
        responses={204: None, **ACTION_ERRORS},
        examples=[OpenApiExample("Assign", value={"assignee": 7}, request_only=True)],
    )
    def post(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        data = _valid(shapes.AssignInput, request)
        assignee = None
        if data["assignee"] is not None:
            # Whom the workspace's form offers: the handlers who can see the case.
            assignee = selectors.handlers_of_case(case=case).filter(pk=data["assignee"]).first()
            if assignee is None:
                raise ValidationError({"assignee": [ASSIGNEE_REFUSED]})
        services.assign_case(case=case, actor=request.user, assignee=assignee)
        return Response(status=status.HTTP_204_NO_CONTENT)


class Reclassify(CaseView):
    @extend_schema(
        summary="Change the type",
        description="The case runs the clocks of its new type; it may move to another team, and "
        "out of the caller's sight.",
        request=shapes.ReclassifyInput,
        responses={204: None, **ACTION_ERRORS},
        examples=[OpenApiExample("Reclassify", value={"case_type": "complaint"}, request_only=True)],
    )
    def post(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        data = _valid(shapes.ReclassifyInput, request)
        services.reclassify_case(case=case, actor=request.user, case_type=data["case_type"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class Extension(CaseView):
    @extend_schema(
        summary="Extend the answer deadline",
        description="Once, with a reason the requester reads, while the first period runs (art. 12(3)).",
        request=shapes.ExtensionInput,
        responses={200: shapes.ClockSerializer, **ACTION_ERRORS},
        examples=[
            OpenApiExample(
                "Extend",
                value={"reason": "The request covers ten years of records in three systems."},
                request_only=True,
            )
        ],
    )
    def post(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        data = _valid(shapes.ExtensionInput, request)
        clock = services.extend_deadline(case=case, actor=request.user, reason=data["reason"])
        return Response(shapes.ClockSerializer(clock).data)


class BreachDecisionView(CaseView):
    @extend_schema(
        summary="Decide whether to notify the supervisory authority",
        description="Not notifying needs the reasons; recording them meets the 72-hour clock.",
        request=shapes.BreachDecisionInput,
        responses={200: shapes.BreachSerializer, **ACTION_ERRORS},
        examples=[
            OpenApiExample(
                "Not to notify",
                value={
                    "decision": "not_notify",
                    "reasons_not_to_notify": "The laptop was encrypted and the key was not lost.",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, case_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        data = _valid(shapes.BreachDecisionInput, request)
        breach = services.decide_breach(
            case=case,
            actor=request.user,
            decision=data["decision"],
            reasons_not_to_notify=data["reasons_not_to_notify"],
        )
        return Response(shapes.BreachSerializer(breach).data)


class AttachmentDownload(CaseView):
    def perform_content_negotiation(self, request, force=False):
        # The file is what is asked for, whatever the Accept header says; an error is JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download a file of the case",
        description="Always as a download; recorded in the audit log, as in the workspace.",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **CASE_ERRORS},
    )
    def get(self, request, case_id: int, attachment_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        return staff_attachment_download(case=case, attachment_id=attachment_id, user=request.user)


class BreachList(GenericAPIView):
    serializer_class = shapes.BreachSerializer
    pagination_class = RegisterPagination

    @extend_schema(
        summary="The breach register",
        description="The breaches of the cases the caller may see, latest awareness first (art. 33(5)).",
        parameters=[shapes.BreachQuery],
        responses={200: shapes.BreachSerializer(many=True), **LIST_ERRORS},
        examples=[OpenApiExample("A breach notified", value=BREACH_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        filters = BreachRegisterFilterForm(request.query_params)
        if not filters.is_valid():
            raise _errors(filters)
        breaches = selectors.breach_register(user=request.user, **filters.cleaned_data)
        page = self.paginate_queryset(breaches)
        return self.get_paginated_response(shapes.BreachSerializer(page, many=True).data)


class Dashboard(APIView):
    @extend_schema(
        summary="The dashboard's figures",
        description="Of a month, a quarter, a year (each containing `day`, today if not given) or a "
        "custom range, for all of the caller's teams or one of them.",
        parameters=[shapes.DashboardQuery],
        responses={200: shapes.DashboardSerializer, **{code: ERRORS[code] for code in (400, 401, 403, 429)}},
        examples=[
            OpenApiExample(
                "A month",
                value={
                    "first_day": "2026-03-01",
                    "last_day": "2026-03-31",
                    "team": "",
                    "by_type": [
                        {
                            "case_type": "subject_request",
                            "received": 12,
                            "closed": 9,
                            "met_on_time": 8,
                            "met_late": 1,
                            "breached": 0,
                            "answers": 9,
                            "median_days": 11.5,
                            "p90_days": 24.0,
                            "open_states": {"breached": 0, "at_risk": 1, "open": 2, "none": 0},
                        }
                    ],
                    "open_totals": {"breached": 0, "at_risk": 1, "open": 2, "none": 0},
                    "rights": {"access": 8, "erasure": 4},
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        form, period, figures = filtered_dashboard(request)
        if figures is None:
            raise _errors(form)
        return Response(
            shapes.DashboardSerializer(
                {
                    "first_day": period.first_day,
                    "last_day": period.last_day,
                    "team": form.cleaned_data["team"],
                    "by_type": [
                        {
                            **vars(row),
                            "median_days": _days(row.median),
                            "p90_days": _days(row.p90),
                        }
                        for row in figures.by_type
                    ],
                    "open_totals": figures.open_totals,
                    "rights": figures.rights,
                }
            ).data
        )


def _days(duration) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 86400, 1)
