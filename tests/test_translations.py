import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"


@pytest.mark.parametrize("language", ["nb", "sv", "da"])
def test_the_catalogue_is_complete(language):
    catalogue = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert catalogue.exists(), f"{catalogue} is missing"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(catalogue)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    assert "translated message" in result.stderr


# Not sources of the portal's text: installed packages, run-time data, and the tests (which call
# gettext only to compare against the catalogues).
NOT_SOURCES = (".venv", "var", "node_modules", ".git", "tests")


@pytest.fixture(scope="module")
def extracted_catalogue(tmp_path_factory) -> Path:
    """What `makemessages` extracts from the code and templates today, as a .pot file.

    It runs on a copy of the project whose locale/ starts empty, so the committed catalogues are
    never touched; the copy's settings put LOCALE_PATHS in the copy too.
    """
    copy = tmp_path_factory.mktemp("makemessages") / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(*NOT_SOURCES, "locale", "__pycache__", ".*_cache", ".hypothesis"),
    )
    (copy / "locale").mkdir()
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "trustcenter.settings", "PYTHONPATH": str(copy)}
    ignores = [argument for name in NOT_SOURCES for argument in ("--ignore", name)]
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--keep-pot", "-l", "nb", *ignores],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    template = copy / "locale" / "django.pot"
    assert template.exists(), result.stdout + result.stderr
    return template


def test_the_extraction_runs_on_the_real_sources(extracted_catalogue):
    # A handful of strings from code and templates: the .pot is not empty or partial by accident.
    text = extracted_catalogue.read_text()
    assert 'msgid "General question"' in text  # cases/models.py
    assert 'msgid "Your receipt code"' in text  # templates/cases/receipt.html
    assert len(msgids(extracted_catalogue)) > 100


def msgids(catalogue: Path) -> set[tuple[str, str]]:
    """The (msgctxt, msgid) of every live entry of a .po or .pot file: not the header, not the
    obsolete (#~) entries. Strings stay as written, escapes and all; only the line breaks of long
    strings are joined, so files wrapped differently compare equal."""
    entries: set[tuple[str, str]] = set()
    fields: dict[str, str] = {}
    current: str | None = None

    def close():
        if fields.get("msgid"):
            entries.add((fields.get("msgctxt", ""), fields["msgid"]))
        fields.clear()

    for line in catalogue.read_text().splitlines():
        keyword, _space, rest = line.partition(" ")
        if keyword == "msgctxt" or (keyword == "msgid" and current != "msgctxt"):
            close()  # a new entry begins
        if keyword in ("msgctxt", "msgid", "msgid_plural") or keyword.startswith("msgstr"):
            current = keyword
            fields[current] = rest.strip()[1:-1]
        elif line.startswith('"') and current:
            fields[current] += line.strip()[1:-1]
        else:
            current = None
    close()
    return entries


def test_the_reading_of_catalogues_sees_contexts_plurals_and_long_strings(tmp_path):
    sample = tmp_path / "sample.po"
    sample.write_text(
        'msgid ""\nmsgstr "Language: nb\\n"\n\n'
        'msgid "One"\nmsgstr "En"\n\n'
        'msgctxt "month"\nmsgid "May"\nmsgstr "Mai"\n\n'
        'msgid ""\n"A long "\n"string"\nmsgstr "Lang"\n\n'
        'msgid "%(n)s file"\nmsgid_plural "%(n)s files"\nmsgstr[0] "fil"\nmsgstr[1] "filer"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Borte"\n'
    )
    assert msgids(sample) == {("", "One"), ("month", "May"), ("", "A long string"), ("", "%(n)s file")}


@pytest.mark.parametrize("language", ["nb", "sv", "da"])
def test_every_string_in_the_code_and_templates_is_in_the_catalogue(extracted_catalogue, language):
    catalogue = LOCALE / language / "LC_MESSAGES" / "django.po"
    # Fuzzy and untranslated entries count as present here; test_the_catalogue_is_complete fails on those.
    missing = sorted(msgids(extracted_catalogue) - msgids(catalogue))
    assert missing == [], f"run makemessages: {len(missing)} strings are not in {catalogue.relative_to(ROOT)}"
