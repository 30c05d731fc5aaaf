"""Dashboard pages of metering on the workspace host: the usage page and its CSV export.

Thin: the range comes from the GET form (metering/reports/ranges.py), the numbers from the
usage report (metering/reports/usage.py), which composes the analytics selectors. `key_usage`
is what the API keys page shows per key (calls in 24 h, last use): apikeys sits below
metering, so its view doesn't import this; config/urls.py hands it this function.
"""

from collections.abc import Iterable
from typing import Any

from django.shortcuts import render

from accounts.decorators import member_required
from metering.reports import usage
from metering.reports.ranges import UsageRangeForm
from tenants.models import Workspace
from tenants.selectors import workspace_url


def _form(request) -> UsageRangeForm:
    return UsageRangeForm(request.GET or {"range": "24h"})


@member_required("usage.view")
def usage_page(request):
    form = _form(request)
    context: dict[str, Any] = {"form": form, "report": None,
                               "api_url": workspace_url(request.tenant, "/api/v1/analyze")}
    if not form.is_valid():
        return render(request, "metering/usage.html", context, status=400)
    report = usage.usage_report(workspace=request.tenant, usage_range=form.usage_range(),
                                user_id=request.user.pk)
    context.update(report=report, query=report.query)
    return render(request, "metering/usage.html", context)


@member_required("usage.view")
def usage_export(request):
    """What the page shows for the same range, as CSV (charts' series, then top keys)."""
    form = _form(request)
    if not form.is_valid():
        context = {"form": form, "report": None, "api_url": workspace_url(request.tenant, "/api/v1/analyze")}
        return render(request, "metering/usage.html", context, status=400)
    report = usage.usage_report(workspace=request.tenant, usage_range=form.usage_range(), user_id=request.user.pk,
                                with_gauges=False)
    return usage.csv_response(report, name=f"usage-{request.tenant.slug}")


def key_usage(*, workspace: Workspace, key_ids: Iterable[str]) -> dict[str, dict]:
    """{key id: {"calls": n, "last_used": datetime | None}} for the API keys page."""
    return usage.key_usage(workspace=workspace, key_ids=list(key_ids))
