"""Changes to retention rules are in the audit trail (issue 11, point 5), and the audit log shows
them to those who may view the rules, and to nobody else."""

from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission

from cases import audit
from retention.defaults import ensure_default_rules
from retention.models import RetentionRule
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_a_rule_change_is_logged_and_shown_to_those_who_may_view_rules():
    ensure_default_rules()
    rule = RetentionRule.objects.get(category="visitors")
    rule.period_amount = 14
    rule.save()
    entry = LogEntry.objects.get_for_object(rule).latest("timestamp")
    assert entry.changes_dict["period_amount"] == ["30", "14"]

    rule_viewer: Any = StaffFactory()
    rule_viewer.user_permissions.add(Permission.objects.get(codename="view_retentionrule"))
    other_staff: Any = StaffFactory()
    assert audit.visible_entries(user=rule_viewer).filter(pk=entry.pk).exists()
    assert not audit.visible_entries(user=other_staff).filter(pk=entry.pk).exists()
