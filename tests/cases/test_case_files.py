"""Stored files follow their rows: gone when the transaction that wrote them rolls back, and when
their case is deleted."""

import pytest

from cases import services
from cases.models import Attachment, Case, CaseMessage
from cases.uploads import Upload, identify_upload
from tests.factories import submit

pytestmark = pytest.mark.django_db


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return (
        sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
        if root.exists()
        else []
    )


def text_upload(data: bytes = b"notes") -> Upload:
    return Upload(name="notes.txt", data=data, kind=identify_upload(data))


class NoticeFailed(Exception):
    pass


def test_files_written_for_a_report_whose_transaction_rolls_back_are_removed(settings, monkeypatch):
    def fail(**kwargs):  # the last step inside the transaction, after the files were written
        raise NoticeFailed

    monkeypatch.setattr(services, "_enqueue_notice", fail)
    with pytest.raises(NoticeFailed):
        submit(uploads=[text_upload(), text_upload(b"more notes")])
    assert not Case.objects.exists() and not Attachment.objects.exists()
    assert stored_files(settings) == []


def test_files_of_a_follow_up_message_that_rolls_back_are_removed(settings, monkeypatch):
    case, _code = submit(uploads=[text_upload()])
    kept = stored_files(settings)
    assert len(kept) == 1

    def fail(*args, **kwargs):
        raise NoticeFailed

    monkeypatch.setattr(services.Case.objects, "filter", fail)  # the status update after the files
    with pytest.raises(NoticeFailed):
        services.add_reporter_message(
            case=case, client_key="reporter", message="More", uploads=[text_upload()]
        )
    monkeypatch.undo()
    assert CaseMessage.objects.filter(case=case).count() == 1
    assert stored_files(settings) == kept


def test_deleting_cases_deletes_their_files_once_the_deletion_commits(
    settings, django_capture_on_commit_callbacks
):
    doomed, _code = submit(uploads=[text_upload(), text_upload(b"second")])
    kept, _code = submit(uploads=[text_upload(b"kept")])
    kept_name = kept.attachments.get().file.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.delete_cases(case_ids=[doomed.pk]) == 1
    assert len(stored_files(settings)) == 3  # nothing removed before the commit
    for callback in callbacks:
        callback()
    assert stored_files(settings) == [kept_name]
    assert not Attachment.objects.filter(case_id=doomed.pk).exists()


def test_a_deletion_that_rolls_back_keeps_the_files(settings, django_capture_on_commit_callbacks):
    case, _code = submit(uploads=[text_upload()])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        try:
            from django.db import transaction

            with transaction.atomic():
                services.delete_cases(case_ids=[case.pk])
                raise NoticeFailed
        except NoticeFailed:
            pass
    assert callbacks == []  # Django drops on-commit work of a rolled-back transaction
    assert Case.objects.filter(pk=case.pk).exists()
    assert len(stored_files(settings)) == 1
