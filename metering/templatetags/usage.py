"""`{% load usage %}{% requests_chart %}`: the last 24 hours' requests chart, for any page of a
workspace (the overview shows it first). The overview's view lives in accounts, below metering,
so it can't fetch the numbers itself: the tag does, for members whose role may see usage, and
renders nothing for anyone else."""

from django import template

from accounts.permissions import can
from metering.reports import usage

register = template.Library()


@register.inclusion_tag("metering/_requests_chart.html", takes_context=True)
def requests_chart(context, link: bool = True) -> dict:
    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    if tenant is None or tenant.is_public or not membership or not can(membership.role, "usage.view"):
        return {"hidden": True}
    return {"chart": usage.requests_chart(workspace=tenant), "link": link}
