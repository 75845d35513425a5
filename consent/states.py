"""The current state of a subject's consent for a purpose, derived from the ledger's events:
pure functions, no ORM (DESIGN.md §4). `services.record_consent` applies each event as it is
appended; `manage.py rebuild_consent_state` replays the whole ledger and compares."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

GIVE = "give"
WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Event:
    id: int
    action: str
    version_id: int
    occurred_at: datetime


@dataclass(frozen=True)
class State:
    version_id: int
    given_at: datetime | None
    withdrawn_at: datetime | None
    last_event_id: int


def order(event: Event) -> tuple[datetime, int]:
    """Events count in the order they happened; an import of earlier consents is placed where
    it happened, not where it was appended."""
    return (event.occurred_at, event.id)


def apply(state: State | None, event: Event) -> State:
    """The state after one more event, the latest so far. A give covers its own wording from its
    moment (a renewal restarts the clock); a withdrawal ends what was given and keeps its wording."""
    if event.action == GIVE:
        return State(event.version_id, event.occurred_at, None, event.id)
    if state is None:
        return State(event.version_id, None, event.occurred_at, event.id)
    return State(state.version_id, state.given_at, event.occurred_at, event.id)


def replay(events: Iterable[Event]) -> State | None:
    """The state a subject's events for one purpose lead to, whatever order they come in."""
    state = None
    for event in sorted(events, key=order):
        state = apply(state, event)
    return state
