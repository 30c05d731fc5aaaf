from django.contrib import admin, messages

from apikeys.models import ApiKey
from apikeys.services import apikey_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Operators see and revoke keys; they never see or make a secret (workspaces create their own keys)."""

    list_display = ("prefix", "name", "workspace", "environment", "status", "created_at", "last_used_at", "expires_at")
    list_filter = ("environment", "revoked_at")
    search_fields = ("key_id", "name", "workspace__slug")
    list_select_related = ("workspace",)
    fields = ("prefix", "name", "workspace", "environment", "scopes", "created_by", "created_at", "last_used_at",
              "expires_at", "revoked_at", "burst_limit", "burst_window", "allowed_ips", "rotated_to")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A key's secret is shown once, to whoever creates it: the dashboard, the API or
        # `manage.py create_api_key`, never the operator's admin.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = 0
        for key in queryset.select_related("workspace").filter(revoked_at__isnull=True):
            apikey_revoke(key=key, actor=("operator", request.user))
            count += 1
        self.message_user(request, f"Revoked {count} key(s). Every process refuses them within a second.",
                          messages.WARNING)
