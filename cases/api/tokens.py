"""Personal API tokens (knox's, trustcenter.ApiToken): made by a staff member in the workspace
after a fresh TOTP code, so that a token is never a way around two-factor login; shown once, kept
only as a hash, and never valid longer than settings.TRUSTCENTER_API_TOKEN_MAX_DAYS."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from trustcenter.models import ApiToken


def tokens_of(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created")


def _fresh_code(*, user, code: str) -> bool:
    """Whether a code of one of the user's TOTP devices, not used before, was given. A backup code
    does not do: it is the way in when the device is lost, not a way to make more ways in."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return False
    # verify_token refuses a code already used, and waits longer after each wrong one.
    return any(
        device.verify_token(code) for device in TOTPDevice.objects.devices_for_user(user, confirmed=True)
    )


def create_api_token(*, user, name: str, days: int, code: str) -> tuple[ApiToken, str]:
    """A new token and its text, which exists nowhere else: the caller shows it once."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("Name the token after what it is for.")]
    maximum = settings.TRUSTCENTER_API_TOKEN_MAX_DAYS
    if not 1 <= days <= maximum:
        errors["days"] = [_("A token is valid for 1 to %(maximum)s days.") % {"maximum": maximum}]
    if errors:
        raise ValidationError(errors)
    if not TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        raise ValidationError(
            {"code": [_("Set up two-factor authentication first: a token is made with a code from it.")]}
        )
    if not _fresh_code(user=user, code=code):
        raise ValidationError(
            {"code": [_("That code is wrong, or was used already. Wait for the next one and try again.")]}
        )
    return ApiToken.objects.create(user=user, expiry=timedelta(days=days), name=name)


def revoke_api_token(*, user, token_id: str) -> bool:
    """Deletes one of the user's tokens (by its id, the hash knox keeps); False if it had none."""
    deleted, _by_model = ApiToken.objects.filter(user=user, digest=token_id).delete()
    return bool(deleted)
