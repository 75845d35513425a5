"""Fixed-window counters kept only in the cache, under keys that stop naming a client once their
window is over.

A counter's key is an HMAC of the client with a random secret made for its window. The secret
lives in the cache alone, for its window and the next (which still reads this window's counts),
and then expires with the counters: from then on nothing, not the site's SECRET_KEY nor a copy
of the cache, can tell which address a count belonged to. Trying every IPv4 address against a
key needs the window's secret, which is gone.
"""

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from dataclasses import dataclass, field

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache


@dataclass(frozen=True, repr=False)
class ClientKey:
    """The client a request came from, as rate limits count it: never printed, never stored.

    Its repr and str show nothing, so neither an error report nor a log line can hold the
    address, and it cannot be pickled, so it never reaches the cache or a session by mistake.
    """

    address: str

    @classmethod
    def from_address(cls, address: str) -> "ClientKey":
        """An IPv6 client usually holds a whole /64 and can pick a new address in it at will, so
        the /64 is what is counted."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return cls(address)
        if parsed.version == 6 and parsed.ipv4_mapped is None:
            return cls(str(ipaddress.ip_network(f"{parsed}/64", strict=False)))
        return cls(str(parsed))

    def __repr__(self) -> str:
        return "ClientKey(…)"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a client key is never stored")

    def __copy__(self) -> "ClientKey":
        return self

    def __deepcopy__(self, memo) -> "ClientKey":
        return self


def kept_seconds(window_seconds: int) -> int:
    """How long a count, and the secret that links it to a client, can live after a hit: its
    window and the next, since hits_so_far reads the window before too. It is also the longest
    a refusal can last."""
    return 2 * window_seconds


def _window_index(*, window_seconds: int, now: float) -> int:
    return int(now // window_seconds)


def _seconds_to_end_of_next_window(*, window_seconds: int, index: int, now: float) -> int:
    # Whole seconds (the cache's unit), rounded up: never less than the time left, and never
    # more than kept_seconds after the hit that made the key.
    return max(1, math.ceil((index + 2) * window_seconds - now))


def secret_name(*, window_seconds: int, index: int) -> str:
    return f"ratelimit:secret:{window_seconds}:{index}"


def _subject(client_key: "ClientKey | str") -> str:
    if isinstance(client_key, ClientKey):
        return f"client:{client_key.address}"
    if isinstance(client_key, str) and client_key:
        return f"name:{client_key}"
    # Anything else would turn into one shared bucket for every client, or fail later.
    raise TypeError(f"a rate limit counts a ClientKey or a non-empty name, not {type(client_key).__name__}")


def counter_name(*, scope: str, client_key: "ClientKey | str", window_secret: str, index: int) -> str:
    digest = hmac.new(
        window_secret.encode(), f"{scope}\n{_subject(client_key)}".encode(), hashlib.sha256
    ).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{index}"


def _window_secrets(*, window_seconds: int, now: float) -> tuple[str | None, str | None]:
    """The secrets of the current window and of the one before, where they exist."""
    index = _window_index(window_seconds=window_seconds, now=now)
    names = [secret_name(window_seconds=window_seconds, index=window) for window in (index, index - 1)]
    found = cache.get_many(names)
    return found.get(names[0]), found.get(names[1])


def _make_current_secret(*, window_seconds: int, now: float) -> str:
    """Makes the current window's secret. cache.add is atomic, so of processes racing to make
    it, one wins and the others read the winner's: all count under the same one."""
    index = _window_index(window_seconds=window_seconds, now=now)
    name = secret_name(window_seconds=window_seconds, index=index)
    timeout = _seconds_to_end_of_next_window(window_seconds=window_seconds, index=index, now=now)
    for _attempt in range(3):
        candidate = secrets.token_hex(32)
        if cache.add(name, candidate, timeout=timeout):
            return candidate
        made = cache.get(name)  # another process made it first
        if made is not None:
            return made
    raise RuntimeError("the cache keeps no rate-limit secret")


def _counts(*, scope: str, client_key: "ClientKey | str", window_seconds: int, now: float) -> tuple[int, int]:
    """Hits in the current window and in the one before (none in a window without a secret)."""
    index = _window_index(window_seconds=window_seconds, now=now)
    window_secrets = _window_secrets(window_seconds=window_seconds, now=now)
    names = [
        counter_name(scope=scope, client_key=client_key, window_secret=secret, index=window)
        if secret is not None
        else None
        for window, secret in zip((index, index - 1), window_secrets, strict=True)
    ]
    wanted = [name for name in names if name is not None]
    found = cache.get_many(wanted) if wanted else {}  # Redis refuses an MGET of no keys
    current, previous = (found.get(name, 0) if name is not None else 0 for name in names)
    return current, previous


def _increment(name: str, *, timeout: int, also_read: str | None) -> tuple[int, int]:
    """Counts one hit on the counter `name`, made with `timeout` if it is new, and reads the
    counter `also_read` (0 if there is none): (count now, the other count).

    On Redis this is one round trip, a MULTI of SET NX EX, INCR and GET: Django's cache API
    would take four (EXISTS and INCRBY for incr, SET NX for a new counter, GET), and the counter
    runs on every message and every receipt code. Django keeps integers in Redis as plain
    numbers, so the INCR and the GET agree with what cache.get and cache.decr see.
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    # Django gives its redis-py client no public accessor; get_client is how its own methods
    # reach it. Should a later Django move it, the cache API below still counts, only slower.
    get_client = getattr(getattr(backend, "_cache", None), "get_client", None)
    if isinstance(backend, RedisCache) and get_client is not None:
        key = backend.make_and_validate_key(name)
        client = get_client(key, write=True)
        pipeline = client.pipeline(transaction=True)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        if also_read is not None:
            pipeline.get(backend.make_and_validate_key(also_read))
        results = pipeline.execute()
        other = results[2] if also_read is not None else None
        return results[1], int(other) if other is not None else 0
    try:
        count = cache.incr(name)
    except ValueError:  # the first hit in this window
        count = 1 if cache.add(name, 1, timeout=timeout) else cache.incr(name)
    return count, cache.get(also_read, 0) if also_read is not None else 0


def _count(
    *, scope: str, client_key: "ClientKey | str", window_seconds: int, now: float
) -> tuple[str, int, int]:
    """Counts one hit in the current window: its counter's name, its count now, and the count
    of the window before."""
    index = _window_index(window_seconds=window_seconds, now=now)
    current_secret, previous_secret = _window_secrets(window_seconds=window_seconds, now=now)
    if current_secret is None:
        current_secret = _make_current_secret(window_seconds=window_seconds, now=now)
    name = counter_name(scope=scope, client_key=client_key, window_secret=current_secret, index=index)
    previous_name = (
        counter_name(scope=scope, client_key=client_key, window_secret=previous_secret, index=index - 1)
        if previous_secret is not None
        else None
    )
    # The counter expires with its window's secret, at the end of the next window. It is only
    # ever counted in its own window, so it cannot expire between the check and the increment.
    timeout = _seconds_to_end_of_next_window(window_seconds=window_seconds, index=index, now=now)
    count, previous = _increment(name, timeout=timeout, also_read=previous_name)
    return name, count, previous


def count_hit(*, scope: str, client_key: "ClientKey | str", window_seconds: int) -> int:
    """Counts one more hit in the current window and returns the count in this window so far."""
    _name, count, _previous = _count(
        scope=scope, client_key=client_key, window_seconds=window_seconds, now=time.time()
    )
    return count


def hits_so_far(*, scope: str, client_key: "ClientKey | str", window_seconds: int) -> int:
    """Hits in this window and the one before: any span of window_seconds lies within those two,
    so a limit checked against this sum holds for every such span, not only aligned ones."""
    current, previous = _counts(
        scope=scope, client_key=client_key, window_seconds=window_seconds, now=time.time()
    )
    return current + previous


@dataclass(frozen=True)
class Attempt:
    """What take_attempt decided. An allowed attempt stays counted unless given back."""

    allowed: bool
    counter: str | None = field(default=None, repr=False)


def take_attempt(*, scope: str, client_key: "ClientKey | str", window_seconds: int, limit: int) -> Attempt:
    """Counts an attempt first, then says whether it is within `limit` attempts over this window
    and the one before (as hits_so_far counts them).

    Counting before checking is what makes the limit hold under concurrency: of any number of
    simultaneous attempts, at most `limit` are allowed. A refused attempt is given back at once,
    so that waiting is all it takes: a client that keeps trying while refused is refused no
    longer than seconds_until_allowed said.
    """
    if limit < 1:
        raise ValueError("a limit allows at least one attempt")
    name, count, previous = _count(
        scope=scope, client_key=client_key, window_seconds=window_seconds, now=time.time()
    )
    if count + previous <= limit:
        return Attempt(allowed=True, counter=name)
    give_back(Attempt(allowed=True, counter=name))
    return Attempt(allowed=False)


def give_back(attempt: Attempt) -> None:
    """Uncounts an allowed attempt that turned out not to count (a right receipt code, say).
    A refused attempt was never kept, so giving it back does nothing."""
    if not attempt.allowed or attempt.counter is None:
        return
    try:
        cache.decr(attempt.counter)
    except ValueError:  # its count expired meanwhile: nothing is left to give back
        pass


def seconds_until_allowed(
    *, scope: str, client_key: "ClientKey | str", window_seconds: int, limit: int
) -> int:
    """Seconds until take_attempt would allow this client again if it waits; 0 if it would now.

    An attempt is allowed while the hits of this window and the one before are fewer than
    `limit`. Waiting changes that sum only at window edges: at the end of this window the
    previous window's hits drop out and this window's become "the one before". So a refused
    client is allowed at the end of this window if this window's hits alone are under the limit,
    and otherwise at the end of the next one, when both have dropped out.
    """
    if limit < 1:
        raise ValueError("a limit allows at least one attempt")
    now = time.time()
    current, previous = _counts(scope=scope, client_key=client_key, window_seconds=window_seconds, now=now)
    if current + previous < limit:
        return 0
    index = _window_index(window_seconds=window_seconds, now=now)
    windows_left = 1 if current < limit else 2
    return max(1, math.ceil((index + windows_left) * window_seconds - now))
