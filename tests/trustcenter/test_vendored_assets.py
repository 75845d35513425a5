"""Issue point 6: Bootstrap (and, for the tests, axe-core) are vendored with their version and
licence. Each vendor folder has a README table naming every package, its version and its licence
file; each package lives in <package>-<version>/ with its licence, and the version the files
themselves announce in their banner comment is the one the README names."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR_FOLDERS = [ROOT / "static" / "vendor", ROOT / "tests" / "vendor"]
LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING", "LICENSE.txt", "LICENSE.md")
VERSION = r"v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)"


def readme_table(folder: Path) -> dict[str, dict[str, str]]:
    """The README's table, one row a package: {package: {column: cell}}."""
    lines = [line.strip() for line in (folder / "README.md").read_text().splitlines()]
    rows = [line for line in lines if line.startswith("|") and line.endswith("|")]
    assert len(rows) >= 3, f"{folder / 'README.md'} has no table of packages"
    header, _rule, *body = ([cell.strip() for cell in row.strip("|").split("|")] for row in rows)
    assert {"package", "version", "licence"} <= set(header), header
    return {row[header.index("package")]: dict(zip(header, row, strict=True)) for row in body}


def packages(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_dir())


def banner_versions(path: Path, package: str) -> set[str]:
    """The versions a file's leading comment announces for the package: "Bootstrap  v5.3.9",
    "axe v4.14.1" (the package axe-core calls itself axe)."""
    head = path.read_text(errors="replace")[:600]
    names = {package, package.split("-")[0]}
    announced = rf"(?:{'|'.join(map(re.escape, names))})\s+{VERSION}"
    return set(re.findall(announced, head, flags=re.IGNORECASE))


@pytest.mark.parametrize("folder", VENDOR_FOLDERS, ids=lambda folder: str(folder.relative_to(ROOT)))
def test_every_vendored_package_has_its_licence(folder):
    assert packages(folder), f"nothing vendored in {folder}"
    for package in packages(folder):
        licences = [package / name for name in LICENCE_NAMES if (package / name).is_file()]
        assert licences, f"{package.relative_to(ROOT)} has no licence file"
        assert all(len(licence.read_text().strip()) > 200 for licence in licences), licences


@pytest.mark.parametrize("folder", VENDOR_FOLDERS, ids=lambda folder: str(folder.relative_to(ROOT)))
def test_the_readme_names_each_package_with_the_version_its_files_carry(folder):
    table = readme_table(folder)
    on_disk = {}
    for package in packages(folder):
        match = re.fullmatch(rf"(.+)-{VERSION}", package.name)
        assert match, f"{package.relative_to(ROOT)} is not named <package>-<version>"
        on_disk[match.group(1)] = (package, match.group(2))
    assert sorted(table) == sorted(on_disk), "the README and the folders name different packages"
    for name, (package, version) in on_disk.items():
        row = table[name]
        assert row["version"] == version, f"README says {name} {row['version']}, the folder {version}"
        # The licence column points at the licence file in the package's folder.
        named = re.findall(r"`([^`]+)`", row["licence"])
        assert named and all((folder / path).is_file() for path in named), row["licence"]
        assert all((folder / path).parent == package for path in named), row["licence"]
        # Every script and style sheet announces the same version in its banner.
        assets = sorted(package.rglob("*.js")) + sorted(package.rglob("*.css"))
        assert assets, f"{package.relative_to(ROOT)} holds no scripts or style sheets"
        for asset in assets:
            assert banner_versions(asset, name) == {version}, f"{asset.relative_to(ROOT)}'s banner"


def test_templates_load_only_vendored_files_that_exist():
    referenced = set()
    for template in (ROOT / "templates").rglob("*.html"):
        referenced.update(re.findall(r"""\{%\s*static\s+['"](vendor/[^'"]+)['"]""", template.read_text()))
    assert referenced, "no template loads a vendored file"
    missing = sorted(path for path in referenced if not (ROOT / "static" / path).is_file())
    assert missing == []
