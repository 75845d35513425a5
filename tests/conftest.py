"""Shared fixtures. Named actors live in tests/factories.py; real services in tests/services.py."""

import os

import pytest
from django.core.cache import cache
from PIL import ImageFile

from cases import uploads
from tests import images
from trustcenter.celery import app as celery_app

pytest_plugins = ["tests.services"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, what: str) -> None:
    """A test that needs a service skips locally when it is absent, and fails in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI needs {what}, and it is not available")
    pytest.skip(f"needs {what}")


@pytest.fixture(autouse=True)
def _isolated(request, settings, tmp_path):
    """Each test: its own upload folder, an empty cache, and Celery tasks run in-process unless
    the test is marked `services` (a real worker takes them then)."""
    settings.MEDIA_ROOT = tmp_path / "uploads"
    settings.TRUSTCENTER_ERASURE_LOG = tmp_path / "erasure-log.jsonl"
    cache.clear()
    eager = request.node.get_closest_marker("services") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def decodes(monkeypatch):
    """How many times pixels were decoded (Pillow's load) and images stripped of metadata; both
    still happen, only counted."""
    counts = {"load": 0, "strip": 0}
    original_load, original_strip = ImageFile.ImageFile.load, uploads.strip_image_metadata

    def counting_load(image, *args, **kwargs):
        counts["load"] += 1
        return original_load(image, *args, **kwargs)

    def counting_strip(*args, **kwargs):
        counts["strip"] += 1
        return original_strip(*args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    monkeypatch.setattr(uploads, "strip_image_metadata", counting_strip)
    return counts


@pytest.fixture(scope="session")
def huge_png() -> bytes:
    """6300 x 6300 pixels (39.7 megapixels, under the limit for one image) in about 5 KB."""
    return images.png_of(6300, 6300)


# Tables made in the external databases (tests/registers/external_db.py), dropped after each test.
from tests.registers.external_db import drop_external_tables  # noqa: E402, F401
