"""The settings module, loaded in fresh processes with controlled environments: the embedded
default with nothing set, strict refusals in production, and a clean `check --deploy`."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Everything the settings could read from the environment, so that "nothing set" means that.
OUR_PREFIXES = ("DJANGO_", "TRUSTCENTER_", "CELERY_", "EMAIL_")
OUR_NAMES = ("DATABASE_URL", "CACHE_URL")

DESCRIBE_SETTINGS = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcenter.settings")
import django
django.setup()
from django.conf import settings
from trustcenter.celery import app
database = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": database["ENGINE"],
    "name": str(database["NAME"]),
    "options": database.get("OPTIONS", {}),
    "broker": settings.CELERY_BROKER_URL,
    "celery_broker": app.conf.broker_url,
    "celery_transport_options": app.conf.broker_transport_options,
    "email_backend": settings.EMAIL_BACKEND,
    "cache": settings.CACHES["default"]["BACKEND"],
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "secret_key_length": len(settings.SECRET_KEY),
    "secret_key_fallbacks": settings.SECRET_KEY_FALLBACKS,
    "media_root": str(settings.MEDIA_ROOT),
    "site_url": settings.TRUSTCENTER_SITE_URL,
}))
"""


def clean_environment(**values: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(OUR_PREFIXES) and name not in OUR_NAMES
    }
    environment.update(values)
    return environment


def production_values(tmp_path: Path, **overrides: str) -> dict[str, str]:
    values = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "trust.example.com",
        "TRUSTCENTER_RECEIPT_SALT": secrets.token_urlsafe(24),
        "TRUSTCENTER_SITE_URL": "https://trust.example.com",
        "TRUSTCENTER_DATA_DIR": str(tmp_path / "data"),
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def run(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def describe(environment: dict[str, str]) -> dict:
    result = run(["-c", DESCRIBE_SETTINGS], environment)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_nothing_set_it_is_the_embedded_default():
    loaded = describe(clean_environment())
    assert loaded["debug"] is True
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"] == str(ROOT / "var" / "db.sqlite3")
    # Web, worker and beat share the file: WAL and IMMEDIATE transactions with a busy timeout.
    assert loaded["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in loaded["options"]["init_command"]
    assert loaded["options"]["timeout"] >= 5
    assert loaded["broker"] == loaded["celery_broker"] == "filesystem://localhost//"
    assert loaded["celery_transport_options"]["data_folder_in"] == str(ROOT / "var" / "broker")
    assert loaded["email_backend"] == "django.core.mail.backends.console.EmailBackend"
    assert loaded["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert "127.0.0.1" in loaded["allowed_hosts"]
    assert loaded["site_url"] == "http://127.0.0.1:8000"


def test_production_values_select_postgresql_redis_and_smtp(tmp_path):
    loaded = describe(
        clean_environment(
            **production_values(tmp_path),
            DATABASE_URL="postgres://trust:secret@db.internal:5432/trustcenter",
            CELERY_BROKER_URL="redis://redis.internal:6379/0",
            CACHE_URL="redis://redis.internal:6379/1",
            EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587",
            TRUSTCENTER_UPLOAD_DIR=str(tmp_path / "uploads"),
        )
    )
    assert loaded["debug"] is False
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["broker"] == loaded["celery_broker"] == "redis://redis.internal:6379/0"
    assert "redis" in loaded["cache"].lower()
    assert loaded["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert loaded["allowed_hosts"] == ["trust.example.com"]
    assert loaded["media_root"] == str(tmp_path / "uploads")
    assert loaded["site_url"] == "https://trust.example.com"


def test_production_refuses_to_start_without_the_site_url(tmp_path):
    """Without it, the links in e-mails would point at 127.0.0.1, which no reporter can reach."""
    for unset in (None, "", "  "):
        result = run(
            ["-c", DESCRIBE_SETTINGS],
            clean_environment(**production_values(tmp_path, TRUSTCENTER_SITE_URL=unset)),
        )
        assert result.returncode != 0, unset
        refusal = result.stderr.strip().splitlines()[-1]
        assert "ImproperlyConfigured" in refusal
        assert "TRUSTCENTER_SITE_URL" in refusal and "DJANGO_DEBUG=false" in refusal


def test_the_site_url_must_be_a_web_address_and_loses_its_trailing_slash(tmp_path):
    result = run(
        ["-c", DESCRIBE_SETTINGS],
        clean_environment(**production_values(tmp_path, TRUSTCENTER_SITE_URL="trust.example.com")),
    )
    assert result.returncode != 0
    assert "TRUSTCENTER_SITE_URL must start with https://" in result.stderr.strip().splitlines()[-1]
    loaded = describe(
        clean_environment(**production_values(tmp_path, TRUSTCENTER_SITE_URL="https://trust.example.com/"))
    )
    assert loaded["site_url"] == "https://trust.example.com"


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "TRUSTCENTER_RECEIPT_SALT"])
def test_production_refuses_to_start_without_a_required_variable(tmp_path, missing):
    result = run(
        ["-c", DESCRIBE_SETTINGS], clean_environment(**production_values(tmp_path, **{missing: None}))
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    refusal = result.stderr.strip().splitlines()[-1]
    assert missing in refusal
    others = {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "TRUSTCENTER_RECEIPT_SALT"} - {missing}
    assert not any(name in refusal for name in others), refusal


def test_production_refuses_a_short_secret_key(tmp_path):
    result = run(
        ["-c", DESCRIBE_SETTINGS],
        clean_environment(**production_values(tmp_path, DJANGO_SECRET_KEY="too-short-to-be-a-secret")),
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50 characters" in result.stderr


def test_production_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key = secrets.token_urlsafe(64)
    key_file.write_text(key + "\n")
    loaded = describe(
        clean_environment(
            **production_values(tmp_path, DJANGO_SECRET_KEY=None), DJANGO_SECRET_KEY_FILE=str(key_file)
        )
    )
    assert loaded["debug"] is False
    assert loaded["secret_key_length"] == len(key)


def test_old_secret_keys_are_read_for_rotation(tmp_path):
    old, older = secrets.token_urlsafe(64), secrets.token_urlsafe(64)
    loaded = describe(
        clean_environment(**production_values(tmp_path, DJANGO_SECRET_KEY_FALLBACKS=f"{old}, {older}"))
    )
    assert loaded["secret_key_fallbacks"] == [old, older]
    assert describe(clean_environment())["secret_key_fallbacks"] == []


def test_a_debug_value_that_is_not_yes_or_no_is_refused():
    result = run(["-c", DESCRIBE_SETTINGS], clean_environment(DJANGO_DEBUG="maybe"))
    assert result.returncode != 0
    refusal = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in refusal
    assert "DJANGO_DEBUG" in refusal and "'maybe'" in refusal


def test_check_deploy_has_nothing_to_warn_about_in_production(tmp_path):
    result = run(["manage.py", "check", "--deploy"], clean_environment(**production_values(tmp_path)))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output
    assert "?:" not in output
    assert "no issues" in output


def test_check_deploy_does_warn_when_https_is_switched_off(tmp_path):
    """The same check sees a real problem, so the clean result above means something."""
    result = run(
        ["manage.py", "check", "--deploy"],
        clean_environment(**production_values(tmp_path, DJANGO_SECURE_SSL_REDIRECT="false")),
    )
    output = result.stdout + result.stderr
    assert "WARNING" in output
    assert "security.W008" in output
