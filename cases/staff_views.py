"""The staff workspace under /<lang>/staff/: thin views over cases.services and cases.selectors."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def queue(request):
    cases = selectors.visible_cases(user=request.user)[:50]
    return render(request, "cases/staff/queue.html", {"cases": cases})


@login_required
def case_detail(request, case_id: int):
    case = selectors.access_case(user=request.user, case_id=case_id)
    return render(request, "cases/staff/case.html", {"case": case})
