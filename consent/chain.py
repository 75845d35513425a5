"""The consent ledger's hash chain: pure functions, no ORM (DESIGN.md §4).

Each event's digest is the SHA-256 of its own fields and the previous event's digest, in one
canonical form; changing, removing or reordering any event breaks every link after it. The
fields hold only the subject's random identifier, never what identifies a person, so that
erasing a person leaves the chain verifiable.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64


def chained_fields(
    *,
    subject: object,
    purpose: str,
    version: int,
    action: str,
    channel: str,
    occurred_at: datetime,
    actor: object | None,
) -> dict[str, str]:
    """What an event's digest covers, as text: identifiers, never an address."""
    return {
        "subject": str(subject),
        "purpose": purpose,
        "version": str(version),
        "action": action,
        "channel": channel,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": str(actor or ""),
    }


def event_digest(*, previous: str, fields: Mapping[str, str]) -> str:
    canonical = json.dumps(
        {"previous": previous, **fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    id: int
    previous: str
    digest: str
    fields: Mapping[str, str]


def first_broken_link(links: Iterable[Link]) -> int | None:
    """The id of the first event whose link does not hold (its fields changed, an event before
    it removed or changed, or the order changed), or None when the whole chain holds."""
    expected_previous = GENESIS
    for link in links:
        if (
            link.previous != expected_previous
            or event_digest(previous=link.previous, fields=link.fields) != link.digest
        ):
            return link.id
        expected_previous = link.digest
    return None
