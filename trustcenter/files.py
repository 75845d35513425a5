"""Stored files follow their rows: removed when the transaction that wrote them rolls back, and
when their record is deleted. Cases, retention and erasure all remove files through here."""

import logging
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.core.files.storage import Storage, default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


def random_file_name(*, folder: str, filename: str) -> str:
    """A random name under `folder` that keeps the file's extension (lower case, at most 8
    characters; "bin" without one): no person's name in a path or a log line."""
    extension = filename.rsplit(".", 1)[-1].lower()[:8] if "." in filename else "bin"
    return f"{folder}/{secrets.token_hex(16)}.{extension}"


def remove_files(*, names: Iterable[str], storage: Storage = default_storage) -> int:
    """Deletes the named files from the storage; returns how many it deleted.

    A file that cannot be deleted is logged by name (names are random, never a person's) and
    the others are still deleted: one stuck file must not keep the rest.
    """
    removed = 0
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
            removed += 1
        except OSError:
            logger.exception("Stored file %s could not be removed", name)
    return removed


def remove_files_on_commit(*, names: Iterable[str], storage: Storage = default_storage) -> None:
    """Deletes the files once the caller's transaction commits the deletion of their rows; if
    it rolls back, the rows and their files stay."""
    names = list(names)
    if names:
        transaction.on_commit(lambda: remove_files(names=names, storage=storage))


@contextmanager
def written_files_removed_on_error(storage: Storage = default_storage) -> Iterator[list[str]]:
    """Collects the names of files written inside the block; if the block raises (its
    transaction rolled back), removes them before the error goes on.

    Wrap the *outermost* transaction (`transaction.atomic(durable=True)` inside it): only then
    does an error leaving the block mean that no row refers to those files.
    """
    written: list[str] = []
    try:
        yield written
    except BaseException:
        remove_files(names=written, storage=storage)
        raise
