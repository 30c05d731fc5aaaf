"""Operators: the platform's usage in Django admin (requests over 24 h, top workspaces, error
rate, drain lag), read-only. Listed under Metering as "Platform usage"; its page is the
overview (metering.analytics.platform), not a list of rows."""

from datetime import timedelta

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from metering.analytics.platform import platform_usage
from metering.models import RequestTotalsHourly

WINDOW = timedelta(hours=24)


@admin.register(RequestTotalsHourly)
class PlatformUsageAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        usage = platform_usage(since=timezone.now() - WINDOW)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Platform usage, last 24 h",
                   "usage": usage, "drain": usage["drain"]}
        return TemplateResponse(request, "admin/metering/platform_usage.html", context)
