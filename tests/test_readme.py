import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_quick_start_is_exactly_two_commands():
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.DOTALL).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands == ["bin/start", "bin/test"]
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("exec bin/test")


def test_every_environment_variable_the_settings_read_is_documented():
    settings_source = (ROOT / "trustcenter" / "settings.py").read_text()
    names = set(re.findall(r'env(?:\.\w+|_bool|_int|_secret)\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in README and f"`{name}` (" not in README)
    assert missing == []


def test_every_variable_gunicorn_reads_is_documented():
    source = (ROOT / "gunicorn.conf.py").read_text()
    names = set(re.findall(r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert "WEB_CONCURRENCY" in names
    assert sorted(name for name in names if f"`{name}`" not in README) == []
