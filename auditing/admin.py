"""Operators read platform events (the public schema) in Django admin. Nobody edits them."""

from django.contrib import admin

from auditing.models import AuditChainAnchor, AuditEvent


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnly):
    list_display = ("occurred_at", "action", "severity", "actor_label", "actor_type", "resource_type", "resource_id",
                    "outcome", "ip", "request_id")
    list_filter = ("severity", "actor_type", "action", "outcome")
    search_fields = ("actor_label", "action", "resource_id", "request_id")
    date_hierarchy = "occurred_at"
    ordering = ("-id",)
    show_full_result_count = False  # a COUNT(*) over millions of rows on every page is not worth it
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


@admin.register(AuditChainAnchor)
class AuditChainAnchorAdmin(_ReadOnly):
    list_display = ("created_at", "cutoff", "last_event_id", "purged")
    readonly_fields = [f.name for f in AuditChainAnchor._meta.fields]
