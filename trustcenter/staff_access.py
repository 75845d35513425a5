"""Who may enter the staff workspace and the admin: a staff member, logged in with a password and,
where settings.TRUSTCENTER_REQUIRE_2FA says so (always in production), a TOTP or backup code."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from two_factor.admin import AdminSiteOTPRequiredMixin
from two_factor.utils import default_device


def no_client_address(request: HttpRequest) -> None:
    """The client address as django-axes sees it (AXES_CLIENT_IP_CALLABLE): none, so that no
    lockout, cache key or log line of axes can hold one."""
    return None


def lacks_second_factor(user: Any) -> bool:
    """Whether a logged-in staff member still owes the code that settings.TRUSTCENTER_REQUIRE_2FA
    asks for: the workspace sends them to give it, the API (cases/api) refuses their session."""
    return bool(settings.TRUSTCENTER_REQUIRE_2FA and not user.is_verified())


def refusal(request: HttpRequest, next_url: str) -> HttpResponse | None:
    """Where a visitor who is not a verified staff member goes instead of `next_url`; None lets
    them in. Someone who is not staff gets 403 rather than a login page, which could not help."""
    user: Any = request.user  # OTPMiddleware's, with is_verified()
    if not user.is_authenticated:
        return redirect_to_login(next_url)
    if not user.is_staff:
        raise PermissionDenied
    if lacks_second_factor(user):
        if default_device(user) is None:
            # The login asks for no code from an account without a device, so the way in is to
            # set one up; the setup verifies the session when done and then goes on to next_url.
            return HttpResponseRedirect(f"{reverse('two_factor:setup')}?{urlencode({'next': next_url})}")
        return redirect_to_login(next_url)
    return None


def staff_member_required_2fa(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For every view of the staff workspace."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        answer = refusal(request, request.get_full_path())
        if answer is not None:
            return answer
        return view(request, *args, **kwargs)

    return guarded


class StaffAdminSite(AdminSiteOTPRequiredMixin, AdminSite):
    """The admin, behind the same door as the workspace. (urls.py makes django.contrib.admin's own
    site one of these, so that every app's admin.py keeps registering on admin.site.)"""

    def has_permission(self, request: HttpRequest) -> bool:
        if settings.TRUSTCENTER_REQUIRE_2FA:
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # The admin sends whoever it refuses here. A staff member logged in without a code is sent
        # on to the code (or to set one up) rather than back to the password.
        if request.user.is_authenticated:
            answer = refusal(request, request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"))
            if answer is not None:
                return answer
        return super().login(request, extra_context)
