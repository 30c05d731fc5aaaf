"""The operator console's view of custom domains (a tenants model, verified by branding's check)."""

from django.contrib import admin, messages

from branding.domains import custom_domain_verify
from tenants.models import Domain


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "verified_at", "last_checked_at", "check_failures", "last_check_error")
    search_fields = ("domain", "tenant__slug")
    readonly_fields = ("domain", "tenant", "is_primary", "verified_at", "verification_token", "last_checked_at",
                       "check_failures", "last_check_error")
    actions = ["check_dns"]

    def has_add_permission(self, request):
        return False  # a workspace adds its domains (its plan decides whether it may)

    @admin.action(description="Check the selected domains' DNS record now")
    def check_dns(self, request, queryset):
        for domain in queryset.select_related("tenant"):
            check = custom_domain_verify(domain=domain, actor=("operator", request.user))
            self.message_user(request, f"{domain.domain}: {'verified' if check.ok else check.error}",
                              messages.SUCCESS if check.ok else messages.WARNING)
