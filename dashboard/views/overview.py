"""The workspace host's "/": what a member sees first after logging in."""


from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.decorators import member_required
from accounts.permissions import can
from dashboard import overview as data


def _url_or(name: str, fallback: str, urlconf) -> str:
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:
        return fallback


@member_required()
def overview(request):
    workspace, role = request.tenant, request.membership.role
    now = timezone.now()
    gauges = data.quota_gauges(workspace=workspace)
    urlconf = getattr(request, "urlconf", None)
    plans_href = _url_or("billing", "/settings/", urlconf)
    steps = data.getting_started(workspace=workspace, user=request.user, gauges=gauges, plans_href=plans_href)
    context = {
        "gauges": gauges,
        "subscription": data.subscription(workspace=workspace),
        "month_reset": data.next_month_start(now),
        "traffic": data.traffic(workspace=workspace, now=now) if can(role, "usage.view") else None,
        "plans_href": plans_href,
        "steps": steps,
        "steps_left": sum(1 for s in steps if not s.done),
        "curl": data.first_call_example(workspace=workspace),
        "events": data.recent_events(workspace=workspace) if can(role, "audit.view") else None,
        "can_manage_keys": can(role, "keys.manage"),
        "can_invite": can(role, "members.invite"),
        "can_billing": can(role, "billing.view"),
    }
    return render(request, "dashboard/overview.html", context)
