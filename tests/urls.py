"""The project's URL patterns, walked from the URL configuration, for the tests that send
every visitor to every URL (tests/test_every_url.py, tests/cases/test_staff_door.py)."""

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern


def parameters_of(pattern) -> list[str]:
    """The names of a pattern's path parameters."""
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return list(pattern.regex.groupindex)
    if isinstance(pattern, LocalePrefixPattern):
        return []
    raise AssertionError(f"an unknown kind of URL pattern: {pattern!r}")


def named_url_patterns() -> list[tuple[tuple[str, ...], str, list[str], URLPattern]]:
    """Every named URL pattern: (its namespaces, its name, its path parameters, the pattern)."""
    found = []

    def walk(patterns, namespaces: tuple[str, ...], parameters: list[str]):
        for entry in patterns:
            here = parameters + parameters_of(entry.pattern)
            if isinstance(entry, URLResolver):
                namespace = (entry.namespace,) if entry.namespace else ()
                walk(entry.url_patterns, namespaces + namespace, here)
            elif entry.name:
                found.append((namespaces, entry.name, here, entry))

    walk(get_resolver().url_patterns, (), [])
    return found
