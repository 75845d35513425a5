"""Issue point 1: the layout of DESIGN.md §2, Django 5.2 LTS and Python 3.11, pinned by a lock.

(The Quick start and .ci/run's command are tested in test_readme.py, the compose file and the
Dockerfile in trustcenter/test_deployment_files.py.)"""

import os
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import django
import pytest
from django.apps import apps
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["trustcenter", "cases", "consent", "registers", "retention", "templates", "static", "locale"]
FOLDERS += ["tests", "bench"]
FILES = ["manage.py", "docker-compose.yml", "Dockerfile", "pyproject.toml", "README.md", ".ci/run"]
LOCKS = {"requirements.lock": [], "requirements-dev.lock": ["test"]}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def pinned(lock: str) -> dict[str, Version]:
    """The name==version lines of a lock file, by canonical name."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", (ROOT / lock).read_text(), re.MULTILINE)
    return {canonicalize_name(name): Version(version) for name, version in pins}


@pytest.mark.parametrize("folder", FOLDERS)
def test_it_has_the_folders_of_the_design(folder):
    assert (ROOT / folder).is_dir()


@pytest.mark.parametrize("name", FILES + list(LOCKS))
def test_it_has_the_files_of_the_design(name):
    path = ROOT / name
    assert path.is_file() and path.stat().st_size > 0


def test_ci_run_can_be_run():
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert (ROOT / ".ci" / "run").read_text().startswith("#!")


@pytest.mark.parametrize("app", ["trustcenter", "cases", "consent", "registers", "retention"])
def test_the_apps_of_the_design_are_installed(app):
    assert apps.is_installed(app)
    assert Path(apps.get_app_config(app).path) == ROOT / app


def test_it_runs_on_django_5_2_lts():
    assert django.VERSION[:2] == (5, 2)
    [wanted] = [
        Requirement(spec) for spec in PYPROJECT["project"]["dependencies"] if spec.startswith("Django")
    ]
    assert wanted.specifier.contains(django.__version__)
    assert not wanted.specifier.contains("5.1.9") and not wanted.specifier.contains("5.3")
    assert not wanted.specifier.contains("6.0")


def test_it_runs_on_python_3_11():
    requires = Requirement(f"python{PYPROJECT['project']['requires-python']}").specifier
    assert requires.contains("3.11.0") and requires.contains(f"3.11.{sys.version_info.micro}")
    assert sys.version_info[:2] == (3, 11)


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_the_lock_pins_every_dependency_to_a_version_pyproject_allows(lock, extras):
    pins = pinned(lock)
    wanted = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        wanted += PYPROJECT["project"]["optional-dependencies"][extra]
    for requirement in map(Requirement, wanted):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} does not pin {requirement.name}"
        assert requirement.specifier.contains(pins[name]), f"{lock} pins {name}=={pins[name]}"


def test_the_environment_runs_what_the_lock_pins():
    pins = pinned("requirements-dev.lock")
    assert pinned("requirements.lock").items() <= pins.items(), "the two locks pin different versions"
    assert Version(metadata.version("django")) == pins["django"] == Version(django.__version__)
    installed = {name: Version(metadata.version(name)) for name in pins}
    assert {name: version for name, version in installed.items() if version != pins[name]} == {}
