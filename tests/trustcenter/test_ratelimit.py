"""Rate-limit counters (trustcenter/ratelimit.py): counted before they are checked, and filed under
keys that only a per-window random secret, kept in the cache alone, links to a client."""

import copy
import hashlib
import hmac
import ipaddress
import logging
import os
import pickle
import subprocess
import sys
import threading
import uuid
from typing import Any

import pytest
import time_machine
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from tests.services import PROJECT_DIR
from trustcenter import ratelimit
from trustcenter.ratelimit import (
    ClientKey,
    count_hit,
    counter_name,
    give_back,
    hits_so_far,
    kept_seconds,
    seconds_until_allowed,
    secret_name,
    take_attempt,
)

ADDRESS = "203.0.113.77"
WINDOW = 900
LIMIT = 5
# The start of a window, for every window length the tests use.
WINDOW_START = 3600 * 500_000


def stored_names() -> list[str]:
    """The name of every live entry in the default cache, as the code wrote it (without Django's
    prefix and version): what a copy of the cache taken now would hold."""
    backend: Any = caches["default"]  # reached into: what it stores, not what it answers
    if isinstance(caches["default"], LocMemCache):  # it drops an expired entry only when that is read
        raw = [name for name in backend._cache if not backend._has_expired(name)]
    else:
        raw = [name.decode() for name in backend._cache.get_client().scan_iter(count=1000)]
    return [name.split(":", 2)[2] for name in raw]


def window_secret(*, window_seconds: int = WINDOW, moment: float) -> str | None:
    return cache.get(secret_name(window_seconds=window_seconds, index=int(moment // window_seconds)))


def old_key(secret_key: str, address: str) -> str:
    """How counters were keyed before: an HMAC with SECRET_KEY, which anyone holding it can invert
    by trying every IPv4 address."""
    return hmac.new(secret_key.encode(), f"client:{address}".encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def locmem_cache(settings):
    """A cache in this process whose entries expire by time.time(), so time travel expires them."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ratelimit-test-{uuid.uuid4()}",
        }
    }
    yield cache


@pytest.fixture
def redis_cache(private_redis, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": private_redis.url}
    }
    yield private_redis


# --- The client key --------------------------------------------------------------------------


def test_a_client_key_shows_no_address(caplog):
    key = ClientKey.from_address(ADDRESS)
    shown = [repr(key), str(key), f"{key}", "%s" % key, "%r" % key, repr([key]), repr({"k": key})]  # noqa: UP031
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests").info("client %s %r", key, key)
    for text in [*shown, caplog.text]:
        assert "203.0.113" not in text


def test_a_client_key_is_never_stored():
    key = ClientKey.from_address(ADDRESS)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        cache.set("anything", key)
    assert copy.copy(key) is key and copy.deepcopy({"k": key})["k"] is key


def test_the_middleware_gives_each_request_a_client_key_that_shows_nothing(rf, settings):
    from trustcenter.middleware import ClientPrivacyMiddleware

    settings.TRUSTCENTER_CLIENT_ADDRESS_HEADER = "HTTP_X_FORWARDED_FOR"
    seen = []
    ClientPrivacyMiddleware(lambda request: seen.append(request))(
        rf.get("/", HTTP_X_FORWARDED_FOR=f"10.0.0.1, {ADDRESS}")
    )
    (request,) = seen
    assert request.client_key == ClientKey.from_address(ADDRESS)
    assert "203.0.113" not in repr(request.client_key) + str(request.client_key)


def test_an_ipv6_client_is_counted_by_its_64_block():
    same_block = {ClientKey.from_address(a) for a in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9")}
    assert len(same_block) == 1
    assert ClientKey.from_address("2001:db8:1:3::1") not in same_block
    assert ClientKey.from_address("198.51.100.1") != ClientKey.from_address("198.51.100.2")
    assert ClientKey.from_address("::ffff:198.51.100.1") != ClientKey.from_address("::ffff:198.51.100.2")


def test_a_counter_may_be_keyed_by_a_name_but_not_by_anything_else():
    assert count_hit(scope="new-code", client_key="case-7", window_seconds=3600) == 1
    assert count_hit(scope="new-code", client_key="case-7", window_seconds=3600) == 2
    assert count_hit(scope="new-code", client_key="case-8", window_seconds=3600) == 1
    # A client whose "address" reads like a name is not that name.
    assert count_hit(scope="new-code", client_key=ClientKey("case-7"), window_seconds=3600) == 1
    for wrong in ("", None, b"case-7", 7):
        with pytest.raises(TypeError):
            count_hit(scope="new-code", client_key=wrong, window_seconds=3600)


# --- Keys that only the window's secret links to a client ------------------------------------


def test_counters_are_keyed_by_the_window_secret_in_the_cache_not_by_secret_key(settings):
    client = ClientKey.from_address(ADDRESS)
    with time_machine.travel(WINDOW_START + 10, tick=False):
        count_hit(scope="submit", client_key=client, window_seconds=WINDOW)
        count_hit(scope="submit", client_key=client, window_seconds=WINDOW)
        secret = window_secret(moment=WINDOW_START)
        index = WINDOW_START // WINDOW
        expected = counter_name(scope="submit", client_key=client, window_secret=secret, index=index)
        assert cache.get(expected) == 2
        assert sorted(stored_names()) == sorted([expected, secret_name(window_seconds=WINDOW, index=index)])

    # The attack that found the flaw: with SECRET_KEY, try every address of the block (the real
    # one among them) against the keys, both as they used to be made and as they are now but
    # with SECRET_KEY in place of the window's secret. Nothing matches.
    names = "\n".join(stored_names())
    for candidate in ipaddress.ip_network("203.0.113.0/24"):
        subject = f"submit\nclient:{candidate}".encode()
        guesses = (
            old_key(settings.SECRET_KEY, str(candidate)),
            hmac.new(settings.SECRET_KEY.encode(), subject, hashlib.sha256).hexdigest()[:32],
        )
        assert not [guess for guess in guesses if guess in names]
    assert settings.SECRET_KEY not in str(cache.get_many(stored_names()))


def test_the_window_secret_is_random_not_derived_from_secret_key(settings, monkeypatch):
    client = ClientKey.from_address(ADDRESS)
    seen = []
    with time_machine.travel(WINDOW_START + 10, tick=False):
        for _ in range(3):  # the same SECRET_KEY, the same moment, a new secret every time
            cache.clear()
            count_hit(scope="submit", client_key=client, window_seconds=WINDOW)
            seen.append(window_secret(moment=WINDOW_START))
        assert len(set(seen)) == 3 and all(len(secret) == 64 for secret in seen)
        assert not [secret for secret in seen if settings.SECRET_KEY in secret]

        # It is secrets.token_hex's output as is, and the counter follows it.
        cache.clear()
        monkeypatch.setattr(ratelimit.secrets, "token_hex", lambda size: "f" * 2 * size)
        count_hit(scope="submit", client_key=client, window_seconds=WINDOW)
        assert window_secret(moment=WINDOW_START) == "f" * 64
        index = WINDOW_START // WINDOW
        assert (
            cache.get(counter_name(scope="submit", client_key=client, window_secret="f" * 64, index=index))
            == 1
        )


def test_once_the_next_window_ends_the_secret_and_the_counts_are_gone(locmem_cache):
    client = ClientKey.from_address(ADDRESS)
    index = WINDOW_START // WINDOW
    with time_machine.travel(WINDOW_START + 100, tick=False) as traveller:
        for _ in range(3):
            count_hit(scope="submit", client_key=client, window_seconds=WINDOW)
        first_secret = window_secret(moment=WINDOW_START)
        first_counter = counter_name(
            scope="submit", client_key=client, window_secret=first_secret, index=index
        )

        traveller.move_to(WINDOW_START + 2 * WINDOW - 0.001)  # the last moment of the next window
        assert window_secret(moment=WINDOW_START) == first_secret
        assert hits_so_far(scope="submit", client_key=client, window_seconds=WINDOW) == 3

        traveller.move_to(WINDOW_START + 2 * WINDOW)
        # What a copy of the cache taken now holds: nothing of the first window.
        assert not [name for name in stored_names() if name.endswith(f":{index}")]
        assert cache.get(first_counter) is None
        assert hits_so_far(scope="submit", client_key=client, window_seconds=WINDOW) == 0
        count_hit(scope="submit", client_key=client, window_seconds=WINDOW)
        new_secret = window_secret(moment=WINDOW_START + 2 * WINDOW)
        assert new_secret not in (None, first_secret)
        # The new count cannot be tied to the old one: its key shares nothing with it.
        (new_counter,) = [name for name in stored_names() if name.startswith("ratelimit:submit:")]
        assert new_counter.split(":")[2] != first_counter.split(":")[2]


@pytest.mark.services
def test_in_redis_the_secret_and_counters_expire_by_the_end_of_the_next_window(redis_cache):
    import redis

    client = ClientKey.from_address(ADDRESS)
    offset = 300
    with time_machine.travel(WINDOW_START + offset, tick=False):
        count_hit(scope="submit", client_key=client, window_seconds=WINDOW)
        take_attempt(scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT)
    server = redis.Redis.from_url(redis_cache.url)
    names = list(server.scan_iter())
    assert len(names) == 3  # one secret, two counters
    for name in names:
        assert 0 < server.ttl(name) <= 2 * WINDOW - offset <= kept_seconds(WINDOW), name


# --- Counting --------------------------------------------------------------------------------


def test_counts_hold_across_the_two_windows_and_no_longer():
    client = ClientKey.from_address(ADDRESS)
    other = ClientKey.from_address("198.51.100.1")
    with time_machine.travel(WINDOW_START + 5, tick=False) as traveller:
        for expected in (1, 2, 3):
            assert count_hit(scope="submit", client_key=client, window_seconds=WINDOW) == expected
        count_hit(scope="submit", client_key=other, window_seconds=WINDOW)
        count_hit(scope="receipt-code", client_key=client, window_seconds=WINDOW)
        assert hits_so_far(scope="submit", client_key=client, window_seconds=WINDOW) == 3

        traveller.move_to(WINDOW_START + WINDOW)  # the next window: a new secret, the old counts
        assert hits_so_far(scope="submit", client_key=client, window_seconds=WINDOW) == 3
        assert count_hit(scope="submit", client_key=client, window_seconds=WINDOW) == 1
        assert hits_so_far(scope="submit", client_key=client, window_seconds=WINDOW) == 4
        assert window_secret(moment=WINDOW_START) != window_secret(moment=WINDOW_START + WINDOW)

        traveller.move_to(WINDOW_START + 2 * WINDOW)
        assert hits_so_far(scope="submit", client_key=client, window_seconds=WINDOW) == 1
        assert hits_so_far(scope="submit", client_key=other, window_seconds=WINDOW) == 0
        traveller.move_to(WINDOW_START + 3 * WINDOW)
        assert hits_so_far(scope="submit", client_key=client, window_seconds=WINDOW) == 0


def test_reading_counts_makes_no_secret():
    hits_so_far(scope="submit", client_key=ClientKey.from_address(ADDRESS), window_seconds=WINDOW)
    seconds_until_allowed(scope="submit", client_key="case-1", window_seconds=WINDOW, limit=LIMIT)
    assert stored_names() == []


def test_an_attempt_is_counted_before_it_is_checked_and_a_refused_one_is_not_kept():
    client = ClientKey.from_address(ADDRESS)
    with time_machine.travel(WINDOW_START + 5, tick=False):
        attempts = [
            take_attempt(scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT)
            for _ in range(LIMIT + 3)
        ]
        assert [attempt.allowed for attempt in attempts] == [True] * LIMIT + [False] * 3
        assert hits_so_far(scope="receipt-code", client_key=client, window_seconds=WINDOW) == LIMIT
        # Giving back an allowed attempt (a right code) makes room for one more; a refused one
        # has nothing to give back.
        give_back(attempts[0])
        give_back(attempts[-1])
        assert hits_so_far(scope="receipt-code", client_key=client, window_seconds=WINDOW) == LIMIT - 1
        assert take_attempt(
            scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT
        ).allowed
        assert not take_attempt(
            scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT
        ).allowed


def test_an_attempt_counts_the_window_before_too():
    client = ClientKey.from_address(ADDRESS)
    with time_machine.travel(WINDOW_START + WINDOW - 1, tick=False) as traveller:
        for _ in range(LIMIT - 1):
            assert take_attempt(
                scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT
            ).allowed
        traveller.move_to(WINDOW_START + WINDOW)  # a second later, in the next window
        assert take_attempt(
            scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT
        ).allowed
        assert not take_attempt(
            scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT
        ).allowed


def test_an_attempt_given_back_after_its_window_ended_is_taken_from_its_own_window():
    client = ClientKey.from_address(ADDRESS)
    with time_machine.travel(WINDOW_START + WINDOW - 0.01, tick=False) as traveller:
        attempt = take_attempt(scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT)
        traveller.move_to(WINDOW_START + WINDOW + 0.5)  # the slow hash took us over the edge
        take_attempt(scope="receipt-code", client_key=client, window_seconds=WINDOW, limit=LIMIT)
        give_back(attempt)
        assert count_hit(scope="receipt-code", client_key=client, window_seconds=WINDOW) == 2
        assert hits_so_far(scope="receipt-code", client_key=client, window_seconds=WINDOW) == 2


def test_an_attempt_shows_no_counter_name():
    attempt = take_attempt(scope="s", client_key=ClientKey.from_address(ADDRESS), window_seconds=60, limit=1)
    assert repr(attempt) == "Attempt(allowed=True)"


def test_simultaneous_attempts_allow_no_more_than_the_limit():
    client = ClientKey.from_address(ADDRESS)
    racers = 24
    barrier = threading.Barrier(racers)
    allowed = []

    def race():
        barrier.wait()
        attempt = take_attempt(scope="receipt-code", client_key=client, window_seconds=10**9, limit=LIMIT)
        allowed.append(attempt.allowed)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert allowed.count(True) == LIMIT and len(allowed) == racers


# --- One secret per window, whoever makes it -------------------------------------------------


def test_a_process_that_loses_the_race_to_make_the_secret_uses_the_winners(monkeypatch):
    """The other process makes the secret between this one's look and its add."""
    client = ClientKey.from_address(ADDRESS)
    real_token_hex = ratelimit.secrets.token_hex
    made = []

    def token_hex(size):
        mine = real_token_hex(size)
        made.append(mine)
        if len(made) == 1:  # this process is about to add its own: the other one wins first
            assert count_hit(scope="submit", client_key=client, window_seconds=WINDOW) == 1
        return mine

    monkeypatch.setattr(ratelimit.secrets, "token_hex", token_hex)
    with time_machine.travel(WINDOW_START + 5, tick=False):
        assert count_hit(scope="submit", client_key=client, window_seconds=WINDOW) == 2
        assert len(made) == 2 and window_secret(moment=WINDOW_START) == made[1]


RACER = """
import os, sys
import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcenter.settings")
django.setup()
from trustcenter.ratelimit import ClientKey, count_hit

client = ClientKey.from_address("198.51.100.7")
print("ready", flush=True)
sys.stdin.readline()
for offset in range(int(sys.argv[1])):
    count_hit(scope="race", client_key=client, window_seconds=10**9 + offset)
"""


@pytest.mark.services
def test_two_processes_racing_share_each_window_secret(redis_cache):
    """Two processes, released at once, make the secrets of many windows (one per window
    length) at the same time; every count lands under one secret."""
    windows = 300
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(windows)],
            cwd=PROJECT_DIR,
            env={**os.environ, "CACHE_URL": redis_cache.url},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        assert [racer.stdout.readline() for racer in racers] == ["ready\n"] * 2
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        assert [racer.wait(timeout=60) for racer in racers] == [0, 0]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()
    client = ClientKey.from_address("198.51.100.7")
    counts = [hits_so_far(scope="race", client_key=client, window_seconds=10**9 + i) for i in range(windows)]
    assert counts == [2] * windows
    assert len([name for name in stored_names() if name.startswith("ratelimit:secret:")]) == windows


# --- How long a refusal lasts ----------------------------------------------------------------


def attempt_at(traveller, moment: float, *, window_seconds: int, limit: int) -> bool:
    traveller.move_to(moment)
    return take_attempt(scope="s", client_key="c", window_seconds=window_seconds, limit=limit).allowed


def wait_at(traveller, moment: float, *, window_seconds: int, limit: int) -> int:
    traveller.move_to(moment)
    return seconds_until_allowed(scope="s", client_key="c", window_seconds=window_seconds, limit=limit)


def test_a_refusal_lasts_to_the_end_of_the_next_window_when_this_window_alone_is_full():
    with time_machine.travel(WINDOW_START, tick=False) as traveller:
        assert wait_at(traveller, WINDOW_START + 100, window_seconds=WINDOW, limit=LIMIT) == 0
        for _ in range(LIMIT):
            assert attempt_at(traveller, WINDOW_START + 100, window_seconds=WINDOW, limit=LIMIT)
        assert wait_at(traveller, WINDOW_START + 100, window_seconds=WINDOW, limit=LIMIT) == 2 * WINDOW - 100
        assert (
            wait_at(traveller, WINDOW_START + WINDOW - 0.5, window_seconds=WINDOW, limit=LIMIT) == WINDOW + 1
        )
        assert wait_at(traveller, WINDOW_START + WINDOW, window_seconds=WINDOW, limit=LIMIT) == WINDOW
        assert wait_at(traveller, WINDOW_START + 2 * WINDOW - 1, window_seconds=WINDOW, limit=LIMIT) == 1
        assert not attempt_at(
            traveller, WINDOW_START + 2 * WINDOW - 0.001, window_seconds=WINDOW, limit=LIMIT
        )
        assert wait_at(traveller, WINDOW_START + 2 * WINDOW - 0.001, window_seconds=WINDOW, limit=LIMIT) == 1
        assert wait_at(traveller, WINDOW_START + 2 * WINDOW, window_seconds=WINDOW, limit=LIMIT) == 0
        assert attempt_at(traveller, WINDOW_START + 2 * WINDOW, window_seconds=WINDOW, limit=LIMIT)


def test_a_refusal_lasts_to_the_end_of_this_window_when_the_window_before_filled_it():
    with time_machine.travel(WINDOW_START, tick=False) as traveller:
        for _ in range(3):
            assert attempt_at(traveller, WINDOW_START + 800, window_seconds=WINDOW, limit=LIMIT)
        for _ in range(2):
            assert attempt_at(traveller, WINDOW_START + WINDOW + 50, window_seconds=WINDOW, limit=LIMIT)
        assert not attempt_at(traveller, WINDOW_START + WINDOW + 50, window_seconds=WINDOW, limit=LIMIT)
        assert (
            wait_at(traveller, WINDOW_START + WINDOW + 50, window_seconds=WINDOW, limit=LIMIT) == WINDOW - 50
        )
        assert wait_at(traveller, WINDOW_START + 2 * WINDOW - 0.25, window_seconds=WINDOW, limit=LIMIT) == 1
        assert attempt_at(traveller, WINDOW_START + 2 * WINDOW, window_seconds=WINDOW, limit=LIMIT)


@pytest.mark.parametrize(
    "pattern",
    [
        [(0.5, 3)],
        [(9.5, 3)],
        [(1, 2), (10, 1)],
        [(3, 1), (12.25, 2)],
        [(0, 1), (9.99, 1), (10, 1)],
        [(5, 2), (15, 2), (25, 1)],
        [(9, 3), (19, 3)],
    ],
)
def test_the_wait_named_is_exactly_how_long_a_refusal_lasts(pattern):
    """For each pattern of (moment, attempts), at moments all over the windows: a client told to
    wait s seconds is refused s - 1 seconds later, allowed s seconds later, and one told 0 is
    allowed (checked by hits_so_far, so that the check takes nothing)."""
    window, limit = 10, 3
    start = WINDOW_START
    with time_machine.travel(start, tick=False) as traveller:
        for moment, attempts in pattern:
            for _ in range(attempts):
                attempt_at(traveller, start + moment, window_seconds=window, limit=limit)
        last = max(moment for moment, _ in pattern)
        for tenth in range(int(last * 10), int((last + 3 * window) * 10)):
            moment = start + tenth / 10
            wait = wait_at(traveller, moment, window_seconds=window, limit=limit)

            def allowed_at(later):
                traveller.move_to(later)
                return hits_so_far(scope="s", client_key="c", window_seconds=window) < limit

            if wait == 0:
                assert allowed_at(moment), moment
                continue
            assert not allowed_at(moment), moment
            assert not allowed_at(moment + wait - 1), (moment, wait)
            assert allowed_at(moment + wait), (moment, wait)


@pytest.mark.parametrize("backend", ["redis_cache", "locmem_cache"])
def test_counting_agrees_on_redis_and_on_any_other_cache(request, backend):
    """On Redis a hit is counted in one MULTI round trip (ratelimit._increment); elsewhere through
    the cache API. Both must count, carry the window before, and give back alike."""
    request.getfixturevalue(backend)
    start = 1_800_000_000 - 1_800_000_000 % WINDOW
    with time_machine.travel(start + 10, tick=False):
        for _ in range(3):
            ratelimit.count_hit(scope="submit", client_key="kari", window_seconds=WINDOW)
    with time_machine.travel(start + WINDOW + 10, tick=False):
        attempts = [
            ratelimit.take_attempt(scope="submit", client_key="kari", window_seconds=WINDOW, limit=5)
            for _ in range(3)
        ]
        assert [attempt.allowed for attempt in attempts] == [True, True, False]  # 3 before + 2 now
        assert ratelimit.hits_so_far(scope="submit", client_key="kari", window_seconds=WINDOW) == 5
        ratelimit.give_back(attempts[0])
        assert ratelimit.hits_so_far(scope="submit", client_key="kari", window_seconds=WINDOW) == 4
