"""Downloads: a case's file as an HTTP download, for the reporter's pages and the staff's alike
(callers pass a case that came through their door: the follow-up session, or
`selectors.access_case`), and the cells of the CSV exports."""

from django.http import FileResponse, Http404

from . import audit, selectors
from .models import Case


def attachment_download(*, case: Case, attachment_id: int, internal_too: bool = False) -> FileResponse:
    """A case's file, always as a download (never shown inline), or 404 if not that case's
    (or, for the reporter, a file of an internal note)."""
    attachment = selectors.case_attachment(case=case, attachment_id=attachment_id, internal_too=internal_too)
    if attachment is None:
        raise Http404
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


def staff_attachment_download(*, case: Case, attachment_id: int, user) -> FileResponse:
    """A case's file for a staff member, the files of internal notes too, recorded in the audit
    log: the workspace's and the API's download alike."""
    response = attachment_download(case=case, attachment_id=attachment_id, internal_too=True)
    found = selectors.case_attachment(case=case, attachment_id=attachment_id, internal_too=True)
    if found is not None:
        audit.record_attachment_download(attachment=found, user=user)
    return response
