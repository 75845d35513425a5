"""How long the outbox waits before it tries a failing e-mail again. Pure: no ORM, no clock."""

FIRST_WAIT_SECONDS = 60
LONGEST_WAIT_SECONDS = 6 * 3600


def backoff_seconds(attempt: int) -> int:
    """The wait after failed attempt number `attempt` (1, 2, ...): one minute, doubling each
    time, never more than six hours. Twelve attempts thus span about twenty hours."""
    if attempt < 1:
        raise ValueError(f"attempts are counted from 1, not {attempt}")
    # Capped before the power grows large: 2 ** 9 minutes is already past the longest wait.
    return min(FIRST_WAIT_SECONDS * 2 ** min(attempt - 1, 16), LONGEST_WAIT_SECONDS)
