"""Who may call the API: the rule of the workspace's door (trustcenter/staff_access.py), then the
cases' permissions. Which cases a caller sees is `selectors.visible_cases`'s alone."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from cases.selectors import VIEW_CASES_PERMISSION

CHANGE_CASES_PERMISSION = "cases.change_case"


class CaseHandler(BasePermission):
    """An active staff member with the permission to view cases; to change them, for anything
    but a read."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        if not user.has_perm(VIEW_CASES_PERMISSION):
            return False
        return request.method in SAFE_METHODS or user.has_perm(CHANGE_CASES_PERMISSION)
