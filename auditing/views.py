"""The audit log page (owners and admins) and its streamed exports, on the workspace's host."""

from urllib.parse import urlencode

from django.shortcuts import render

from accounts.decorators import member_required
from accounts.permissions import can
from auditing import exports, selectors, services
from auditing.filters import DEFAULT_LIMIT, AuditFilterPageForm, AuditFilters


def _query(params, **changes) -> str:
    """The filters as a query string; a picked list goes as the API's comma-separated value."""
    data = {}
    for key in params:
        if key in ("cursor", "format"):
            continue
        value = ",".join(v for v in params.getlist(key) if v)
        if value:
            data[key] = value
    data.update({k: v for k, v in changes.items() if v})
    return urlencode(data)


@member_required("audit.view")
def audit_log(request):
    form = AuditFilterPageForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else AuditFilters()
    context = {"form": form, "events": [], "next_url": None, "error": None,
               "can_export": can(request.membership.role, "audit.export"), "query": _query(request.GET)}
    if form.is_bound and not form.is_valid():
        return render(request, "auditing/audit_log.html", context, status=400)
    try:
        page = selectors.audit_event_page(workspace=request.tenant, filters=filters, limit=DEFAULT_LIMIT,
                                          cursor=request.GET.get("cursor") or None)
    except ValueError as exc:
        context["error"] = str(exc)
        return render(request, "auditing/audit_log.html", context, status=400)
    context["events"] = page.events
    if page.next_cursor:
        context["next_url"] = "?" + _query(request.GET, cursor=page.next_cursor)
    if request.htmx and request.GET.get("cursor"):
        # "Older events" fetched in place (htmx): the next rows and the next pager, nothing else.
        return render(request, "auditing/_audit_rows.html", context)
    return render(request, "auditing/audit_log.html", context)


@member_required("audit.export")
def audit_export(request):
    fmt = request.GET.get("format", "csv")
    form = AuditFilterPageForm(request.GET)
    if fmt not in exports.FORMATS or not form.is_valid():
        context = {"form": form, "events": [], "next_url": None, "can_export": True, "query": _query(request.GET),
                   "error": None if fmt in exports.FORMATS else "Export as csv or jsonl."}
        return render(request, "auditing/audit_log.html", context, status=400)
    filters = form.filters()
    upto = services.audit_export_record(workspace=request.tenant, actor=request.user, fmt=fmt,
                                        filters=filters.as_details())
    rows = selectors.audit_event_rows(workspace=request.tenant, filters=filters, upto_id=upto)
    return exports.streaming_export(rows, fmt=fmt, name=f"audit-{request.tenant.slug}")
