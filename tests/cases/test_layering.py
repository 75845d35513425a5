"""Dependencies point one way (DESIGN.md §4): views, admin and tasks call services and selectors;
selectors (and the dashboard's figures, reads like them) never import services; services never
import forms or views; pure rules import no ORM."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, by absolute name (relative imports resolved in its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    return modules


@pytest.mark.parametrize(
    ("module", "must_not_import"),
    [
        ("cases/selectors.py", {"cases.services", "cases.views", "cases.forms", "cases.admin"}),
        ("cases/services.py", {"cases.views", "cases.forms", "cases.admin"}),
        ("cases/admin.py", {"cases.views"}),
        ("cases/uploads.py", {"cases.forms", "cases.views", "cases.services", "django.forms"}),
        ("cases/questions.py", {"cases.forms", "cases.views", "cases.services", "django.forms", "django.db"}),
        (
            "cases/deadlines.py",
            {"cases.models", "cases.services", "django.db", "django.conf", "django.conf.settings"},
        ),
        (
            "cases/dashboard.py",
            {"cases.services", "cases.views", "cases.forms", "cases.admin", "django.forms"},
        ),
        (
            "cases/report_periods.py",
            {"cases.models", "cases.services", "django.db", "django.conf", "django.conf.settings"},
        ),
        ("trustcenter/services.py", {"cases", "cases.models", "cases.services"}),
        # The registry is what every app declares itself in: it depends on none of them.
        ("registers/registry.py", {"cases", "consent", "retention", "trustcenter", "registers.models"}),
        ("registers/models.py", {"cases", "consent", "retention"}),
        ("registers/checks.py", {"cases", "consent", "retention"}),
        ("registers/selectors.py", {"cases", "consent", "retention", "registers.models"}),
        ("consent/states.py", {"consent.models", "django.db", "django.conf", "django.conf.settings"}),
        ("consent/chain.py", {"consent.models", "django.db", "django.conf", "django.conf.settings"}),
        # Retention reaches cases only through the registry's declarations.
        ("retention/services.py", {"cases", "cases.models", "cases.services"}),
        ("retention/models.py", {"cases", "cases.models"}),
        ("retention/queries.py", {"cases", "retention.services", "retention.selectors"}),
        ("retention/selectors.py", {"cases", "retention.services"}),
        (
            "retention/cutoffs.py",
            {"retention.models", "django.db", "django.conf", "django.conf.settings", "registers"},
        ),
        ("consent/selectors.py", {"retention", "retention.services", "cases"}),
    ],
)
def test_dependencies_point_one_way(module, must_not_import):
    imported = imported_modules(ROOT / module)
    assert imported & must_not_import == set()


def test_the_check_itself_sees_relative_imports():
    assert "cases.services" in imported_modules(ROOT / "cases/views.py")
    assert "cases.selectors" in imported_modules(ROOT / "cases/services.py")
