"""Fixtures of the data-subject-request tests (issue 13), shared by their files."""

import pytest

from tests.factories import CaseHandlerFactory


@pytest.fixture
def password_login_is_enough(settings):
    """Staff log in with a password alone (the second factor is tested on its own)."""
    settings.TRUSTCENTER_REQUIRE_2FA = False


@pytest.fixture
def handler():
    """A case handler of the privacy team, which answers data-subject requests."""
    return CaseHandlerFactory(teams=["privacy"], first_name="Pia", last_name="Privacy")
