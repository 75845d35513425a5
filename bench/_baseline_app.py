"""The intake benchmark's baseline: a bare Django view that inserts one row and computes the same
receipt hash as a Trust message (cases.selectors.receipt_hash). No form, no template, no CSRF check.

Its table is made by bench/intake.py in the benchmark's own database (BASELINE_TABLE_SQL).
The real site's URLs follow, so one gunicorn serves both endpoints with one configuration.
"""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cases import receipts
from cases.selectors import receipt_hash as hash_code
from trustcenter.urls import handler400, handler403, handler404, handler500  # noqa: F401
from trustcenter.urls import urlpatterns as site_urlpatterns


@csrf_exempt
@require_POST
def baseline(request):
    code = receipts.new_receipt_code()
    code_hash = hash_code(code)
    with connection.cursor() as cursor:  # one statement, autocommit
        cursor.execute(
            "INSERT INTO bench_baseline_receipt (receipt_hash, created_at) VALUES (%s, %s) RETURNING id",
            [code_hash, timezone.now()],
        )
        (row_id,) = cursor.fetchone()
    return HttpResponse(f"{row_id} {receipts.group_code(code)}\n", content_type="text/plain")


urlpatterns = [*site_urlpatterns, path("baseline/", baseline, name="bench_baseline")]
