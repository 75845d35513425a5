"""Fixed-window counters kept only in the cache, keyed by the hashed client (see middleware)."""

import time

from django.core.cache import cache


def _window_key(*, scope: str, client_key: str, window_seconds: int, now: float) -> str:
    return f"ratelimit:{scope}:{client_key}:{int(now // window_seconds)}"


def kept_seconds(window_seconds: int) -> int:
    """How long a count is kept, and so how long a refusal can last: its window and the next,
    since hits_so_far reads the window before too."""
    return 2 * window_seconds


def count_hit(*, scope: str, client_key: str, window_seconds: int) -> int:
    """Counts one more hit in the current window and returns the count so far."""
    key = _window_key(scope=scope, client_key=client_key, window_seconds=window_seconds, now=time.time())
    # Two cache round trips either way. The key is kept for two windows because hits_so_far also
    # reads the previous one; it is only ever counted in its own window, so it cannot expire
    # between the check and the increment.
    try:
        return cache.incr(key)
    except ValueError:  # the first hit in this window
        if cache.add(key, 1, timeout=kept_seconds(window_seconds)):
            return 1
        return cache.incr(key)  # another request added it first


def hits_so_far(*, scope: str, client_key: str, window_seconds: int) -> int:
    """Hits in this window and the one before: any span of window_seconds lies within those two,
    so a limit checked against this sum holds for every such span, not only aligned ones."""
    now = time.time()
    keys = [
        _window_key(scope=scope, client_key=client_key, window_seconds=window_seconds, now=moment)
        for moment in (now, now - window_seconds)
    ]
    return sum(cache.get_many(keys).values())
