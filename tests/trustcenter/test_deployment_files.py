"""docker-compose.yml, the Dockerfile and gunicorn.conf.py, checked by parsing: there is no Docker
engine here. They must describe the production deployment of DESIGN.md §3 and agree with the
settings module about every variable, path and port."""

import importlib.util
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from gunicorn.config import Config

from trustcenter.settings import FALSE_WORDS

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")
REQUIRED_IN_PRODUCTION = ("DJANGO_ALLOWED_HOSTS", "TRUSTCENTER_RECEIPT_SALT")
# Read by django-environ helpers and the settings module's own env_bool/env_int/env_secret.
SETTINGS_READ = re.compile(r"\benv(?:\.\w+|_bool|_int|_secret)\(\s*f?\"([A-Z][A-Z0-9_]*)\"")
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    # Continuation lines joined, so that each instruction is one line.
    return re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())


def instructions(dockerfile_text: str, keyword: str) -> list[str]:
    return [
        line.strip()[len(keyword) :].strip()
        for line in dockerfile_text.splitlines()
        if line.strip().upper().startswith(keyword + " ")
    ]


def load_gunicorn_conf(name: str = "gunicorn_conf_under_test"):
    spec = importlib.util.spec_from_file_location(name, ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def environment(service: dict) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {name: "" if value is None else str(value) for name, value in raw.items()}


def resolve(value: str, required: dict[str, str] | None = None) -> str:
    """Compose interpolation: ${X:-default} gives the default, ${X:?error} the value in `required`."""

    def substitute(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if operator and operator.endswith("-"):
            return argument
        return (required or {}).get(name, f"<{name}>")

    return INTERPOLATION.sub(substitute, value).replace("$$", "$")


def settings_variables() -> set[str]:
    source = (ROOT / "trustcenter" / "settings.py").read_text()
    names = set(SETTINGS_READ.findall(source))
    # env_secret("X") also reads X_FILE (container secrets).
    names |= {f"{name}_FILE" for name in re.findall(r"\benv_secret\(\s*\"([A-Z0-9_]+)\"", source)}
    return names


def gunicorn_variables() -> set[str]:
    source = (ROOT / "gunicorn.conf.py").read_text()
    return set(re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def command_words(service: dict) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(word) for word in command]


def port_of(bind: str) -> int:
    return int(bind.rsplit(":", 1)[1])


def test_it_names_every_production_service(compose):
    services = compose["services"]
    assert {"web", "worker", "beat", "db", "redis", "mailcatcher"} <= set(services)
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mailcatcher"]["image"].split(":")[0] == "axllent/mailpit"

    worker = command_words(services["worker"])
    assert worker[:4] == ["celery", "-A", "trustcenter", "worker"]
    beat = " ".join(command_words(services["beat"]))
    assert beat.startswith("celery -A trustcenter beat")
    assert "--scheduler django_celery_beat.schedulers:DatabaseScheduler" in beat
    # Exactly one beat, or schedules run twice.
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1

    # The schema is migrated by a one-shot service that the app services wait for.
    migrate = services["migrate"]
    assert "migrate" in command_words(migrate) and "manage.py" in command_words(migrate)
    assert str(migrate.get("restart", "no")) == "no"
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_web_worker_and_beat_run_the_image_built_from_the_dockerfile(compose, dockerfile):
    images = set()
    for name in (*APP_SERVICES, "migrate"):
        service = compose["services"][name]
        build = service["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile_name = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (ROOT / context).resolve() == ROOT, f"{name} is not built from this project"
        assert dockerfile_name == "Dockerfile"
        images.add(service["image"])
    assert len(images) == 1, f"web, worker, beat and migrate must share one image, not {images}"

    # web runs gunicorn with gunicorn.conf.py, as the image does by default.
    cmd = json.loads(instructions(dockerfile, "CMD")[-1])
    expected = ["gunicorn", "-c", "gunicorn.conf.py", "trustcenter.wsgi"]
    assert cmd == expected
    assert command_words(compose["services"]["web"]) in ([], expected)


def test_every_variable_the_compose_file_sets_is_one_the_settings_read(compose):
    read_by_settings = settings_variables()
    # The pattern must really find what the settings read, or this test would pass on nothing.
    assert {
        "DJANGO_DEBUG",
        "DJANGO_SECRET_KEY",
        "DJANGO_SECRET_KEY_FILE",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "CACHE_URL",
        "EMAIL_URL",
        "CELERY_BROKER_URL",
        "TRUSTCENTER_RECEIPT_SALT",
        "TRUSTCENTER_UPLOAD_DIR",
    } <= read_by_settings
    read_by_gunicorn = gunicorn_variables()
    assert {"WEB_CONCURRENCY", "GUNICORN_BIND", "FORWARDED_ALLOW_IPS"} <= read_by_gunicorn

    for name in (*APP_SERVICES, "migrate"):
        known = read_by_settings | (read_by_gunicorn if name == "web" else set())
        unknown = set(environment(compose["services"][name])) - known
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


def test_web_worker_and_beat_get_what_production_requires(compose):
    for name in (*APP_SERVICES, "migrate"):
        env = environment(compose["services"][name])
        assert env.get("DJANGO_DEBUG", "").lower() in FALSE_WORDS, name
        secret_names = {"DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE"} & set(env)
        assert secret_names, f"{name} has no DJANGO_SECRET_KEY or DJANGO_SECRET_KEY_FILE"
        for variable in (*secret_names, *REQUIRED_IN_PRODUCTION):
            value = env.get(variable, "")
            assert value, f"{name} does not set {variable}"
        # Secrets come from the operator's environment, required, never written in the file.
        for variable in ("DJANGO_SECRET_KEY", "TRUSTCENTER_RECEIPT_SALT"):
            if variable in env:
                assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]*\}}", env[variable]), (name, variable)
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]


def test_the_compose_environment_starts_the_settings_in_production_mode(compose):
    """Each app service's environment, with the operator's required values filled in, loads the
    settings with DJANGO_DEBUG=false and points at the compose file's own services."""
    operator = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "trust.example.com",
        "TRUSTCENTER_RECEIPT_SALT": secrets.token_urlsafe(24),
        "TRUSTCENTER_SITE_URL": "https://trust.example.com",
        "POSTGRES_PASSWORD": "compose-password",
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRUSTCENTER_", "CELERY_"))}
    for key in ("DATABASE_URL", "CACHE_URL", "EMAIL_URL"):
        base.pop(key, None)
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "db = s.DATABASES['default']; print(json.dumps({'debug': s.DEBUG, 'engine': db['ENGINE'], "
        "'db_host': db['HOST'], 'db_name': db['NAME'], 'db_user': db['USER'], 'broker': s.CELERY_BROKER_URL, "
        "'cache': s.CACHES['default']['BACKEND'], 'cache_location': s.CACHES['default']['LOCATION'], "
        "'email': [s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT], 'media': str(s.MEDIA_ROOT), "
        "'ssl_redirect': s.SECURE_SSL_REDIRECT}))"
    )
    seen = {}
    for name in (*APP_SERVICES, "migrate"):
        env = {key: resolve(value, operator) for key, value in environment(compose["services"][name]).items()}
        key = tuple(sorted(env.items()))
        if key not in seen:
            result = subprocess.run(
                [sys.executable, "-c", probe],
                cwd=ROOT,
                env={**base, **env, "DJANGO_SETTINGS_MODULE": "trustcenter.settings"},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
            seen[key] = json.loads(result.stdout.strip().splitlines()[-1])
        loaded = seen[key]
        assert loaded["debug"] is False
        assert loaded["ssl_redirect"] is True
        assert loaded["engine"] == "django.db.backends.postgresql"
        db = compose["services"]["db"]["environment"]
        assert loaded["db_host"] == "db"
        assert (loaded["db_name"], loaded["db_user"]) == (db["POSTGRES_DB"], db["POSTGRES_USER"])
        assert urlsplit(loaded["broker"])[:2] == ("redis", "redis:6379")
        assert "redis" in loaded["cache"].lower()
        cache_location = loaded["cache_location"]
        cache_location = cache_location[0] if isinstance(cache_location, list) else cache_location
        assert urlsplit(cache_location).netloc == "redis:6379"
        assert urlsplit(cache_location).path != urlsplit(loaded["broker"]).path, "cache and broker share a db"
        assert loaded["email"] == ["django.core.mail.backends.smtp.EmailBackend", "mailcatcher", 1025]
        assert loaded["media"] == environment(compose["services"][name])["TRUSTCENTER_UPLOAD_DIR"]


def test_healthchecks_watch_web_db_redis_and_worker(compose):
    services = compose["services"]
    tests = {}
    for name in ("web", "db", "redis", "worker"):
        check = services[name].get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        test = check["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1
        tests[name] = " ".join(test[1:])
    assert "/health/" in tests["web"] and "urllib" in tests["web"]
    assert tests["db"].startswith("pg_isready")
    assert tests["redis"] == "redis-cli ping"
    assert "celery -A trustcenter inspect ping" in tests["worker"]

    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        for needed in ("db", "redis"):
            assert depends[needed]["condition"] == "service_healthy", (name, needed)


def test_uploads_live_on_a_named_volume_at_the_upload_dir(compose, dockerfile):
    volumes = compose["volumes"]
    for name in ("web", "worker"):
        service = compose["services"][name]
        upload_dir = environment(service)["TRUSTCENTER_UPLOAD_DIR"]
        mounts = dict(mount.split(":")[:2] for mount in service["volumes"])
        mounted = {target: source for source, target in mounts.items()}
        assert upload_dir in mounted, f"{name} does not mount a volume at {upload_dir}"
        assert mounted[upload_dir] in volumes, "uploads must be a named volume, not a host folder"
    # The image creates the same folder for its user, so a fresh volume is writable.
    image_env = " ".join(instructions(dockerfile, "ENV"))
    assert f"TRUSTCENTER_UPLOAD_DIR={upload_dir}" in image_env
    assert re.search(rf"install -d -o \S+ -g \S+ -m 0700 {re.escape(upload_dir)}", dockerfile)

    db_mounts = dict(reversed(mount.split(":")[:2]) for mount in compose["services"]["db"]["volumes"])
    assert db_mounts["/var/lib/postgresql/data"] in volumes


def test_one_port_from_gunicorn_to_the_image_to_the_web_service(compose, dockerfile, monkeypatch):
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    bind = load_gunicorn_conf().bind
    assert bind.startswith("0.0.0.0:"), "in a container gunicorn must listen on all interfaces"
    port = port_of(bind)
    assert [int(word) for word in instructions(dockerfile, "EXPOSE")] == [port]
    web = compose["services"]["web"]
    published = [str(mapping).rsplit(":", 1)[-1] for mapping in web["ports"]]
    assert published == [str(port)]
    # The web service is for the proxy on this host only.
    assert all(str(mapping).startswith("127.0.0.1:") for mapping in web["ports"])
    assert f"127.0.0.1:{port}/health/" in " ".join(web["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/health/" in " ".join(instructions(dockerfile, "HEALTHCHECK"))


def test_the_dockerfile_builds_a_production_image(dockerfile):
    assert instructions(dockerfile, "FROM") == ["python:3.11-slim-bookworm"]
    runs = instructions(dockerfile, "RUN")
    assert any("apt-get install" in run and "gettext" in run for run in runs)
    assert any(re.search(r"pip install (.* )?-r requirements\.lock", run) for run in runs)
    assert any("manage.py compilemessages --ignore=.venv" in run for run in runs)
    assert any("manage.py collectstatic --noinput" in run for run in runs)
    assert any("COPY requirements.lock" in f"COPY {copy}" for copy in instructions(dockerfile, "COPY"))
    for copy in instructions(dockerfile, "COPY"):
        for source in copy.split()[:-1]:
            if not source.startswith("--"):
                assert (ROOT / source).exists(), f"COPY {source}: no such file"

    # Collected static files need the production storage, hence DJANGO_DEBUG=false at build time.
    build_step = next(run for run in runs if "collectstatic" in run)
    assert "DJANGO_DEBUG=false" in build_step and "DJANGO_SECRET_KEY=" in build_step
    assert "TRUSTCENTER_SITE_URL=" in build_step  # production settings refuse to start without it
    # The build-time secrets stay in that step: never an ENV or ARG of the image.
    for keyword in ("ENV", "ARG"):
        for instruction in instructions(dockerfile, keyword):
            assert "SECRET_KEY" not in instruction and "RECEIPT_SALT" not in instruction

    # Runs as a user that is not root, set after the last step that needs root.
    lines = [line.strip() for line in dockerfile.splitlines() if line.strip() and not line.startswith("#")]
    user_lines = [index for index, line in enumerate(lines) if line.startswith("USER ")]
    assert user_lines, "the image runs as root"
    user = lines[user_lines[-1]].split()[1].split(":")[0]
    assert user not in ("root", "0")
    assert user_lines[-1] > max(index for index, line in enumerate(lines) if line.startswith("RUN "))

    healthcheck = instructions(dockerfile, "HEALTHCHECK")
    assert len(healthcheck) == 1 and "urllib.request" in healthcheck[0] and "/health/" in healthcheck[0]
    python_code = json.loads(healthcheck[0].split("CMD", 1)[1])
    assert python_code[:2] == ["python", "-c"]
    compile(python_code[2], "<healthcheck>", "exec")


def dockerignore_pattern(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker reads it: `*` stays within a folder, `**` crosses them."""
    regex = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
        regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(regex)


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether a path is left out: it or a folder above it matches, and the last match decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        compiled = dockerignore_pattern(pattern.lstrip("!"))
        if any(compiled.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def test_dockerignore_keeps_local_state_and_secrets_out_and_the_site_in():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for kept_out in (
        ".git/HEAD",
        ".venv/bin/python",
        "var/db.sqlite3",
        ".env",
        "cases/__pycache__/x.pyc",
        "locale/nb/LC_MESSAGES/django.mo",
    ):
        assert dockerignore_excludes(patterns, kept_out), kept_out
    needed = [
        "manage.py",
        "gunicorn.conf.py",
        "requirements.lock",
        "trustcenter/settings.py",
        "trustcenter/wsgi.py",
        "cases/views.py",
        "templates/base.html",
        "static/css/site.css",
        "locale",
    ]
    for path in needed:
        assert (ROOT / path).exists(), path
        assert not dockerignore_excludes(patterns, path), f".dockerignore leaves {path} out of the image"


def test_gunicorn_access_log_names_no_client(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = load_gunicorn_conf()
    atoms = re.findall(r"%\(([^)]*)\)s", conf.access_log_format)
    assert {"m", "U", "s"} <= set(atoms), "the access log must still say what was asked and answered"
    # h address, a user agent, f referrer, u user, r and q carry the query string, {...}i request
    # headers, {...}e the WSGI environment (REMOTE_ADDR, HTTP_USER_AGENT).
    forbidden = [atom for atom in atoms if atom in {"h", "a", "f", "u", "r", "q"} or atom.startswith("{")]
    assert not forbidden, f"access_log_format names the client: {forbidden}"
    assert set(atoms) <= {"t", "m", "U", "H", "s", "B", "b", "M", "D", "T", "L", "p"}
    assert conf.accesslog == "-"

    assert getattr(conf, "proxy_protocol", "off") == "off"
    assert "*" not in conf.forwarded_allow_ips
    assert 1 <= conf.workers <= 12


def test_gunicorn_reads_its_bind_and_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    conf = load_gunicorn_conf()
    assert (conf.bind, conf.workers) == ("127.0.0.1:9123", 3)
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(ValueError, match="WEB_CONCURRENCY"):
        load_gunicorn_conf()


def test_gunicorn_error_log_drops_the_address_of_a_bad_request(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = load_gunicorn_conf()
    config = Config()
    config.set("logger_class", conf.logger_class)
    logger = config.logger_class(config)
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.error_log.addHandler(handler)
    try:
        logger.warning("Invalid request from ip=203.0.113.77: Invalid HTTP request line: 'BOGUS'")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("Error handling request %s %s", "GET", "/en/report/?email=a@example.com")
    finally:
        logger.error_log.removeHandler(handler)
    assert records == [
        "Invalid request: Invalid HTTP request line: 'BOGUS'",
        "Error handling request GET /en/report/",
    ]
