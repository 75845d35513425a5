"""The OpenAPI schema and its Swagger UI, served from this site within its CSP."""

import re

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.api.conftest import client_with_token, token_for
from tests.factories import CaseHandlerFactory

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = yaml.safe_load((tmp_path / "schema.yml").read_text())
    assert "/api/v1/cases/{case_id}/reply/" in schema["paths"]


def test_the_schema_and_the_docs_are_for_staff():
    assert APIClient().get("/api/v1/schema/").status_code == 403
    staff = client_with_token(token_for(CaseHandlerFactory(teams=["privacy"])))
    response = staff.get("/api/v1/schema/")
    assert response.status_code == 200 and b"openapi: 3" in response.content


def test_the_swagger_ui_loads_everything_from_this_site_and_runs_no_inline_script(client):
    client.force_login(CaseHandlerFactory(teams=["privacy"]))
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") and not source.startswith("//") for source in sources)
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    script = next(source for source in sources if "script" in source and "static" not in source)
    started = client.get(script.replace("&amp;", "&"))
    assert started.status_code == 200 and b"SwaggerUIBundle" in started.content
    assert started["Content-Type"].startswith(("application/javascript", "text/javascript"))
