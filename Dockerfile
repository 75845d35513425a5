# syntax=docker/dockerfile:1
# The Trust Center image: web (gunicorn, the default command), Celery worker and beat all run it
# (docker-compose.yml). Configuration comes from the environment at run time (README).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=trustcenter.settings \
    TRUSTCENTER_DATA_DIR=/app/var \
    TRUSTCENTER_UPLOAD_DIR=/data/uploads \
    TRUSTCENTER_ERASURE_LOG=/data/erasure-log/erasure-log.jsonl

# gettext: msgfmt, for compilemessages below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The pinned dependencies first, so that a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .

# Translations and static files are built into the image, owned by root and read-only at run
# time. The settings refuse DJANGO_DEBUG=false without secrets, so this step gets throwaway
# ones, random for each build, that live only in this RUN and are never stored in the image.
RUN DJANGO_DEBUG=false \
    DJANGO_SECRET_KEY="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    TRUSTCENTER_SITE_URL=https://build.invalid \
    TRUSTCENTER_RECEIPT_SALT="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(24))')" \
    sh -c 'python manage.py compilemessages --ignore=.venv -v 0 && python manage.py collectstatic --noinput -v 0'

# A user without a login or any right to change the code; only the uploads folder is its own.
RUN groupadd --system --gid 10001 trustcenter \
    && useradd --system --uid 10001 --gid trustcenter --home-dir /home/trustcenter --create-home \
        --shell /usr/sbin/nologin trustcenter \
    && install -d -o trustcenter -g trustcenter -m 0700 /data/uploads /data/erasure-log
USER 10001:10001

EXPOSE 8000

# The site answers only its own host names, and sends plain HTTP to HTTPS: the check asks as
# the TLS proxy does, for the first allowed host, over HTTPS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; host = os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.').replace('*', '') or 'localhost'; r.urlopen(r.Request('http://127.0.0.1:8000/health/', headers={'Host': host, 'X-Forwarded-Proto': 'https'}), timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "trustcenter.wsgi"]
