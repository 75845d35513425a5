"""Fixtures that start real services for a test: SMTP, Redis, a Celery worker (see tests/README)."""
