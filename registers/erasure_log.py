"""The erasure log's copy outside the database (issue 13, point 4). The erasure log
(ErasedIdentity) and the suppression list (SuppressedAddress) live in the database, so a backup
from before an erasure, once restored, would have forgotten it together with the records. Each
keyed hash they gain is therefore also appended, once its transaction commits, as one JSON line
to the file TRUSTCENTER_ERASURE_LOG (default: var/erasure-log.jsonl in the data directory), which
is kept where a database restore does not roll it back. `reapply_erasures` reads it back first.

A line holds a keyed hash (registry.identity_digest), never an address or a number: {"digest",
"kind": "erased" or "suppressed", "case": the request's reference, "why": the suppression's
reason, "at": when, "lifted": true where the privacy team lifted it in the admin}.
"""

import fcntl
import json
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ErasedIdentity, SuppressedAddress

ERASED, SUPPRESSED = "erased", "suppressed"


def _path() -> Path:
    return Path(settings.TRUSTCENTER_ERASURE_LOG)


def _append(lines: list[dict]) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Appends from several processes stay whole lines: an exclusive lock around each write.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(descriptor, "a", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
        log.flush()
        os.fsync(log.fileno())


def record(
    *, kind: str, digests: list[str], case_reference: str = "", why: str = "", lifted: bool = False
) -> None:
    """Appends the hashes once the current transaction commits (nothing if it rolls back)."""
    if not digests:
        return
    at = timezone.now().isoformat()
    lines = [
        {"digest": digest, "kind": kind, "case": case_reference, "why": why, "at": at, "lifted": lifted}
        for digest in digests
    ]
    transaction.on_commit(partial(_append, lines))


def entries() -> Iterator[dict]:
    """The file's lines, oldest first; a line cut short (a crash mid-write) is passed over."""
    try:
        log = _path().open(encoding="utf-8")
    except FileNotFoundError:
        return
    with log:
        for text in log:
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(line, dict) and isinstance(line.get("digest"), str):
                yield line


def restore() -> int:
    """Makes the database's erasure log and suppression list what the file says, after a backup
    was restored: hashes it had forgotten put back, hashes lifted since taken out again. Returns
    how many rows were put back or taken out."""
    models = {ERASED: ErasedIdentity, SUPPRESSED: SuppressedAddress}
    latest: dict[tuple[str, str], dict] = {}
    for line in entries():
        if line.get("kind") in models:
            latest[(line["kind"], line["digest"])] = line  # the newest line of a hash decides
    changed = 0
    for (kind, digest), line in latest.items():
        rows = models[kind]._default_manager.filter(digest=digest)
        if line.get("lifted"):
            changed += rows.delete()[0]
        elif kind == ERASED:
            changed += ErasedIdentity.objects.get_or_create(
                digest=digest, defaults={"case_reference": str(line.get("case", ""))[:20]}
            )[1]
        elif line.get("why") in SuppressedAddress.Why.values:
            changed += SuppressedAddress.objects.get_or_create(digest=digest, defaults={"why": line["why"]})[
                1
            ]
    return changed
